"""On-the-fly augmentation: the ways a photo of the same sock differs from one shot to the next.

All on OpenCV/NumPy, uint8 BGR in and out, so the result goes through exactly the
normalisation of ``socksort.preprocess`` that validation and the camera use:

- a small rotation (a sock is never held perfectly upright),
- an aspect *stretch* (a hand-held sock is pulled longer or squashed shorter),
- a random resized crop (the sock at another distance and position),
- a horizontal flip,
- colour jitter: brightness, contrast, saturation and a little hue (other light).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Augment:
    rotate_degrees: float = 15.0
    stretch: tuple[float, float] = (0.8, 1.25)      # height / width factor
    crop_area: tuple[float, float] = (0.5, 1.0)     # fraction of the image kept
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    flip: bool = True
    brightness: float = 0.25
    contrast: float = 0.25
    saturation: float = 0.25
    hue_degrees: float = 6.0


def rotate(image: np.ndarray, degrees: float) -> np.ndarray:
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def stretch(image: np.ndarray, factor: float) -> np.ndarray:
    """Scale height by sqrt(factor) and width by 1/sqrt(factor): same area, other aspect."""
    height, width = image.shape[:2]
    root = math.sqrt(factor)
    size = (max(1, round(width / root)), max(1, round(height * root)))
    return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)


def random_crop_box(height: int, width: int, rng: np.random.Generator, aug: Augment) -> tuple[int, int, int, int]:
    """(top, left, h, w) of a crop covering a random area fraction at a random aspect."""
    area = height * width
    for _ in range(10):
        target = area * rng.uniform(*aug.crop_area)
        ratio = math.exp(rng.uniform(math.log(aug.crop_ratio[0]), math.log(aug.crop_ratio[1])))
        w = round(math.sqrt(target * ratio))
        h = round(math.sqrt(target / ratio))
        if 0 < w <= width and 0 < h <= height:
            return int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1)), h, w
    side = min(height, width)
    return (height - side) // 2, (width - side) // 2, side, side


def jitter_colour(image: np.ndarray, rng: np.random.Generator, aug: Augment) -> np.ndarray:
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-aug.hue_degrees, aug.hue_degrees) / 2) % 180  # OpenCV hue is 0-179
    hsv[..., 1] *= 1 + rng.uniform(-aug.saturation, aug.saturation)
    out = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2BGR).astype(np.float32)
    out *= 1 + rng.uniform(-aug.brightness, aug.brightness)
    mean = out.mean()
    out = (out - mean) * (1 + rng.uniform(-aug.contrast, aug.contrast)) + mean
    return np.clip(out, 0, 255).astype(np.uint8)


def augment(image: np.ndarray, size: int, rng: np.random.Generator, aug: Augment = Augment()) -> np.ndarray:
    """One random variant of ``image`` (uint8 BGR), ``size`` x ``size``."""
    if aug.rotate_degrees:
        image = rotate(image, rng.uniform(-aug.rotate_degrees, aug.rotate_degrees))
    if aug.stretch != (1.0, 1.0):
        image = stretch(image, math.exp(rng.uniform(math.log(aug.stretch[0]), math.log(aug.stretch[1]))))
    top, left, h, w = random_crop_box(*image.shape[:2], rng, aug)
    image = cv2.resize(image[top:top + h, left:left + w], (size, size), interpolation=cv2.INTER_AREA)
    if aug.flip and rng.random() < 0.5:
        image = image[:, ::-1]
    return jitter_colour(np.ascontiguousarray(image), rng, aug)
