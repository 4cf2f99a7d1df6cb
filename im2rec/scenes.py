"""``socksort synth scene``: photos of several socks lying together, with the truth of
their boxes, for testing what finds socks in a frame.

    OUT/scene-00000.jpg ...   0-3 socks each (--min-socks/--max-socks)
    OUT/truth.json            what each photo shows

The socks are the designs of a ``synth dataset`` (its ``synth.json``), drawn with the same
sprites on the same kinds of background, lighting and camera as its photos and its
``Blank`` class, so a model trained on that dataset knows them. Each sock lies wholly in
the frame at any angle, possibly mirrored, with the longer side of its box 25-70 % of the
frame's shorter side; socks may overlap, but none is hidden by more than ``--max-overlap``
of its area and no two share more than that share of the smaller one's area. A sock that
finds no such place in a few dozen tries is left out (rare, with the default sizes).

``truth.json``::

    {"format": "socksort-scenes/1", "dataset": "<--classes-from as given>", "seed": 0,
     "scenes": [{"path": "scene-00000.jpg", "width": 640, "height": 480,
                 "objects": [{"label": "navy-stripes",
                              "box": {"left": 12, "top": 40, "width": 200, "height": 180},
                              "visible": 0.93}, ...]}, ...]}

``path`` is relative to the folder of truth.json. ``objects`` lists the socks in drawing
order, the bottom one first; ``label`` is the design's name (its class in the dataset);
``box`` is the tight box, in pixels of the photo, of the sock's visible pixels (its
sprite's alpha above one half, not under a later sock; shadows are not part of it);
``visible`` is the share of the sock's pixels that are visible. Two socks of one design
may lie in the same photo. Scene ``i`` draws its randomness from ``(seed, i)`` only, so
the same seed gives byte-identical files; the folder appears complete or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from socksort import atomic
from socksort.errors import UserError
from socksort.im2rec import render, scene
from socksort.im2rec.dataset import load_manifest, manifest_designs
from socksort.im2rec.designs import Design
from socksort.im2rec.ordered import ordered_map
from socksort.progress import Bar

FORMAT = "socksort-scenes/1"
TRUTH = "truth.json"
SCENE_STREAM = 5  # apart from the dataset's and the show's random streams
MOST_SOCKS = 8    # more do not fit a frame within the overlap limit at these sizes


@dataclass(frozen=True)
class SceneSpec:
    out: Path
    classes_from: str   # as given: truth.json names the dataset this way
    count: int = 100
    seed: int = 0
    min_socks: int = 0
    max_socks: int = 3
    max_overlap: float = 0.3
    width: int = 640
    height: int = 480
    threads: int = 2  # photos drawn at once; each has its own random stream, so output is the same

    def validate(self) -> None:
        if not 0 <= self.min_socks <= self.max_socks:
            raise UserError(f"--min-socks {self.min_socks} is more than --max-socks {self.max_socks}")
        if self.max_socks > MOST_SOCKS:
            raise UserError(f"--max-socks {self.max_socks}: at most {MOST_SOCKS} socks fit one frame")
        if not 0 <= self.max_overlap < 1:
            raise UserError(f"--max-overlap {self.max_overlap:g}: choose a share from 0 up to (not "
                            "including) 1")


def draw(designs: list[Design], spec: SceneSpec, number: int) -> tuple[bytes, list[scene.SceneObject]]:
    """Scene ``number``: its JPEG and the truth of its socks."""
    rng = np.random.default_rng([spec.seed, SCENE_STREAM, number])
    count = int(rng.integers(spec.min_socks, spec.max_socks + 1))
    chosen = [designs[int(k)] for k in rng.integers(len(designs), size=count)]
    placed = scene.layout(rng, chosen, spec.width, spec.height, spec.max_overlap)
    picture = render.background(rng, spec.width, spec.height)
    for p in placed:
        render.composite(picture, render.sprite(p.design), p.matrix, shadow=float(rng.uniform(0.15, 0.45)))
    camera = render.Camera.random(rng)
    data = render.encode_jpeg(render.develop(picture, camera, rng), camera.quality)
    return data, scene.objects(placed, spec.width, spec.height)


def scene_name(number: int) -> str:
    return f"scene-{number:05d}.jpg"


def generate(spec: SceneSpec) -> dict:
    """Write the photos and truth.json into ``spec.out``; returns the truth."""
    spec.validate()
    designs = manifest_designs(load_manifest(Path(spec.classes_from)))
    out = spec.out
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"--out {out}: already exists and is not empty; pick a new folder or remove it")
    scenes = []
    with atomic.replace_folder(out) as staging, Bar(spec.count, "synth scene") as bar:
        work = ordered_map(lambda n: draw(designs, spec, n), range(spec.count), spec.threads)
        for number, (data, found) in work:
            (staging / scene_name(number)).write_bytes(data)
            scenes.append({"path": scene_name(number), "width": spec.width, "height": spec.height,
                           "objects": [o.to_dict() for o in found]})
            bar.update()
        truth = {"format": FORMAT, "dataset": spec.classes_from, "seed": spec.seed, "scenes": scenes}
        atomic.write_json(staging / TRUTH, truth)
    return truth
