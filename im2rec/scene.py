"""Several socks in one picture: where each lies, what of it is seen, and its box.

Socks are stacked in drawing order, the first at the bottom. A sock's pixels are where its
sprite's alpha, warped into the frame, exceeds one half; its *visible* pixels are those
inside the frame and not under a sock drawn later. Its box is the tight box of its visible
pixels, and ``visible`` the share of its pixels that are visible. ``synth scene`` lays
socks out with :func:`layout` and ``synth show`` holds two up together; both state their
truth with :func:`objects`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from socksort.im2rec import render
from socksort.im2rec.designs import Design
from socksort.schema import Box

MIN_SIDE, MAX_SIDE = 0.25, 0.70  # a lying sock's longer side, as a share of the frame's shorter side
TRIES = 60                       # random places tried for a sock before it is left out


@dataclass(frozen=True)
class Placed:
    """A design drawn with this 2x3 sprite-to-frame matrix."""

    design: Design
    matrix: np.ndarray


@dataclass(frozen=True)
class SceneObject:
    """What the truth says of one sock: its design, the box of what is seen of it, and how
    much of it is seen (0-1)."""

    label: str
    box: Box
    visible: float

    def to_dict(self) -> dict:
        return {"label": self.label, "box": self.box.to_dict(), "visible": self.visible}


# --- masks ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _Mask:
    """A sock's pixels in the frame: a boolean array whose corner is at (x, y), which may
    lie outside the frame (nothing is clipped here)."""

    x: int
    y: int
    pixels: np.ndarray

    @property
    def area(self) -> int:
        return int(self.pixels.sum())


def _mask(placed: Placed) -> _Mask:
    spr = render.sprite(placed.design)
    corners = spr.hull @ placed.matrix[:, :2].T + placed.matrix[:, 2]
    x0, y0 = np.floor(corners.min(axis=0)).astype(int) - 1
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 2
    local = placed.matrix.copy()
    local[:, 2] -= (x0, y0)
    alpha = cv2.warpAffine(spr.alpha, local, (int(x1 - x0), int(y1 - y0)), flags=cv2.INTER_LINEAR)
    return _Mask(int(x0), int(y0), alpha > 0.5)


def _overlap(a: _Mask, b: _Mask) -> tuple[tuple[slice, slice], tuple[slice, slice]] | None:
    """The slices of a and of b that cover the same frame pixels, or None if none do."""
    x0, y0 = max(a.x, b.x), max(a.y, b.y)
    x1 = min(a.x + a.pixels.shape[1], b.x + b.pixels.shape[1])
    y1 = min(a.y + a.pixels.shape[0], b.y + b.pixels.shape[0])
    if x1 <= x0 or y1 <= y0:
        return None
    return ((slice(y0 - a.y, y1 - a.y), slice(x0 - a.x, x1 - a.x)),
            (slice(y0 - b.y, y1 - b.y), slice(x0 - b.x, x1 - b.x)))


def _shared(a: _Mask, b: _Mask) -> int:
    """How many pixels two socks both cover."""
    where = _overlap(a, b)
    return 0 if where is None else int((a.pixels[where[0]] & b.pixels[where[1]]).sum())


def _hide(seen: np.ndarray, own: _Mask, above: _Mask) -> None:
    """Remove from ``seen`` (own's visible pixels) what ``above`` covers."""
    where = _overlap(own, above)
    if where is not None:
        seen[where[0]] &= ~above.pixels[where[1]]


def objects(placed: list[Placed], width: int, height: int) -> list[SceneObject]:
    """The truth of each placed sock that shows at least one pixel, in drawing order."""
    masks = [_mask(p) for p in placed]
    found = []
    for i, (p, m) in enumerate(zip(placed, masks)):
        seen = m.pixels.copy()
        for above in masks[i + 1:]:
            _hide(seen, m, above)
        # the frame cuts off what lies outside it
        seen[:, :max(0, -m.x)] = False
        seen[:max(0, -m.y), :] = False
        seen[:, max(0, width - m.x):] = False
        seen[max(0, height - m.y):, :] = False
        ys, xs = np.nonzero(seen)
        if not len(xs):
            continue
        box = Box(int(m.x + xs.min()), int(m.y + ys.min()),
                  int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))
        found.append(SceneObject(p.design.name, box, round(len(xs) / max(m.area, 1), 4)))
    return found


# --- placing socks -------------------------------------------------------------------

def sized(design: Design, angle: float, flip: bool, shear: float, side: float,
          centre: tuple[float, float]) -> np.ndarray:
    """The matrix that lays the sock at ``angle`` (degrees) with the longer side of its box
    ``side`` pixels and the box's middle at ``centre``."""
    spr = render.sprite(design)
    theta = math.radians(angle)
    cos, sin = math.cos(theta), math.sin(theta)
    linear = np.array([[cos, sin], [-sin, cos]]) @ np.array([[-1.0 if flip else 1.0, shear], [0.0, 1.0]])
    turned = (spr.hull - spr.centre) @ linear.T
    scale = side / float((turned.max(axis=0) - turned.min(axis=0)).max())
    middle = (turned.max(axis=0) + turned.min(axis=0)) / 2 * scale
    linear = linear * scale
    offset = np.asarray(centre) - middle - linear @ np.array(spr.centre)
    return np.hstack([linear, offset[:, None]]).astype(np.float32)


def extent(design: Design, matrix: np.ndarray) -> tuple[float, float, float, float]:
    """The placed sock's outline box (x0, y0, x1, y1), in frame pixels."""
    corners = render.sprite(design).hull @ matrix[:, :2].T + matrix[:, 2]
    (x0, y0), (x1, y1) = corners.min(axis=0), corners.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def _random_place(rng: np.random.Generator, design: Design, width: int, height: int) -> np.ndarray:
    """A sock lying anywhere wholly inside the frame, at any angle, of a random size."""
    angle = float(rng.uniform(-180, 180))
    flip = bool(rng.integers(2))
    shear = float(rng.uniform(-0.1, 0.1))
    side = float(rng.uniform(MIN_SIDE, MAX_SIDE)) * min(width, height)
    matrix = sized(design, angle, flip, shear, side, (0.0, 0.0))
    x0, y0, x1, y1 = extent(design, matrix)
    # the box's middle may go anywhere that keeps the whole box a pixel inside the frame
    half_w, half_h = (x1 - x0) / 2 + 1, (y1 - y0) / 2 + 1
    cx = float(rng.uniform(half_w, max(half_w, width - half_w)))
    cy = float(rng.uniform(half_h, max(half_h, height - half_h)))
    matrix[:, 2] += (cx, cy)
    return matrix


def acceptable(masks: list[_Mask], max_overlap: float) -> bool:
    """No sock is hidden by more than ``max_overlap`` of its area, and no two share more
    than ``max_overlap`` of the smaller one's area."""
    for i, low in enumerate(masks):
        if any(_shared(low, other) > max_overlap * min(low.area, other.area) for other in masks[i + 1:]):
            return False
        seen = low.pixels.copy()
        for above in masks[i + 1:]:
            _hide(seen, low, above)
        if seen.sum() < (1 - max_overlap) * low.area:
            return False
    return True


def fits(placed: list[Placed], max_overlap: float) -> bool:
    """Whether these placed socks keep to the overlap limit (see :func:`acceptable`)."""
    return acceptable([_mask(p) for p in placed], max_overlap)


def layout(rng: np.random.Generator, chosen: list[Design], width: int, height: int,
           max_overlap: float) -> list[Placed]:
    """The designs laid in the frame one on top of the other, bottom first, each within the
    overlap limit; a sock that finds no place in TRIES random ones is left out."""
    placed: list[Placed] = []
    masks: list[_Mask] = []
    for design in chosen:
        for _ in range(TRIES):
            candidate = Placed(design, _random_place(rng, design, width, height))
            mask = _mask(candidate)
            if acceptable([*masks, mask], max_overlap):
                placed.append(candidate)
                masks.append(mask)
                break
    return placed
