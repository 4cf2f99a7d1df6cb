"""Scenes with several socks and their true boxes, for the box tests and the box benchmark.

Each sock is the synthetic renderer's sprite of a design placed on one of its backgrounds
at its own size and angle, so its box is exact (the bounding box of the placed outline);
socks overlap by at most ``max_overlap`` of the smaller box. The truth is the format
``socksort synth scene`` writes (``socksort-scenes/1``).
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from socksort.im2rec import designs as catalogue
from socksort.im2rec import render

FORMAT = "socksort-scenes/1"


def _box(spr, matrix, width: int, height: int) -> dict:
    corners = spr.hull @ matrix[:, :2].T + matrix[:, 2]
    x0, y0 = np.clip(corners.min(axis=0), 0, (width, height))
    x1, y1 = np.clip(corners.max(axis=0), 0, (width, height))
    return {"left": int(round(x0)), "top": int(round(y0)),
            "width": int(round(x1 - x0)), "height": int(round(y1 - y0))}


def _overlap(a: dict, b: dict) -> float:
    w = min(a["left"] + a["width"], b["left"] + b["width"]) - max(a["left"], b["left"])
    h = min(a["top"] + a["height"], b["top"] + b["height"]) - max(a["top"], b["top"])
    inter = max(0, w) * max(0, h)
    return inter / max(1, min(a["width"] * a["height"], b["width"] * b["height"]))


def scene(designs: list, count: int, rng: np.random.Generator, width: int = 320, height: int = 240,
          max_overlap: float = 0.3) -> tuple[np.ndarray, list[dict]]:
    """One BGR uint8 scene with ``count`` socks of the given designs, and its objects."""
    frame = render.background(rng, width, height)
    objects: list[dict] = []
    for _ in range(200):
        if len(objects) == count:
            break
        design = designs[int(rng.integers(len(designs)))]
        spr = render.sprite(design)
        pose = render.Pose(angle=float(rng.uniform(-180, 180)), fill=float(rng.uniform(0.3, 0.55)),
                           dx=float(rng.uniform(-0.3, 0.3)), dy=float(rng.uniform(-0.28, 0.28)),
                           flip=bool(rng.integers(2)), shear=float(rng.uniform(-0.15, 0.15)))
        matrix = render.placement(spr, pose, width, height)
        box = _box(spr, matrix, width, height)
        if box["width"] < 8 or box["height"] < 8:
            continue
        if any(_overlap(box, other["box"]) > max_overlap for other in objects):
            continue
        render.composite(frame, spr, matrix, shadow=float(rng.uniform(0.15, 0.4)))
        objects.append({"label": design.name, "box": box})
    camera = render.Camera.random(rng)
    image = cv2.imdecode(np.frombuffer(render.encode_jpeg(render.develop(frame, camera, rng), camera.quality),
                                       np.uint8), cv2.IMREAD_COLOR)
    return image, objects


def dataset_designs(dataset: Path) -> list:
    """The designs of a ``socksort synth dataset`` folder, as its synth.json names them."""
    info = json.loads((Path(dataset) / "synth.json").read_text())
    return [catalogue.design(d["index"], info["designs_seed"]) for d in info["designs"]]


def write_scenes(out: Path, dataset: Path, scenes: int, seed: int, socks: tuple[int, int] = (1, 3),
                 width: int = 320, height: int = 240) -> Path:
    """``out/scene-NNNNN.jpg`` and ``out/truth.json`` with the designs of the synth dataset
    folder ``dataset``. Returns the truth file."""
    designs = dataset_designs(dataset)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    entries = []
    for i in range(scenes):
        image, objects = scene(designs, int(rng.integers(socks[0], socks[1] + 1)), rng, width, height)
        name = f"scene-{i:05d}.jpg"
        cv2.imwrite(str(out / name), image)
        entries.append({"path": name, "width": width, "height": height, "objects": objects})
    truth = out / "truth.json"
    truth.write_text(json.dumps({"format": FORMAT, "scenes": entries}, indent=1))
    return truth


def side_by_side(designs: list, width: int = 320, height: int = 240, seed: int = 0,
                 apart: float = 0.17) -> tuple[np.ndarray, list[dict]]:
    """Two socks, the first design left of centre and the second right of it, ``apart`` of the
    width from the middle each (0.17: nearly touching), upright, both inside the centred square
    a shorter_center_crop model sees."""
    rng = np.random.default_rng(seed)
    frame = render.background(rng, width, height, "wall")
    objects = []
    for design, dx in zip(designs[:2], (-apart, apart)):
        spr = render.sprite(design)
        matrix = render.placement(spr, render.Pose(angle=90.0, fill=0.42, dx=dx, dy=0.0, flip=False), width, height)
        render.composite(frame, spr, matrix, shadow=0.2)
        objects.append({"label": design.name, "box": _box(spr, matrix, width, height)})
    return np.clip(frame, 0, 255).astype(np.uint8), objects
