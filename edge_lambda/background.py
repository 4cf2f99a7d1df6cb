"""The empty scene, learned by looking at it: what ``socksort edge --match`` calls "no sock"
when the model has no ``Blank`` class, and where a sock's own pixels are for its colours.

A small copy of each frame (``SIDE`` pixels across) is compared with the background: the
per-pixel median of the first ``seconds`` of frames (a median, so a hand that comes in
early does not become wall), with each pixel's own noise measured over the same frames.
A pixel is foreground when it differs from the background by more than ``NOISE_SIGMAS``
times its noise and at least ``MIN_STEP`` grey levels; a frame shows a thing when at
least ``min_share`` of it is foreground. Frames that show nothing keep teaching the
background slowly (``ADAPT``), so a room that gets darker over an hour stays empty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# OpenCV is imported inside the functions that use it.

SIDE = 96              # pixels across the small copy the background is kept at
NOISE_SIGMAS = 4.0
MIN_STEP = 16.0        # grey levels: less is lighting flicker or compression, not a thing
ADAPT = 0.02           # share of each empty frame blended into the background
MAX_LEARNING_FRAMES = 90


@dataclass(frozen=True)
class BackgroundSettings:
    seconds: float = 1.0        # of empty scene at the start to learn from
    min_share: float = 0.02     # of the frame that must differ for a thing to be there

    def validate(self) -> "BackgroundSettings":
        if self.seconds <= 0:
            raise ValueError("the background needs a positive number of seconds to learn from")
        if not 0 < self.min_share < 1:
            raise ValueError("the background's min_share must be between 0 and 1")
        return self


class Background:
    """Feed it every frame with :meth:`observe`; it answers None while learning, then
    whether the frame shows something, and ``last_mask`` says where."""

    def __init__(self, settings: BackgroundSettings = BackgroundSettings()):
        self.settings = settings.validate()
        self._learning: list[np.ndarray] = []
        self._first_ts: int | None = None
        self.image: np.ndarray | None = None     # SIDE-wide float32 BGR, once learned
        self._noise: np.ndarray | None = None
        self.last_mask: np.ndarray | None = None  # the foreground of the frame :meth:`observe` saw last

    @property
    def learned(self) -> bool:
        return self.image is not None

    def observe(self, frame_bgr: np.ndarray, ts_ms: int) -> bool | None:
        small = shrink(frame_bgr)
        if self.image is None:
            self._learn(small, ts_ms)
            return None
        found = self.last_mask = self._foreground(small)
        something = bool(found.mean() >= self.settings.min_share)
        if not something:
            self.image += ADAPT * (small - self.image)
        return something

    def _learn(self, small: np.ndarray, ts_ms: int) -> None:
        self._first_ts = ts_ms if self._first_ts is None else self._first_ts
        self._learning.append(small)
        enough_time = ts_ms - self._first_ts >= self.settings.seconds * 1000
        if (enough_time and len(self._learning) >= 3) or len(self._learning) >= MAX_LEARNING_FRAMES:
            stack = np.stack(self._learning)
            self.image = np.median(stack, axis=0).astype(np.float32)
            # 1.4826 x the median absolute deviation estimates a Gaussian's sigma and ignores a few outliers.
            self._noise = 1.4826 * np.median(np.abs(stack - self.image), axis=0).max(axis=2)
            self._learning = []

    def _foreground(self, small: np.ndarray) -> np.ndarray:
        step = np.abs(small - self.image).max(axis=2)
        return step > np.maximum(NOISE_SIGMAS * self._noise, MIN_STEP)


def shrink(frame_bgr: np.ndarray) -> np.ndarray:
    import cv2

    height, width = frame_bgr.shape[:2]
    size = (SIDE, max(1, round(height * SIDE / width)))
    return cv2.resize(frame_bgr, size, interpolation=cv2.INTER_AREA).astype(np.float32)
