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
    top, left, side = center_square(*image_bgr.shape[:2], pre)
    # Cropping in source pixels first means only the part the network sees is resized:
    # on a 640x480 camera frame that is 0.3-0.7 ms less per frame than scaling the whole
    # frame and then dropping its sides.
    return cv2.resize(image_bgr[top:top + side, left:left + side], (size, size), interpolation=interp)


def center_square(height: int, width: int, pre: Preprocess) -> tuple[int, int, int]:
    """(top, left, side) of the source square that ``shorter_center_crop`` keeps.

    side = round(min(height, width) * input_size / resize_shorter), halves rounded up and
    computed in integers so every implementation gets the same pixel; the square is centred
    with any odd leftover pixel going to the bottom/right.
    """
    shorter = min(height, width)
    side = max(1, (2 * shorter * pre.input_size + pre.resize_shorter) // (2 * pre.resize_shorter))
    return (height - side) // 2, (width - side) // 2, side


def input_window(height: int, width: int, pre: Preprocess) -> tuple[int, int, int, int]:
    """(left, top, width, height) of the frame pixels the network input spans: the whole
    frame through ``squash``, the centred square through ``shorter_center_crop``."""
    if pre.resize == "squash":
        return 0, 0, width, height
    top, left, side = center_square(height, width, pre)
    return left, top, side, side


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
