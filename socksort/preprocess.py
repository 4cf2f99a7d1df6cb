"""The one implementation of a model card's preprocessing, on NumPy and OpenCV only.

Training's validation path, ``predict``/``evaluate`` and the edge function all call
:func:`prepare`, so a frame on the camera becomes exactly the tensor the model was
validated on.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from socksort.modelcard import Preprocess

_INTERPOLATION = {
    "linear": cv2.INTER_LINEAR,
    "area": cv2.INTER_AREA,
    "cubic": cv2.INTER_CUBIC,
    "nearest": cv2.INTER_NEAREST,
}


def resize(image_bgr: np.ndarray, pre: Preprocess) -> np.ndarray:
    """Resize (and crop) an HxWx3 uint8 BGR image to input_size x input_size, still uint8 BGR."""
    interp = _INTERPOLATION[pre.interpolation]
    size = pre.input_size
    if pre.resize == "squash":
        return cv2.resize(image_bgr, (size, size), interpolation=interp)
    height, width = image_bgr.shape[:2]
    scale = pre.resize_shorter / min(height, width)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    scaled = cv2.resize(image_bgr, (new_w, new_h), interpolation=interp)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return scaled[top:top + size, left:left + size]


def normalize(resized_bgr: np.ndarray, pre: Preprocess) -> np.ndarray:
    """uint8 HxWx3 BGR -> float32 3xHxW in the card's channel order and normalisation.

    ``(pixel / pixel_scale - mean) / std`` is applied as one multiply-add per channel
    plane: on the camera's hot path that is several times faster than broadcasting
    over an HxWx3 array and transposing it afterwards.
    """
    scale, offset = _affine(pre)
    planes = cv2.split(resized_bgr)
    if pre.channel_order == "RGB":
        planes = planes[::-1]
    return np.stack([plane.astype(np.float32) * s + o for plane, s, o in zip(planes, scale, offset)])


@functools.lru_cache(maxsize=16)
def _affine(pre: Preprocess) -> tuple[tuple[np.float32, ...], tuple[np.float32, ...]]:
    std = np.asarray(pre.std, dtype=np.float32)
    mean = np.asarray(pre.mean, dtype=np.float32)
    scale = np.float32(1.0) / (np.float32(pre.pixel_scale) * std)
    return tuple(scale), tuple(-mean / std)


def prepare(image_bgr: np.ndarray, pre: Preprocess) -> np.ndarray:
    """One decoded BGR image -> a 1x3xHxW float32 batch ready for the network."""
    if image_bgr is None or image_bgr.ndim != 3 or image_bgr.shape[2] != 3:
        raise ValueError("expected an HxWx3 colour image")
    return normalize(resize(image_bgr, pre), pre)[None]
