"""``socksort synth dataset``: photo folders of synthetic socks, one folder per class.

    DIR/<design name>/<design name>-0000.jpg ...   one folder per design
    DIR/Blank/blank-0000.jpg ...                    the empty background
    DIR/synth.json                                  seeds, designs, counts

Photo ``i`` of class ``k`` draws its randomness from ``(seed, k, i)`` only, so output is
byte-identical for the same seeds, and adding classes or photos leaves the others alone.
The folder appears complete or not at all: it is built under a temporary name and
renamed at the end.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from socksort import atomic
from socksort.contract import BLANK_LABEL
from socksort.errors import UserError
from socksort.im2rec import designs as design_catalogue
from socksort.im2rec import render
from socksort.im2rec.designs import Design
from socksort.im2rec.ordered import ordered_map
from socksort.progress import Bar

FORMAT = "socksort-synth/1"
# Bumped whenever designs or their drawing change, so a show is never made with socks
# that look different from the photos a model was trained on.
RENDERER = 2
MANIFEST = "synth.json"
BLANK_STREAM = 1_000_003  # the Blank class's random stream, apart from any design index


@dataclass(frozen=True)
class DatasetSpec:
    out: Path
    classes: int
    per_class: int
    seed: int
    designs_seed: int = design_catalogue.DEFAULT_DESIGNS_SEED
    width: int = 640
    height: int = 480
    threads: int = 2  # photos drawn at once; each has its own random stream, so output is the same


def random_pose(rng: np.random.Generator) -> render.Pose:
    """How a person lays a sock down for a photo: any angle, filling most of the frame."""
    return render.Pose(
        angle=float(rng.uniform(-180, 180)),
        fill=float(rng.uniform(0.72, 1.05)),
        dx=float(rng.uniform(-0.08, 0.08)),
        dy=float(rng.uniform(-0.08, 0.08)),
        flip=bool(rng.integers(2)),
        shear=float(rng.uniform(-0.15, 0.15)),
    )


def photo(design: Design | None, rng: np.random.Generator, width: int, height: int) -> bytes:
    """One JPEG: the design on a random background, or just the background for None."""
    scene = render.background(rng, width, height)
    if design is not None:
        spr = render.sprite(design)
        render.composite(scene, spr, render.placement(spr, random_pose(rng), width, height),
                         shadow=float(rng.uniform(0.15, 0.45)))
    camera = render.Camera.random(rng)
    return render.encode_jpeg(render.develop(scene, camera, rng), camera.quality)


def photo_rng(seed: int, stream: int, number: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream, number])


def manifest(spec: DatasetSpec, chosen: list[Design]) -> dict:
    return {
        "format": FORMAT,
        "renderer": RENDERER,
        "seed": spec.seed,
        "designs_seed": spec.designs_seed,
        "classes": spec.classes,
        "per_class": spec.per_class,
        "size": [spec.width, spec.height],
        "blank": BLANK_LABEL,
        "designs": [d.to_dict() for d in chosen],
        "counts": {**{d.name: spec.per_class for d in chosen}, BLANK_LABEL: spec.per_class},
    }


@dataclass(frozen=True)
class Outcome:
    manifest: dict
    reused: bool  # the folder already held exactly this dataset


def generate(spec: DatasetSpec, reuse: bool = False) -> Outcome:
    """Write the dataset folder.

    An existing non-empty folder is refused, unless ``reuse``: then a folder holding this
    very dataset (same seeds, counts, size and renderer) is kept as it is, and one holding
    another synth dataset is replaced. Anything else is never touched.
    """
    chosen = design_catalogue.designs(spec.classes, spec.designs_seed)
    wanted = json.loads(json.dumps(manifest(spec, chosen)))  # as it reads back from synth.json
    out = spec.out
    occupied = out.exists() and (not out.is_dir() or any(out.iterdir()))
    if occupied:
        if not reuse:
            raise UserError(f"--out {out}: already exists and is not empty; pick a new folder, remove it "
                            "or pass --reuse")
        if _existing_manifest(out) == wanted:
            return Outcome(wanted, reused=True)
    # Refusals are settled above: what is at ``out`` now may be replaced.
    with atomic.replace_folder(out) as staging:
        _draw(spec, chosen, wanted, staging)
    return Outcome(wanted, reused=False)


def _existing_manifest(out: Path) -> dict:
    """The manifest of a synth dataset folder we may replace; refuses anything else."""
    try:
        return load_manifest(out)
    except UserError:
        raise UserError(f"--out {out}: holds something other than a synth dataset; "
                        "not replacing it") from None


def _draw(spec: DatasetSpec, chosen: list[Design], info: dict, folder: Path) -> None:
    """Every photo and the manifest, into ``folder``."""
    classes: list[tuple[str, str, Design | None, int]] = [
        (d.name, d.name, d, d.index) for d in chosen]
    classes.append((BLANK_LABEL, "blank", None, BLANK_STREAM))
    for name, *_ in classes:
        (folder / name).mkdir()
    jobs = [(name, stem, design, stream, number)
            for name, stem, design, stream in classes for number in range(spec.per_class)]

    def draw(job) -> bytes:
        _, _, design, stream, number = job
        return photo(design, photo_rng(spec.seed, stream, number), spec.width, spec.height)

    with Bar(len(jobs), "synth dataset") as bar:
        for (name, stem, _, _, number), data in ordered_map(draw, jobs, spec.threads):
            (folder / name / f"{stem}-{number:04d}.jpg").write_bytes(data)
            bar.update(status=name)
    atomic.write_json(folder / MANIFEST, info)


def load_manifest(folder: Path) -> dict:
    """Read DIR/synth.json, naming what is wrong if it is missing or not ours."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise UserError(f"--classes-from {folder}: no {MANIFEST} there; make it with `socksort synth dataset`")
    try:
        info = json.loads(path.read_text())
    except ValueError as exc:
        raise UserError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise UserError(f"{path}: not a socksort synth manifest (format {FORMAT})")
    return info


def manifest_designs(info: dict) -> list[Design]:
    """The designs a manifest names, rebuilt from its seeds and checked against its names."""
    if info.get("renderer") != RENDERER:
        raise UserError("synth.json comes from a socksort that drew socks differently; "
                        "regenerate the dataset (and retrain) with `socksort synth dataset`")
    chosen = design_catalogue.designs(int(info["classes"]), int(info["designs_seed"]))
    named = [d.get("name") for d in info.get("designs", [])]
    if named != [d.name for d in chosen]:
        raise UserError("synth.json lists designs this version of socksort draws differently; "
                        "regenerate the dataset")
    return chosen
