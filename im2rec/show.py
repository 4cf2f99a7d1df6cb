"""``socksort synth show``: a video of someone showing socks to a camera, and its truth.

Each showing: the sock enters from a side, is held for 1-8 s (hand jitter, slight
sway), and leaves; 1-3 s of empty background separate showings. Designs come from a
dataset's ``synth.json`` and are drawn with the same sprites, so a model trained on
that dataset recognises them, and the empty frames look like its ``Blank`` photos.
Some designs are shown twice (a pair), some once, some three times.

``truth.json`` says what was shown when::

    {"format": "socksort-show/1", "video": "show.mp4", "fps": 30, "seconds": 60.0,
     "frames": 1800, "width": 640, "height": 480, "blank": "Blank",
     "showings": [{"n": 0, "design": "navy-stripes", "start": 1.9, "end": 7.4,
                   "start_frame": 57, "end_frame": 222, "held_start": 2.5, "held_end": 6.8,
                   "held_start_frame": 75, "held_end_frame": 204}, ...],
     "counts": {"navy-stripes": 2, ...},
     "timeline": [{"label": "Blank", "start_frame": 0, "end_frame": 57, "start": 0.0,
                   "end": 1.9}, {"label": "navy-stripes", "start_frame": 57, ...}, ...]}

Frame ranges are half-open: showing n is in view for ``start_frame <= f < end_frame``
and held still(ish) for ``held_start_frame <= f < held_end_frame``; ``start``/``end``
are the same instants in seconds (``frame / fps``). ``timeline`` covers every frame
once, in order, with the label in view (a design, or ``Blank``).
"""

from __future__ import annotations

import contextlib
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from socksort import atomic
from socksort.contract import BLANK_LABEL
from socksort.errors import UserError
from socksort.im2rec import render
from socksort.im2rec.dataset import load_manifest, manifest_designs
from socksort.im2rec.designs import Design
from socksort.im2rec.ordered import ordered_map
from socksort.progress import Bar

FORMAT = "socksort-show/1"
SHOW_COUNTS = (2, 1, 3)      # the first designs make a pair, a single and a triple
MIN_HOLD, MAX_HOLD = 1.0, 8.0
MIN_GAP, MAX_GAP = 1.0, 3.0
FOURCC = {".mp4": "mp4v", ".avi": "MJPG"}  # encoders opencv-python-headless ships with


@dataclass(frozen=True)
class Showing:
    n: int
    design: str
    start_frame: int
    held_start_frame: int
    held_end_frame: int
    end_frame: int


@dataclass(frozen=True)
class ShowSpec:
    out: Path
    truth: Path
    classes_from: Path
    seed: int
    fps: float = 30.0
    seconds: float = 60.0
    width: int = 640
    height: int = 480
    threads: int = 2  # frames drawn at once; the video does not depend on it


# --- what is shown when -----------------------------------------------------------------

def _slots(rng: np.random.Generator, fps: float, seconds: float) -> list[tuple[int, int, int, int]]:
    """Frame numbers (start, held start, held end, end) of every showing that fits."""
    slots = []
    t = rng.uniform(MIN_GAP, MAX_GAP)
    while True:
        enter, leave = rng.uniform(0.4, 0.8, 2)
        hold = rng.uniform(MIN_HOLD, MAX_HOLD)
        room = seconds - MIN_GAP - (t + enter + leave)  # the video ends on empty background
        if room < MIN_HOLD:
            return slots
        hold = min(hold, room)
        times = np.cumsum([t, enter, hold, leave])
        slots.append(tuple(int(round(x * fps)) for x in times))
        t = times[-1] + rng.uniform(MIN_GAP, MAX_GAP)


def _order(rng: np.random.Generator, names: list[str], slots: int) -> list[str]:
    """Which design fills each slot: pairs, singles and triples, not one twice in a row.

    No design takes more than half the slots (rounded up), which is what lets the
    most-remaining-first order below avoid back-to-back repeats; only a show of a
    single design has to repeat it straight after its gap.
    """
    cap = max(1, (slots + 1) // 2)
    remaining: dict[str, int] = {}
    for i, k in enumerate(rng.permutation(len(names))):
        left = slots - sum(remaining.values())
        if left <= 0:
            break
        count = SHOW_COUNTS[i] if i < len(SHOW_COUNTS) else int(rng.choice((1, 2, 2, 3)))
        remaining[names[k]] = min(count, left, cap)
    order: list[str] = []
    while sum(remaining.values()):
        choices = [n for n, c in remaining.items() if c and (not order or n != order[-1])]
        choices = choices or [order[-1]]  # a single design: show it again after the gap
        most = max(remaining[n] for n in choices)
        leaders = [n for n in choices if remaining[n] == most]
        pick = leaders[int(rng.integers(len(leaders)))]
        order.append(pick)
        remaining[pick] -= 1
    return order


def plan(names: list[str], seed: int, fps: float, seconds: float) -> list[Showing]:
    rng = np.random.default_rng([seed, 2])
    slots = _slots(rng, fps, seconds)
    if not slots:
        raise UserError(f"--seconds {seconds:g}: too short for one showing (need at least "
                        f"{2 * MIN_GAP + MIN_HOLD + 1.6:g} s)")
    order = _order(rng, names, len(slots))
    return [Showing(n, name, *slot) for n, (name, slot) in enumerate(zip(order, slots))]


# --- how it moves -----------------------------------------------------------------------

@dataclass(frozen=True)
class Motion:
    """One showing's path: where the hand brings the sock from, holds it, and takes it."""

    pose: render.Pose
    enter_from: tuple[float, float]  # unit direction the sock comes in from
    leave_to: tuple[float, float]
    wobble: tuple[float, ...]        # frequencies and phases of the hand's jitter

    @classmethod
    def random(cls, rng: np.random.Generator) -> "Motion":
        sides = ((-1.0, 0.0), (1.0, 0.0), (0.0, 1.0))
        pose = render.Pose(angle=float(rng.uniform(-25, 25)), fill=float(rng.uniform(0.8, 0.95)),
                           dx=float(rng.uniform(-0.06, 0.06)), dy=float(rng.uniform(-0.04, 0.04)),
                           flip=bool(rng.integers(2)), shear=float(rng.uniform(-0.08, 0.08)))
        return cls(pose, sides[int(rng.integers(3))], sides[int(rng.integers(3))],
                   tuple(float(v) for v in np.concatenate([rng.uniform(0.3, 1.6, 3),
                                                            rng.uniform(0, 2 * math.pi, 3)])))

    def pose_at(self, t: float) -> render.Pose:
        """The held pose plus hand jitter t seconds into the hold."""
        f, ph = self.wobble[:3], self.wobble[3:]
        return render.Pose(
            angle=self.pose.angle + 3.0 * math.sin(2 * math.pi * f[0] * t + ph[0]),
            fill=self.pose.fill * (1 + 0.02 * math.sin(2 * math.pi * f[1] * t + ph[1])),
            dx=self.pose.dx + 0.012 * math.sin(2 * math.pi * f[2] * t + ph[2]),
            dy=self.pose.dy + 0.012 * math.sin(2 * math.pi * f[1] * 1.3 * t + ph[0]),
            flip=self.pose.flip, shear=self.pose.shear)


def _offscreen_shift(spr: render.Sprite, matrix: np.ndarray, direction: tuple[float, float],
                     width: int, height: int) -> np.ndarray:
    """How far to move a placed sock along direction until it is just out of the frame."""
    corners = spr.hull @ matrix[:, :2].T + matrix[:, 2]
    dx, dy = direction
    if dx < 0:
        return np.array([-corners[:, 0].max() - 2, 0.0])
    if dx > 0:
        return np.array([width - corners[:, 0].min() + 2, 0.0])
    return np.array([0.0, height - corners[:, 1].min() + 2])


def _ease(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3 - 2 * x)


def frame_matrix(showing: Showing, motion: Motion, spr: render.Sprite, frame: int, fps: float,
                 width: int, height: int) -> np.ndarray | None:
    """Where the sock is in this frame, or None when it is out of view."""
    if not showing.start_frame <= frame < showing.end_frame:
        return None
    t = (min(max(frame, showing.held_start_frame), showing.held_end_frame) - showing.held_start_frame) / fps
    matrix = render.placement(spr, motion.pose_at(t), width, height)
    if frame < showing.held_start_frame:
        away = 1 - _ease((frame - showing.start_frame) / max(showing.held_start_frame - showing.start_frame, 1))
        matrix[:, 2] += away * _offscreen_shift(spr, matrix, motion.enter_from, width, height)
    elif frame >= showing.held_end_frame:
        away = _ease((frame - showing.held_end_frame + 1) / max(showing.end_frame - showing.held_end_frame, 1))
        matrix[:, 2] += away * _offscreen_shift(spr, matrix, motion.leave_to, width, height)
    return matrix


# --- rendering --------------------------------------------------------------------------

class Stage:
    """The room and camera of one show: a lit background and lit sprites, made once."""

    def __init__(self, rng: np.random.Generator, width: int, height: int):
        self.width, self.height = width, height
        self.camera = render.Camera.random(rng)
        scene = render.background(rng, width, height)
        self.light = render.lighting(self.camera, width, height)
        self.empty = render.develop(scene, self.camera, rng, self.light)
        size = render.SPRITE_SIZE
        self.noise = np.float32(self.camera.noise) * rng.standard_normal((size, size, 3), dtype=np.float32)
        self.gains = self.camera.gain * np.asarray(self.camera.white_balance, np.float32)
        self._lit: dict[str, np.ndarray] = {}

    def lit(self, design: Design) -> np.ndarray:
        """The design's sprite as this camera sees it, uint8 so warps and blends stay cheap."""
        if design.name not in self._lit:
            colour = render.sprite(design).colour * self.gains + self.noise
            self._lit[design.name] = np.clip(colour, 0, 255).astype(np.uint8)
        return self._lit[design.name]

    def frame(self, design: Design | None, matrix: np.ndarray | None) -> np.ndarray:
        image = self.empty.copy()
        if design is None or matrix is None:
            return image
        spr = render.sprite(design)
        box = render.footprint(spr, matrix, self.width, self.height)
        if box is None:
            return image
        x0, y0, x1, y1 = box
        local = matrix.copy()
        local[:, 2] -= (x0, y0)
        region = image[y0:y1, x0:x1]
        render.blend(region, spr, local, shadow=0.3, colour=self.lit(design))
        if self.camera.blur > 0:
            region[:] = cv2.GaussianBlur(region, (0, 0), self.camera.blur)
        return image


def _writer(path: Path, fps: float, width: int, height: int):
    fourcc = FOURCC.get(path.suffix.lower())
    if fourcc is None:
        raise UserError(f"--out {path}: use a .mp4 or .avi file name")
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    if not writer.isOpened():
        raise UserError(f"--out {path}: OpenCV cannot write {fourcc} video here")
    return writer


def check_video(path: Path, frames: int, fps: float) -> None:
    """Read the written video back: it must hold every frame at the promised rate."""
    capture = cv2.VideoCapture(str(path))
    try:
        counted = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        rate = capture.get(cv2.CAP_PROP_FPS)
    finally:
        capture.release()
    if counted != frames or abs(rate - fps) > 0.01:
        raise RuntimeError(f"{path} reads back as {counted} frames at {rate:g} FPS, "
                           f"expected {frames} at {fps:g}")


def truth(spec: ShowSpec, showings: list[Showing], info: dict) -> dict:
    fps = spec.fps
    counts: dict[str, int] = {}
    for s in showings:
        counts[s.design] = counts.get(s.design, 0) + 1
    return {
        "format": FORMAT,
        "video": spec.out.name,
        "fps": fps,
        "seconds": spec.seconds,
        "frames": frame_count(spec),
        "width": spec.width,
        "height": spec.height,
        "seed": spec.seed,
        "designs_seed": info["designs_seed"],
        "blank": BLANK_LABEL,
        "designs": [d["name"] for d in info["designs"]],
        "showings": [{
            **asdict(s),
            "start": round(s.start_frame / fps, 4),
            "end": round(s.end_frame / fps, 4),
            "held_start": round(s.held_start_frame / fps, 4),
            "held_end": round(s.held_end_frame / fps, 4),
        } for s in showings],
        "counts": counts,
        "timeline": timeline(showings, frame_count(spec), fps),
        "note": "frame ranges are half-open: in view for start_frame <= f < end_frame",
    }


def timeline(showings: list[Showing], frames: int, fps: float) -> list[dict]:
    """The whole video as consecutive segments, each labelled with what is in view:
    a design (entering, held or leaving) or Blank; a frame's true label at a glance."""
    segments, cursor = [], 0
    for s in showings:
        if s.start_frame > cursor:
            segments.append((BLANK_LABEL, cursor, s.start_frame))
        segments.append((s.design, s.start_frame, s.end_frame))
        cursor = s.end_frame
    if cursor < frames:
        segments.append((BLANK_LABEL, cursor, frames))
    return [{"label": label, "start_frame": a, "end_frame": b,
             "start": round(a / fps, 4), "end": round(b / fps, 4)} for label, a, b in segments]


def frame_count(spec: ShowSpec) -> int:
    return int(round(spec.seconds * spec.fps))


def make_show(spec: ShowSpec) -> dict:
    """Render the video and write truth.json; returns the truth."""
    info = load_manifest(spec.classes_from)
    chosen = {d.name: d for d in manifest_designs(info)}
    showings = plan(list(chosen), spec.seed, spec.fps, spec.seconds)
    rng = np.random.default_rng([spec.seed, 3])
    stage = Stage(rng, spec.width, spec.height)
    motions = [Motion.random(rng) for _ in showings]

    def picture(number: int) -> np.ndarray:
        for showing, motion in zip(showings, motions):
            if showing.start_frame <= number < showing.end_frame:
                design = chosen[showing.design]
                matrix = frame_matrix(showing, motion, render.sprite(design), number, spec.fps,
                                      spec.width, spec.height)
                return stage.frame(design, matrix)
        return stage.frame(None, None)

    frames = frame_count(spec)
    # frames are independent: draw them on a few threads (OpenCV releases the GIL), write in order
    pictures = (image for _, image in ordered_map(picture, range(frames), spec.threads))
    write_video(spec.out, pictures, frames, spec.fps, spec.width, spec.height)
    result = truth(spec, showings, info)
    atomic.write_json(spec.truth, result)
    return result


def write_video(out: Path, pictures, frames: int, fps: float, width: int, height: int) -> None:
    """Encode the pictures under a temporary name, check the file reads back, then rename it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.stem}.{os.getpid()}.part{out.suffix}")
    writer = _writer(partial, fps, width, height)
    try:
        with Bar(frames, "synth show") as bar:
            for image in pictures:
                writer.write(image)
                bar.update()
        writer.release()
        check_video(partial, frames, fps)
        os.replace(partial, out)
    except BaseException:
        writer.release()
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise
