"""Small teach datasets for tests: photo folders DIR/<label>/*.jpg that train in seconds.

Each class is a colour with a pattern of its own on a noisy background, so a frozen
ImageNet backbone tells them apart from a couple of photos each; every photo differs
(position, noise) so none is a duplicate of another.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

COLOURS = {"red": (40, 40, 220), "green": (40, 200, 40), "blue": (220, 60, 40)}


def photo(colour: tuple[int, int, int], seed: int, size: tuple[int, int] = (160, 120)) -> np.ndarray:
    """One BGR photo: a filled disc of ``colour`` at a random place on grey noise."""
    rng = np.random.default_rng(seed)
    width, height = size
    image = rng.integers(90, 140, (height, width, 3), dtype=np.uint8)
    centre = (int(rng.integers(width // 3, 2 * width // 3)), int(rng.integers(height // 3, 2 * height // 3)))
    cv2.circle(image, centre, int(min(size) * 0.35), colour, thickness=-1)
    return image


def jpeg(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return encoded.tobytes()


def write_photos(folder: Path, per_class: int = 3, colours: dict | None = None, seed: int = 0,
                 size: tuple[int, int] = (160, 120)) -> Path:
    """``folder/<label>/<label>-NN.jpg``, ``per_class`` photos of each colour; returns ``folder``."""
    for c, (label, colour) in enumerate((colours or COLOURS).items()):
        (folder / label).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            (folder / label / f"{label}-{i:02d}.jpg").write_bytes(jpeg(photo(colour, seed * 1000 + c * 100 + i, size)))
    return folder
