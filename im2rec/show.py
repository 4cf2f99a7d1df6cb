"""``socksort synth show``: a video of someone showing socks to a camera, and its truth.

Each showing: a hand slides the sock in from the left, right or bottom edge of the frame
(0.25-0.6 s), holds it for 1-8 s (hand jitter, slight sway) and takes it out again the
same way; 1-3 s of empty background separate showings. While the shutter is open
(``shutter`` seconds, 1/50 s by default) a moving sock travels, so it is drawn smeared
along its path: a directional motion blur proportional to its speed, strong while it
enters and leaves, nil while it is held. Designs come from a dataset's ``synth.json`` and
are drawn with the same sprites, so a model trained on that dataset recognises them, and
the empty frames look like its ``Blank`` photos. Some designs are shown twice (a pair),
some once, some three times; ``back_to_back`` times per show (1 by default, when the
designs allow it) a design is shown again right after itself with only
``back_to_back_gap`` seconds (1 s) of wall between, as when someone holds up the two
socks of a pair one after the other.

With ``max_socks`` 2 (``--max-socks 2``) about half the showings hold two socks up
together, side by side and moving as one (``together.py``): two socks of one design (a
pair at once) or two different designs. The plan, the room and the single showings are
drawn exactly as with 1, the default, which draws the very video it drew before two-sock
showings existed.

``truth.json`` says what was shown when::

    {"format": "socksort-show/1", "renderer": 2, "video": "show.mp4", "fps": 30,
     "seconds": 60.0, "frames": 1800, "width": 640, "height": 480, "blank": "Blank",
     "shutter": 0.02, "back_to_back_gap": 1.0, "max_socks": 1,
     "showings": [{"n": 0, "design": "navy-stripes", "designs": ["navy-stripes"],
                   "start_frame": 62, "end_frame": 218,
                   "held_start_frame": 66, "held_end_frame": 212, "enter_frame": 57,
                   "leave_frame": 223, "back_to_back": false, "start": 2.0667, ...}, ...],
     "counts": {"navy-stripes": 2, ...},
     "timeline": [{"label": "Blank", "labels": [], "start_frame": 0, "end_frame": 62,
                   "start": 0.0, "end": 2.0667},
                  {"label": "navy-stripes", "labels": ["navy-stripes"], "start_frame": 62, ...}, ...]}

Frame ranges are half-open. The rule for a showing: it spans the frames in which at least
half of the sock is inside the picture, ``start_frame <= f < end_frame`` (the sock is
mostly in view from ``start_frame`` on, and from ``end_frame`` on it has mostly left).
The hand's movement is there too: the sock starts to come in from just outside the
picture at ``enter_frame``, is held still(ish) for ``held_start_frame <= f <
held_end_frame``, and is outside the picture again by ``leave_frame``, so every frame
outside ``enter_frame <= f < leave_frame`` of every showing shows only the wall.
``back_to_back`` is true when the same design was shown just before, with only the
short gap between. ``start``/``end``/``held_start``/... are the same instants in
seconds (``frame / fps``). ``timeline`` covers every frame once, in order, with the label
a perfect classifier gives it under the same rule: the design while it is mostly in
view, ``Blank`` otherwise.

``designs`` lists the socks a showing holds up, one entry per sock: ``[d]`` for one,
``[d, d]`` for a pair held together, ``[d, e]`` for two designs. ``design`` is always
``designs[0]``, so readers of one-sock shows keep working (truth written before
``designs`` existed lacks it: read it as ``[design]``). ``counts`` counts socks: a pair
held together adds 2 to its design, two designs 1 each. For two socks the showing's rule
measures both together (at least half of their joined area in view); a two-sock
segment's ``label`` is ``designs[0]`` and its ``labels`` names both.

``boxes`` (``--boxes FILE``, optional, any ``max_socks``) writes one JSON line per frame::

    {"frame": 70, "t": 2.3333, "objects": [{"label": "navy-stripes",
     "box": {"left": 80, "top": 12, "width": 300, "height": 290}, "visible": 0.97}, ...]}

``objects`` follows ``synth scene``'s truth (``scene.py``): every sock with a visible pixel,
the one underneath first, its tight box in frame pixels and the share of it inside the
frame and not behind the other sock, where the sock is at the frame's instant (the
motion blur's smear is not part of the box). A sock sliding in or out has a small
``visible``; the showing's rule counts it from 0.5.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from socksort import atomic
from socksort.contract import BLANK_LABEL
from socksort.errors import UserError
from socksort.im2rec import render, scene, together
from socksort.im2rec.dataset import load_manifest, manifest_designs
from socksort.im2rec.designs import Design
from socksort.im2rec.ordered import ordered_map
from socksort.im2rec.together import Held
from socksort.progress import Bar

FORMAT = "socksort-show/1"
RENDERER = 2                 # bumped whenever the same seed would draw different pixels
SHOW_COUNTS = (2, 1, 3)      # the first designs make a pair, a single and a triple
MIN_HOLD, MAX_HOLD = 1.0, 8.0
MIN_GAP, MAX_GAP = 1.0, 3.0
MIN_MOVE, MAX_MOVE = 0.25, 0.6   # seconds to slide the sock in, or out
BACK_TO_BACK = 1             # per show, a design shown again right after itself ...
BACK_TO_BACK_GAP = MIN_GAP   # ... with this much wall between (seconds)
SHUTTER = 0.02               # exposure of a frame (seconds): how long a moving sock smears
VIEW_SHARE = 0.5             # a showing lasts while at least this share of the sock is in view
FOURCC = {".mp4": "mp4v", ".avi": "MJPG"}  # encoders opencv-python-headless ships with


@dataclass(frozen=True)
class Slot:
    """When the hand moves in one showing: the sock comes in from just outside the picture
    from ``enter_frame``, is held for ``held_start_frame <= f < held_end_frame`` and is
    outside again by ``leave_frame``."""

    n: int
    design: str
    enter_frame: int
    held_start_frame: int
    held_end_frame: int
    leave_frame: int
    back_to_back: bool = False   # the same design was shown just before, with the short gap
    partner: str | None = None   # a second sock held up together with the first (--max-socks 2)

    @property
    def designs(self) -> tuple[str, ...]:
        return (self.design,) if self.partner is None else (self.design, self.partner)


@dataclass(frozen=True)
class Showing:
    """One showing as truth.json states it: the frames in which the sock is mostly in view
    (``start_frame <= f < end_frame``), and the hand's movement around them."""

    n: int
    design: str
    designs: tuple[str, ...]
    start_frame: int
    held_start_frame: int
    held_end_frame: int
    end_frame: int
    enter_frame: int
    leave_frame: int
    back_to_back: bool


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
    back_to_back: int = BACK_TO_BACK
    back_to_back_gap: float = BACK_TO_BACK_GAP
    shutter: float = SHUTTER
    max_socks: int = 1            # 2: some showings hold two socks up together
    boxes: Path | None = None     # where to write each frame's socks and their boxes (JSON lines)


# --- what is shown when -----------------------------------------------------------------

@dataclass(frozen=True)
class _Timing:
    """One showing's durations in seconds: the wall before it, sliding in, holding, sliding out."""

    gap: float
    enter: float
    hold: float
    leave: float


def _timings(rng: np.random.Generator, seconds: float) -> list[_Timing]:
    """The durations of every showing that fits, with ordinary gaps between them."""
    timings: list[_Timing] = []
    t = gap = rng.uniform(MIN_GAP, MAX_GAP)
    while True:
        enter, leave = rng.uniform(MIN_MOVE, MAX_MOVE, 2)
        hold = rng.uniform(MIN_HOLD, MAX_HOLD)
        room = seconds - MIN_GAP - (t + enter + leave)  # the video ends on empty background
        if room < MIN_HOLD:
            return timings
        hold = min(hold, room)
        timings.append(_Timing(float(gap), float(enter), float(hold), float(leave)))
        gap = rng.uniform(MIN_GAP, MAX_GAP)
        t += enter + hold + leave + gap


def _slot_frames(timings: list[_Timing], fps: float) -> list[tuple[int, int, int, int]]:
    """Frame numbers (enter, held start, held end, leave) of each showing, in order."""
    frames, t = [], 0.0
    for timing in timings:
        times = np.cumsum([t + timing.gap, timing.enter, timing.hold, timing.leave])
        frames.append(tuple(int(round(x * fps)) for x in times))
        t = float(times[-1])
    return frames


def _arrangeable(remaining: dict[str, int]) -> bool:
    """Can these showings be put in an order with no design twice in a row?"""
    return max(remaining.values(), default=0) <= (sum(remaining.values()) + 1) // 2


def _order(rng: np.random.Generator, names: list[str], slots: int,
           back_to_back: int = 0) -> tuple[list[str], set[int]]:
    """Which design fills each slot: pairs, singles and triples, and which slots repeat the
    slot before on purpose (the back-to-back showings).

    No design takes more than half the slots (rounded up), which is what lets the
    most-remaining-first order below avoid unplanned back-to-back repeats; only a show of
    a single design has to repeat it straight after an ordinary gap. A back-to-back pair
    is ordered as one showing of its design and doubled in place afterwards, so the
    orders stays free of other repeats.
    """
    cap = max(1, (slots + 1) // 2)
    remaining: dict[str, int] = {}
    for i, k in enumerate(rng.permutation(len(names))):
        left = slots - sum(remaining.values())
        if left <= 0:
            break
        count = SHOW_COUNTS[i] if i < len(SHOW_COUNTS) else int(rng.choice((1, 2, 2, 3)))
        remaining[names[k]] = min(count, left, cap)
    doubled: list[str] = []
    for _ in range(back_to_back):
        fits = [n for n, c in remaining.items() if c >= 2 + doubled.count(n)
                and _arrangeable({**remaining, n: c - 1})]
        if not fits:
            break
        pick = fits[int(rng.integers(len(fits)))]
        doubled.append(pick)
        remaining[pick] -= 1
    order: list[str] = []
    while sum(remaining.values()):
        choices = [n for n, c in remaining.items() if c and (not order or n != order[-1])]
        choices = choices or [order[-1]]  # a single design: show it again after the gap
        pick = _most_remaining(rng, remaining, choices)
        order.append(pick)
        remaining[pick] -= 1
    repeats: set[int] = set()
    for name in doubled:
        places = [i for i, n in enumerate(order) if n == name and i not in repeats and i + 1 not in repeats]
        at = places[int(rng.integers(len(places)))]
        order.insert(at + 1, name)
        repeats = {r + 1 if r > at else r for r in repeats} | {at + 1}
    return order, repeats


def _most_remaining(rng: np.random.Generator, remaining: dict[str, int], choices: list[str]) -> str:
    most = max(remaining[n] for n in choices)
    leaders = [n for n in choices if remaining[n] == most]
    return leaders[int(rng.integers(len(leaders)))]


def plan(names: list[str], seed: int, fps: float, seconds: float, back_to_back: int = BACK_TO_BACK,
         back_to_back_gap: float = BACK_TO_BACK_GAP) -> list[Slot]:
    if not 0 < back_to_back_gap <= MIN_GAP:
        raise UserError(f"--back-to-back-gap {back_to_back_gap:g}: choose more than 0 and at most "
                        f"{MIN_GAP:g} s (longer gaps are ordinary ones)")
    rng = np.random.default_rng([seed, 2])
    timings = _timings(rng, seconds)
    if not timings:
        raise UserError(f"--seconds {seconds:g}: too short for one showing (need at least "
                        f"{2 * MIN_GAP + MIN_HOLD + 2 * MAX_MOVE:g} s)")
    order, repeats = _order(rng, names, len(timings), back_to_back)
    # a repeat follows its twin after the short gap; the show then ends on a longer wall
    timings = [replace(t, gap=back_to_back_gap) if n in repeats else t for n, t in enumerate(timings)]
    return [Slot(n, name, *frames, back_to_back=n in repeats)
            for n, (name, frames) in enumerate(zip(order, _slot_frames(timings, fps)))]


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


def _offscreen_shift(sprites: list[render.Sprite], matrices: list[np.ndarray], direction: tuple[float, float],
                     width: int, height: int) -> np.ndarray:
    """How far to move the placed socks along direction until they are just out of the frame."""
    corners = np.vstack([spr.hull @ m[:, :2].T + m[:, 2] for spr, m in zip(sprites, matrices)])
    dx, dy = direction
    if dx < 0:
        return np.array([-corners[:, 0].max() - 2, 0.0])
    if dx > 0:
        return np.array([width - corners[:, 0].min() + 2, 0.0])
    return np.array([0.0, height - corners[:, 1].min() + 2])


def _ease(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3 - 2 * x)


def frame_matrices(slot: Slot, motion: Motion, held: Held, frame: float, fps: float,
                   width: int, height: int) -> list[np.ndarray] | None:
    """Where each held sock is at this (possibly fractional) frame, or None outside the showing."""
    if not slot.enter_frame <= frame < slot.leave_frame:
        return None
    t = (min(max(frame, slot.held_start_frame), slot.held_end_frame) - slot.held_start_frame) / fps
    matrices = together.held_matrices(held, motion, t, width, height)
    if frame < slot.held_start_frame:
        away = 1 - _ease((frame - slot.enter_frame) / max(slot.held_start_frame - slot.enter_frame, 1))
        shift = away * _offscreen_shift(held.sprites, matrices, motion.enter_from, width, height)
    elif frame >= slot.held_end_frame:
        away = _ease((frame - slot.held_end_frame + 1) / max(slot.leave_frame - slot.held_end_frame, 1))
        shift = away * _offscreen_shift(held.sprites, matrices, motion.leave_to, width, height)
    else:
        return matrices
    for matrix in matrices:
        matrix[:, 2] += shift
    return matrices


def travels(slot: Slot, motion: Motion, held: Held, frame: int, fps: float, shutter: float,
            width: int, height: int) -> list[tuple[float, float]]:
    """How far (x, y pixels) each sock's centre moves while the shutter is open around this frame."""
    half = min(shutter, 1 / fps) * fps / 2
    ends = [frame_matrices(slot, motion, held, at, fps, width, height)
            for at in (max(frame - half, slot.enter_frame), min(frame + half, slot.leave_frame - 1))]
    moves = []
    for spr, before, after in zip(held.sprites, *ends):
        centre = np.asarray(spr.centre, np.float32)
        dx, dy = (after[:, :2] @ centre + after[:, 2]) - (before[:, :2] @ centre + before[:, 2])
        moves.append((float(dx), float(dy)))
    return moves


@functools.lru_cache(maxsize=64)
def _sock_points(design: Design) -> np.ndarray:
    """Points spread evenly over the sock (sprite pixels), to measure how much of it is in view."""
    step = 4
    ys, xs = np.nonzero(render.sprite(design).alpha[::step, ::step] > 0.5)
    return (np.stack([xs, ys], axis=1) * step).astype(np.float32)


def in_view(design: Design, matrix: np.ndarray | None, width: int, height: int) -> float:
    """The share of the sock's area inside the picture (0 when it is not placed)."""
    if matrix is None:
        return 0.0
    placed = _sock_points(design) @ matrix[:, :2].T + matrix[:, 2]
    inside = (placed[:, 0] >= 0) & (placed[:, 0] < width) & (placed[:, 1] >= 0) & (placed[:, 1] < height)
    return float(inside.mean())


def share_in_view(held: Held, matrices: list[np.ndarray] | None, width: int, height: int) -> float:
    """The share of the held socks' area inside the picture, all socks together."""
    if matrices is None:
        return 0.0
    if len(matrices) == 1:
        return in_view(held.designs[0], matrices[0], width, height)
    shares = [in_view(d, m, width, height) for d, m in zip(held.designs, matrices)]
    sizes = [len(_sock_points(d)) * abs(float(np.linalg.det(m[:, :2]))) for d, m in zip(held.designs, matrices)]
    return float(np.average(shares, weights=sizes))


def showing(slot: Slot, motion: Motion, held: Held, fps: float, width: int, height: int) -> Showing:
    """The slot as truth.json states it: from the first frame with at least VIEW_SHARE of the
    sock (of both socks together, when two are held) in view to the first frame after the
    hold with less (half-open)."""
    def mostly_in_view(frame: int) -> bool:
        matrices = frame_matrices(slot, motion, held, frame, fps, width, height)
        return share_in_view(held, matrices, width, height) >= VIEW_SHARE

    start = next(f for f in range(slot.enter_frame, slot.held_start_frame + 1) if mostly_in_view(f))
    end = next((f for f in range(slot.held_end_frame, slot.leave_frame) if not mostly_in_view(f)),
               slot.leave_frame)
    return Showing(n=slot.n, design=slot.design, designs=slot.designs, start_frame=start,
                   held_start_frame=slot.held_start_frame, held_end_frame=slot.held_end_frame,
                   end_frame=end, enter_frame=slot.enter_frame, leave_frame=slot.leave_frame,
                   back_to_back=slot.back_to_back)


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

    def frame(self, socks: list[tuple[Design, np.ndarray, tuple[float, float]]] = ()) -> np.ndarray:
        """The picture with each (design, matrix, travel) drawn in order, the last on top,
        smeared by its travel (pixels moved while the shutter was open)."""
        image = self.empty.copy()
        drawn = []
        for design, matrix, moved in socks:
            spr = render.sprite(design)
            motion = render.motion_kernel(moved)
            reach = 0 if motion is None else motion.shape[0] // 2
            box = render.footprint(spr, matrix, self.width, self.height, extra=reach)
            if box is not None:
                drawn.append((design, spr, matrix, motion, box))
        if not drawn:
            return image
        # one region around every sock, so the camera's blur runs once over where they meet
        x0, y0 = min(d[4][0] for d in drawn), min(d[4][1] for d in drawn)
        x1, y1 = max(d[4][2] for d in drawn), max(d[4][3] for d in drawn)
        region = image[y0:y1, x0:x1]
        for design, spr, matrix, motion, _ in drawn:
            local = matrix.copy()
            local[:, 2] -= (x0, y0)
            render.blend(region, spr, local, shadow=0.3, colour=self.lit(design), motion=motion)
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
        for design in s.designs:  # two socks held up together count one each
            counts[design] = counts.get(design, 0) + 1
    return {
        "format": FORMAT,
        "renderer": RENDERER,
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
        "shutter": min(spec.shutter, 1 / fps),
        "back_to_back_gap": spec.back_to_back_gap,
        "max_socks": spec.max_socks,
        "showings": [{
            **asdict(s),
            **{name: round(getattr(s, f"{name}_frame") / fps, 4)
               for name in ("start", "end", "held_start", "held_end", "enter", "leave")},
        } for s in showings],
        "counts": counts,
        "timeline": timeline(showings, frame_count(spec), fps),
        "note": "frame ranges are half-open: a showing is the frames start_frame <= f < end_frame, "
                "in which at least half of the sock is in view",
    }


def timeline(showings: list[Showing], frames: int, fps: float) -> list[dict]:
    """The whole video as consecutive segments, each labelled with what is mostly in view:
    a design or Blank; a frame's true label at a glance. ``labels`` names every sock in
    view, one per sock ([] on the wall); ``label`` is its first, the showing's ``design``."""
    segments, cursor = [], 0
    for s in showings:
        if s.start_frame > cursor:
            segments.append((BLANK_LABEL, (), cursor, s.start_frame))
        segments.append((s.design, s.designs, s.start_frame, s.end_frame))
        cursor = s.end_frame
    if cursor < frames:
        segments.append((BLANK_LABEL, (), cursor, frames))
    return [{"label": label, "labels": list(labels), "start_frame": a, "end_frame": b,
             "start": round(a / fps, 4), "end": round(b / fps, 4)} for label, labels, a, b in segments]


def frame_count(spec: ShowSpec) -> int:
    return int(round(spec.seconds * spec.fps))


def make_show(spec: ShowSpec) -> dict:
    """Render the video and write truth.json; returns the truth."""
    if spec.shutter < 0:
        raise UserError(f"--shutter {spec.shutter:g}: an exposure cannot be negative")
    if spec.max_socks not in (1, 2):
        raise UserError(f"--max-socks {spec.max_socks}: a show holds up 1 or 2 socks at once")
    info = load_manifest(spec.classes_from)
    chosen = {d.name: d for d in manifest_designs(info)}
    slots = plan(list(chosen), spec.seed, spec.fps, spec.seconds, spec.back_to_back, spec.back_to_back_gap)
    rng = np.random.default_rng([spec.seed, 3])
    stage = Stage(rng, spec.width, spec.height)
    motions = [Motion.random(rng) for _ in slots]
    helds = [Held((chosen[slot.design],)) for slot in slots]
    if spec.max_socks == 2:
        slots = together.partners(slots, list(chosen), spec.seed)
        helds = together.held(slots, chosen, spec.seed, spec.width, spec.height)
    size = (spec.fps, spec.width, spec.height)

    def socks(number: int) -> list[tuple[Design, np.ndarray, tuple[float, float]]]:
        for slot, motion, held in zip(slots, motions, helds):
            if slot.enter_frame <= number < slot.leave_frame:
                matrices = frame_matrices(slot, motion, held, number, *size)
                moves = travels(slot, motion, held, number, spec.fps, spec.shutter, spec.width, spec.height)
                return list(zip(held.designs, matrices, moves))
        return []

    def picture(number: int) -> tuple[np.ndarray, list[dict]]:
        placed = socks(number)
        objects = [] if spec.boxes is None else \
            [o.to_dict() for o in scene.objects([scene.Placed(d, m) for d, m, _ in placed],
                                                spec.width, spec.height)]
        return stage.frame(placed), objects

    frames = frame_count(spec)
    boxes: list[list[dict]] = []

    def pictures():
        # frames are independent: draw them on a few threads (OpenCV releases the GIL), write in order
        for _, (image, objects) in ordered_map(picture, range(frames), spec.threads):
            boxes.append(objects)
            yield image

    write_video(spec.out, pictures(), frames, spec.fps, spec.width, spec.height)
    showings = [showing(slot, motion, held, *size) for slot, motion, held in zip(slots, motions, helds)]
    result = truth(spec, showings, info)
    if spec.boxes is not None:
        write_boxes(spec.boxes, boxes, spec.fps)
    atomic.write_json(spec.truth, result)
    return result


def write_boxes(path: Path, boxes: list[list[dict]], fps: float) -> None:
    """One JSON line per frame: ``{"frame", "t", "objects": [{"label", "box", "visible"}]}``."""
    lines = (json.dumps({"frame": n, "t": round(n / fps, 4), "objects": objects}) for n, objects in enumerate(boxes))
    atomic.write_text(path, "".join(f"{line}\n" for line in lines))


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
