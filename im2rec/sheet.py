"""``socksort synth sheet``: one picture of every design in a dataset, with its name.

A person checks "which sock is navy-diamonds?" faster by looking than by reading the
manifest, so the sheet draws each design's sock upright on a plain card, in class order.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from socksort import atomic
from socksort.errors import UserError
from socksort.im2rec import render
from socksort.im2rec.dataset import load_manifest, manifest_designs

TILE = 200       # pixels per card side
CAPTION = 28     # pixels of caption under each card
COLUMNS = 4


def card(design, size: int = TILE) -> np.ndarray:
    """The design's sock on a light grey card, its name underneath."""
    canvas = np.full((size, size, 3), 236, np.float32)
    spr = render.sprite(design)
    pose = render.Pose(angle=0.0, fill=0.8, dx=0.0, dy=0.0, flip=False)
    render.composite(canvas, spr, render.placement(spr, pose, size, size), shadow=0.2)
    return _captioned(canvas.astype(np.uint8), design.name)


def _captioned(image: np.ndarray, text: str) -> np.ndarray:
    strip = np.full((CAPTION, image.shape[1], 3), 255, np.uint8)
    scale = 0.5
    (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.putText(strip, text, ((image.shape[1] - w) // 2, (CAPTION + h) // 2), cv2.FONT_HERSHEY_SIMPLEX,
                scale, (40, 40, 40), 1, cv2.LINE_AA)
    return np.vstack([image, strip])


def sheet(folder: Path) -> np.ndarray:
    info = load_manifest(folder)
    cards = [card(d) for d in manifest_designs(info)]
    rows = []
    for start in range(0, len(cards), COLUMNS):
        row = cards[start:start + COLUMNS]
        row += [np.full_like(cards[0], 255)] * (COLUMNS - len(row)) if len(cards) > COLUMNS else []
        rows.append(np.hstack(row))
    return np.vstack(rows)


def write_sheet(folder: Path, out: Path) -> int:
    """Draw the sheet for the dataset in folder into out (.png or .jpg); returns the design count."""
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise UserError(f"--out {out}: use a .png or .jpg file name")
    image = sheet(folder)
    ok, data = cv2.imencode(out.suffix.lower(), image)
    if not ok:
        raise RuntimeError(f"OpenCV could not encode {out.suffix}")
    atomic.write_bytes(out, data.tobytes())
    return len(load_manifest(folder)["designs"])
