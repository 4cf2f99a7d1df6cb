"""Drawing synthetic socks: a sprite per design, backgrounds, and a camera's look.

A sock is drawn once per design as a sprite (colour + alpha on a square canvas); photos
and video frames place that sprite with an affine warp into a region of interest only,
which keeps a 30 FPS show cheap to render. All randomness comes from the NumPy
Generator the caller passes, so the same seeds give the same pixels.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from socksort.im2rec.designs import Design

SPRITE_SIZE = 512
BACKGROUNDS = ("wood", "wall", "fabric")


@dataclass(frozen=True)
class Sprite:
    colour: np.ndarray   # SxSx3 float32 BGR, 0-255
    alpha: np.ndarray    # SxS float32, 0-1
    hull: np.ndarray     # Nx2 float32 outline points of the sock, sprite pixels
    centre: tuple[float, float]


@dataclass(frozen=True)
class Pose:
    """Where and how a sock lies in the frame."""

    angle: float         # degrees, counter-clockwise
    fill: float          # sock's extent as a fraction of the frame it could fill
    dx: float            # centre offset as a fraction of frame width
    dy: float            # ... and of frame height
    flip: bool           # a left sock instead of a right one
    shear: float = 0.0   # a little perspective-like skew


@dataclass(frozen=True)
class Camera:
    """What the camera and the room do to every pixel."""

    gain: float
    white_balance: tuple[float, float, float]   # BGR multipliers
    gradient: tuple[float, float]               # light falloff across x and y
    blur: float                                 # Gaussian sigma in pixels, 0 for none
    noise: float                                # sensor noise sigma, 0-255 scale
    quality: int                                # JPEG quality

    @classmethod
    def random(cls, rng: np.random.Generator) -> "Camera":
        return cls(
            gain=float(rng.uniform(0.6, 1.25)),
            white_balance=tuple(float(g) for g in rng.uniform(0.86, 1.14, 3)),
            gradient=(float(rng.uniform(-0.25, 0.25)), float(rng.uniform(-0.25, 0.25))),
            blur=float(rng.choice([0.0, rng.uniform(0.5, 2.0)])),
            noise=float(rng.uniform(1.0, 5.0)),
            quality=int(rng.integers(65, 96)),
        )


# --- the sock sprite ------------------------------------------------------------------

def _bgr(rgb: tuple[int, int, int]) -> np.ndarray:
    return np.array(rgb[::-1], dtype=np.float32)


def _sock_mask(size: int) -> np.ndarray:
    """An L-shaped sock: leg with cuff at the top, rounded heel, foot and toe to the right."""
    mask = np.zeros((size, size), np.uint8)
    px = lambda v: int(round(v * size))  # noqa: E731 - unit to pixel
    cv2.rectangle(mask, (px(0.24), px(0.03)), (px(0.50), px(0.60)), 255, -1)
    cv2.circle(mask, (px(0.37), px(0.62)), px(0.13), 255, -1)
    cv2.rectangle(mask, (px(0.37), px(0.49)), (px(0.80), px(0.75)), 255, -1)
    cv2.ellipse(mask, (px(0.80), px(0.62)), (px(0.14), px(0.13)), 0, -90, 90, 255, -1)
    return mask


def _pattern(design: Design, xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
    """Where the accent colour goes, as a boolean map over unit coordinates."""
    p, ph = design.period, design.phase
    frac = lambda v: v - np.floor(v)  # noqa: E731
    if design.pattern == "stripes":
        return frac(yy / p + ph) < 0.4
    if design.pattern == "dots":
        row = np.floor(yy / p)
        u = frac(xx / p + 0.5 * (row % 2) + ph) - 0.5
        v = frac(yy / p) - 0.5
        return u * u + v * v < 0.36 ** 2
    if design.pattern == "diamonds":
        q = p * 1.5
        return np.abs(frac(xx / q + ph) - 0.5) + np.abs(frac(yy / q) - 0.5) < 0.4
    if design.pattern == "chevrons":
        return frac((yy + np.abs(frac(xx / p) - 0.5) * p * 1.2) / p + ph) < 0.4
    if design.pattern == "emblem":
        return _emblem(xx, yy)
    raise ValueError(f"unknown pattern {design.pattern!r}")


def _emblem(xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
    """A logo-like badge: a disc with a five-pointed star cut out, on leg and foot."""
    marks = np.zeros(xx.shape, bool)
    for cx, cy, r in ((0.37, 0.30, 0.115), (0.62, 0.62, 0.09)):
        dx, dy = xx - cx, yy - cy
        dist = np.hypot(dx, dy)
        angle = np.arctan2(dy, dx) + math.pi / 2
        # star radius swings between inner and outer radius five times around the circle
        star = r * (0.42 + 0.3 * np.abs(np.cos(2.5 * angle)) ** 3)
        marks |= (dist < r) & ~(dist < star)
    return marks | ((yy > 0.135) & (yy < 0.165))


@functools.lru_cache(maxsize=64)
def sprite(design: Design, size: int = SPRITE_SIZE) -> Sprite:
    mask = _sock_mask(size)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    colour = np.empty((size, size, 3), np.float32)
    colour[:] = _bgr(design.base)
    colour[_pattern(design, xx, yy)] = _bgr(design.accent)
    cuff = yy < 0.11
    colour[cuff] = _bgr(design.base) * 0.8
    heel = np.hypot(xx - 0.31, yy - 0.70) < 0.125
    toe = xx > 0.83
    colour[heel | toe] = _bgr(design.heel)
    # knitted look: fine ribs (stronger on the cuff) and a little fibre noise
    rib = 1.0 + np.where(cuff, 0.12, 0.04) * np.sin(xx * size * 2 * math.pi / 5)
    fibre = np.random.default_rng([design.index, 7]).normal(1.0, 0.035, (size, size))
    # a round sock: darker towards its edges
    inside = cv2.distanceTransform(mask, cv2.DIST_L2, 5)
    shade = 0.7 + 0.3 * np.clip(inside / (0.06 * size), 0, 1)
    colour *= (rib * fibre * shade).astype(np.float32)[:, :, None]
    np.clip(colour, 0, 255, out=colour)
    alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255, (3, 3), 0)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    hull = cv2.convexHull(np.vstack(contours)).reshape(-1, 2).astype(np.float32)
    moments = cv2.moments(mask, binaryImage=True)
    centre = (moments["m10"] / moments["m00"], moments["m01"] / moments["m00"])
    return Sprite(colour, alpha, hull, centre)


# --- placing it -----------------------------------------------------------------------

def placement(spr: Sprite, pose: Pose, width: int, height: int) -> np.ndarray:
    """The 2x3 affine matrix that puts the sprite in a width x height frame at pose."""
    theta = math.radians(pose.angle)
    cos, sin = math.cos(theta), math.sin(theta)
    flip = -1.0 if pose.flip else 1.0
    linear = np.array([[cos, sin], [-sin, cos]]) @ np.array([[flip, pose.shear], [0.0, 1.0]])
    turned = (spr.hull - spr.centre) @ linear.T
    extent = turned.max(axis=0) - turned.min(axis=0)
    scale = pose.fill * min(width / extent[0], height / extent[1])
    middle = (turned.max(axis=0) + turned.min(axis=0)) / 2 * scale
    linear = linear * scale
    target = np.array([width * (0.5 + pose.dx), height * (0.5 + pose.dy)]) - middle
    offset = target - linear @ np.array(spr.centre)
    return np.hstack([linear, offset[:, None]]).astype(np.float32)


def footprint(spr: Sprite, matrix: np.ndarray, width: int, height: int,
              extra: int = 0) -> tuple[int, int, int, int] | None:
    """The frame region (x0, y0, x1, y1) the placed sock and its shadow can touch, or None;
    ``extra`` pixels more on every side (what a motion blur smears beyond the sock)."""
    corners = spr.hull @ matrix[:, :2].T + matrix[:, 2]
    margin = shadow_margin(matrix) + extra
    x0, y0 = np.floor(corners.min(axis=0)).astype(int) - margin
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 2 * margin
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    return None if x1 <= x0 or y1 <= y0 else (int(x0), int(y0), int(x1), int(y1))


def shadow_margin(matrix: np.ndarray) -> int:
    scale = math.sqrt(abs(float(np.linalg.det(matrix[:, :2]))))
    return int(0.05 * scale * SPRITE_SIZE) + 2


def motion_kernel(travel: tuple[float, float]) -> np.ndarray | None:
    """The blur of something that moved ``travel`` (x, y) pixels while the shutter was open:
    a line of that length and direction, summing to 1; None when it moved under a pixel."""
    dx, dy = travel
    length = math.hypot(dx, dy)
    if length < 1.0:
        return None
    half = int(math.ceil(length / 2)) + 1
    kernel = np.zeros((2 * half + 1, 2 * half + 1), np.float32)
    sub = 16  # cv2.line's shift=4: endpoints in 1/16 pixel, so short blurs keep their length
    ends = [(int(round((half + s * dx / 2) * sub)), int(round((half + s * dy / 2) * sub))) for s in (-1, 1)]
    cv2.line(kernel, ends[0], ends[1], 1.0, thickness=1, lineType=cv2.LINE_AA, shift=4)
    return kernel / kernel.sum()


def _warp(spr: Sprite, local: np.ndarray, roi: tuple[int, int], colour: np.ndarray | None,
          motion: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The sock's alpha and colour over the region, smeared by ``motion`` if given.

    A moving sock's colour and coverage are both averaged along its path, so the blur runs
    over premultiplied colour and alpha, on a canvas padded by the kernel's reach: the part
    of the sock just outside the region still smears into it.
    """
    source = spr.colour if colour is None else colour
    if motion is None:
        return (cv2.warpAffine(spr.alpha, local, roi, flags=cv2.INTER_LINEAR),
                cv2.warpAffine(source, local, roi, flags=cv2.INTER_LINEAR))
    pad = motion.shape[0] // 2
    shifted = local.copy()
    shifted[:, 2] += pad
    wide = (roi[0] + 2 * pad, roi[1] + 2 * pad)
    alpha = cv2.warpAffine(spr.alpha, shifted, wide, flags=cv2.INTER_LINEAR)
    premultiplied = cv2.warpAffine(source, shifted, wide, flags=cv2.INTER_LINEAR).astype(np.float32) * alpha[:, :, None]
    alpha = cv2.filter2D(alpha, -1, motion, borderType=cv2.BORDER_CONSTANT)
    premultiplied = cv2.filter2D(premultiplied, -1, motion, borderType=cv2.BORDER_CONSTANT)
    sock = premultiplied / np.maximum(alpha, 1e-4)[:, :, None]
    inner = (slice(pad, pad + roi[1]), slice(pad, pad + roi[0]))
    sock = np.clip(sock[inner], 0, 255).astype(source.dtype)
    return np.ascontiguousarray(alpha[inner]), sock


def blend(region: np.ndarray, spr: Sprite, local: np.ndarray, shadow: float = 0.35,
          colour: np.ndarray | None = None, motion: np.ndarray | None = None) -> None:
    """Draw the sprite into a BGR region (float32 or uint8) in place, with a soft shadow.

    ``local`` maps sprite pixels to region pixels; ``colour`` replaces the sprite's
    colours (same dtype as region), e.g. already lit for a whole show; ``motion`` is a
    :func:`motion_kernel` that blurs the moving sock and its shadow. The weighted sums
    run in OpenCV's blendLinear, several times faster than the NumPy expression.
    """
    roi = (region.shape[1], region.shape[0])
    alpha, sock = _warp(spr, local, roi, colour, motion)
    if shadow > 0:
        # the sock's own silhouette, moved down-right and softened, darkens what is under it
        step = int(shadow_margin(local) * 0.6)
        shade = np.zeros_like(alpha)
        shade[step:, step:] = alpha[:alpha.shape[0] - step, :alpha.shape[1] - step]
        k = 2 * step + 1
        shade = cv2.blur(shade, (k, k)) * np.float32(shadow)
        region[:] = cv2.blendLinear(region, np.zeros_like(region), 1.0 - shade, shade)
    region[:] = cv2.blendLinear(sock, region, alpha, 1.0 - alpha)


def composite(frame: np.ndarray, spr: Sprite, matrix: np.ndarray, shadow: float = 0.35) -> None:
    """Draw the sprite into a whole float32 BGR frame, touching only its footprint."""
    box = footprint(spr, matrix, frame.shape[1], frame.shape[0])
    if box is None:
        return
    x0, y0, x1, y1 = box
    local = matrix.copy()
    local[:, 2] -= (x0, y0)
    blend(frame[y0:y1, x0:x1], spr, local, shadow)


# --- backgrounds ----------------------------------------------------------------------

def background(rng: np.random.Generator, width: int, height: int, kind: str | None = None) -> np.ndarray:
    """A float32 BGR surface a sock might lie on or be held in front of."""
    kind = kind or BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    # a column and a row that broadcast: full-size arrays only where a pattern needs them
    yy = np.arange(height, dtype=np.float32)[:, None]
    xx = np.arange(width, dtype=np.float32)[None, :]
    scale = max(width, height) / 640
    if kind == "wood":
        base = np.array([rng.uniform(40, 90), rng.uniform(80, 140), rng.uniform(120, 200)], np.float32)
        plank = max(8, int(rng.uniform(90, 180) * scale))
        wobble = 6 * scale * np.sin(yy / (40 * scale) + rng.uniform(0, 6)) + (xx // plank) * 37
        grain = 0.85 + 0.15 * np.sin((xx + wobble) / (rng.uniform(2.5, 5) * scale)) ** 2
        seams = np.where(xx % plank < max(1, 2 * scale), 0.6, 1.0)
        light = grain * seams
    elif kind == "wall":
        base = rng.uniform(150, 235, 3).astype(np.float32)
        tilt = rng.uniform(-0.15, 0.15, 2)
        light = 1.0 + tilt[0] * (xx / width - 0.5) + tilt[1] * (yy / height - 0.5)
    elif kind == "fabric":
        base = rng.uniform(40, 220, 3).astype(np.float32)
        period = rng.uniform(3, 7) * scale
        weave = np.sin(xx * 2 * math.pi / period) * np.sin(yy * 2 * math.pi / period)
        folds = 0.1 * np.sin((xx * rng.uniform(-1, 1) + yy) / (60 * scale) + rng.uniform(0, 6))
        light = 1.0 + 0.08 * weave + folds
    else:
        raise ValueError(f"unknown background {kind!r}")
    surface = light[:, :, None] * base
    surface += 4 * rng.standard_normal((height, width, 1), dtype=np.float32)
    return surface.astype(np.float32)


# --- the camera -----------------------------------------------------------------------

def lighting(camera: Camera, width: int, height: int) -> np.ndarray:
    """Per-pixel light multiplier (HxWx3): gain, white balance and falloff across the frame."""
    ys = np.linspace(-0.5, 0.5, height, dtype=np.float32)[:, None]
    xs = np.linspace(-0.5, 0.5, width, dtype=np.float32)[None, :]
    falloff = 1.0 + camera.gradient[0] * xs + camera.gradient[1] * ys
    gains = camera.gain * np.asarray(camera.white_balance, np.float32)
    return (falloff[:, :, None] * gains).astype(np.float32)


def develop(frame: np.ndarray, camera: Camera, rng: np.random.Generator,
            light: np.ndarray | None = None) -> np.ndarray:
    """Float scene -> the uint8 BGR image the camera delivers."""
    height, width = frame.shape[:2]
    image = frame * (light if light is not None else lighting(camera, width, height))
    if camera.blur > 0:
        image = cv2.GaussianBlur(image, (0, 0), camera.blur)
    # float32 draws: half the time of float64 ones, and photos are 8-bit anyway
    image += np.float32(camera.noise) * rng.standard_normal(image.shape, dtype=np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


def encode_jpeg(image: np.ndarray, quality: int) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("OpenCV could not encode a JPEG")
    return data.tobytes()
