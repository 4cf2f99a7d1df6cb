"""Simulated sorting sessions: what reaches Kafka while a person shows socks to a camera.

A session shows several designs, each once to four times, in random order; often the two
showings of one design come back to back. Each showing holds the sock in front of the
camera for 1-8 s; between showings the camera sees 1-3 s of blank wall (label ``Blank``).
The frames carry the noise real cameras give:

* **ghosts inside a showing** - single frames, or bursts of 2-5 frames, of one other
  design at 35-80 %, about ``ghost_share`` (15 %) of the showing's frames; the held sock
  itself reads at 80-99 %;
* **ghosts on the wall** - the wall misread as any design at 30-70 %, singles and bursts,
  about ``wall_ghost_share`` (5 %) of the wall's frames; the wall read right is ``Blank``
  at any probability, as low as 35 % (the seed's own trace shows 37-41 %);
* **transitions** - 1-3 blurred frames as the sock enters and as it leaves, between the
  wall and the hold, read as any design at 30-75 %;
* **timing** - frames come at ``fps`` with +-15 % jitter, 5 % of them are lost, and a
  share are delivered twice (a QoS 1 redelivery, arriving a few frames later);
* **payload** - ``ours`` (``image``, ``probability``, ``ts``, ``device``, ``seq``, ``top``)
  or ``seed`` (only ``image`` and ``probability``; the Kafka record time is then the
  arrival time, as the connector stamps it).

* **two socks held up together** (``together_share`` of the showings, only with
  ``objects``): a pair at once (``together_pair_share`` of them) or two designs side by
  side. Such a frame lists both objects at 80-99 %; ``miss_share`` of its frames see only
  one of the two, a ghost inside it misreads one of the two, and the wall is ``[]``;
* **objects** - with ``objects`` the camera finds things and lists them (``objects``,
  most probable first; ``image``/``probability`` are the first); ``ghost_object_share``
  of the frames with a sock carry one more object, another design at 30-65 %. Without it
  (the default, the seed's cameras and older edges) no frame has ``objects``.

``EASY`` keeps the clean sessions of the first pipeline for comparison (ghosts inside
showings only). A stress knob, ``blank_in_showing_share``, puts single ``Blank`` frames
inside showings (a sock slipping half out of view). :func:`simulate_cameras` runs several
cameras at once, each its own session, interleaved as they arrive.

The truth is the ``SOCK_PAIRS`` table a correct pipeline ends with. Everything is derived
from ``seed``: the same seed and spec give the same session.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field, replace

from socksort.contract import BLANK_LABEL, MQTT_TOPIC
from socksort.ksql.pipeline.rows import PairRow
from socksort.schema import Box, DetectedObject, Guess, Prediction

# Designs the simulated model knows; a session shows some of them, ghosts may be any other.
DESIGNS = ("Mongo", "Streamset", "Google", "Confluent", "Kafka", "Argyle", "Polka", "Stripes")

SESSION_START_MS = 1_732_186_800_000  # 2024-11-21 11:00:00 UTC, a fixed origin for replayable ts

PAYLOADS = ("ours", "seed")
TOGETHER = " + "     # how a showing of two socks held up together is named (as the pipeline reads it)


@dataclass(frozen=True)
class Delivery:
    """One record of ``data_mqtt``: the camera's message and the record's time, which the
    connector sets to the payload's ``ts`` when it has one and to the arrival time otherwise."""

    prediction: Prediction
    timestamp: int
    key: str | None = MQTT_TOPIC   # the connector's record key: the MQTT topic

    @classmethod
    def of(cls, prediction: Prediction) -> "Delivery":
        """A message delivered the moment it was made (its ``ts`` is the record time)."""
        return cls(prediction, prediction.ts)


@dataclass(frozen=True)
class Showing:
    """One sock held up, or two together: its design ('A + B' for two, in alphabetical
    order), its camera and the span of its held frames (ms, inclusive)."""

    image: str
    start: int
    end: int
    device: str | None = None

    @property
    def designs(self) -> list[str]:
        """The socks shown: one design per sock."""
        return self.image.split(TOGETHER)


@dataclass(frozen=True)
class Session:
    """A simulated session: the records in arrival order and what they should add up to."""

    seed: int
    fps: float
    deliveries: tuple[Delivery, ...]
    showings: tuple[Showing, ...]
    ghost_frames: int = 0
    showing_frames: int = 0
    pairs: dict[str, PairRow] = field(default_factory=dict)

    @property
    def frames(self) -> tuple[Prediction, ...]:
        """The messages in arrival order (a redelivered frame appears twice)."""
        return tuple(d.prediction for d in self.deliveries)


@dataclass(frozen=True)
class SessionSpec:
    """The knobs of a session; the defaults are every phenomenon at its worst listed level."""

    fps: float = 30.0
    designs: tuple[int, int] = (3, 6)          # how many designs a session shows
    showings_per_design: tuple[int, int] = (1, 4)
    back_to_back: float = 0.5                  # share of repeated designs shown twice in a row
    hold_s: tuple[float, float] = (1.0, 8.0)
    gap_s: tuple[float, float] = (1.0, 3.0)
    ghost_share: float = 0.15
    single_ghost_share: float = 0.5            # ghost events that are one frame; the rest are bursts
    burst_frames: tuple[int, int] = (2, 5)
    ghost_probability: tuple[float, float] = (35.0, 80.0)
    wall_ghost_share: float = 0.05
    wall_ghost_probability: tuple[float, float] = (30.0, 70.0)
    transition_frames: tuple[int, int] = (1, 3)  # at entry and again at exit; (0, 0) for none
    transition_probability: tuple[float, float] = (30.0, 75.0)
    true_probability: tuple[float, float] = (80.0, 99.0)
    blank_probability: tuple[float, float] = (35.0, 99.0)
    blank_in_showing_share: float = 0.0        # stress: single Blank frames inside a showing
    jitter: float = 0.15                       # frame time jitter, as a share of the frame interval
    loss: float = 0.05                         # frames never delivered
    duplicate_share: float = 0.02              # frames delivered a second time, a little later
    payload: str = "ours"
    objects: bool = False                      # the camera lists what it finds ("objects")
    together_share: float = 0.0                # showings of two socks held up together
    together_pair_share: float = 0.5           # of those, a pair (else two designs)
    miss_share: float = 0.1                    # frames of two socks that see only one
    ghost_object_share: float = 0.1            # sock frames with one more object at 30-65 %
    ghost_object_probability: tuple[float, float] = (30.0, 65.0)
    device: str = "deeplens-1"
    topic: str = MQTT_TOPIC                    # the MQTT topic the camera publishes to
    start_ms: int = SESSION_START_MS           # epoch ms of the session's start; through a
                                               # real Kafka use a recent time, or retention
                                               # deletes the records as soon as they land

    def __post_init__(self):
        if self.payload not in PAYLOADS:
            raise ValueError(f"payload must be one of {PAYLOADS}, not {self.payload!r}")
        if self.objects and self.payload == "seed":
            raise ValueError("the seed's payload has no objects")
        if self.together_share > 0 and not self.objects:
            raise ValueError("two socks held up together need a camera that lists objects")


# Sessions of a camera that finds objects, a third of the showings two socks together.
TOGETHER_SESSIONS = SessionSpec(objects=True, together_share=0.35)

# Today's clean sessions, kept for comparison: ghosts inside showings, nothing else.
EASY = SessionSpec(back_to_back=0.0, wall_ghost_share=0.0, transition_frames=(0, 0),
                   blank_probability=(90.0, 99.0), loss=0.0, duplicate_share=0.0)


def pair_rows(counts: Counter) -> dict[str, PairRow]:
    """The SOCK_PAIRS rows for designs shown ``counts[image]`` times (zero counts have no row)."""
    return {image: PairRow(image, "Pair" if k % 2 == 0 else "Un-matched", k)
            for image, k in sorted(counts.items()) if k > 0}


@dataclass
class _Frame:
    """A frame while it is being made: the truth under it and what the camera reads."""

    t: float             # seconds since the session started
    truth: str           # the shown design, BLANK_LABEL for wall, "" for a transition
    image: str
    probability: float
    ghost: bool = False
    objects: list | None = None     # [(label, probability)], most probable first


def simulate(seed: int, spec: SessionSpec = SessionSpec()) -> Session:
    """One sorting session on one camera, fully determined by ``seed`` and ``spec``."""
    rng = random.Random(f"socksort-session-{seed}-{spec.fps:g}")
    interval = 1.0 / spec.fps
    truths = _timeline(rng, spec, _order(rng, spec))
    frames = [_read(rng, spec, truth, (i + 1) * interval
                    + rng.uniform(-spec.jitter, spec.jitter) * interval)
              for i, truth in enumerate(truths)]
    _add_ghosts(rng, spec, frames)
    _add_blanks_in_showings(rng, spec, frames)
    if spec.objects:
        misses = _misses(rng, spec, frames)
        for i, frame in enumerate(frames):
            _find_objects(rng, spec, frame, i in misses)

    stamps = [spec.start_ms + round(f.t * 1000) for f in frames]
    deliveries, delivered = _deliver(rng, spec, frames, stamps)
    showings = []
    for first, last in _holds(truths):
        # A hold none of whose frames reached Kafka was shown, but no one could count it.
        if any(first <= i <= last for i in delivered):
            showings.append(Showing(truths[first], stamps[first], stamps[last], spec.device))
    in_showings = [f for f in frames if f.truth not in (BLANK_LABEL, "")]
    return Session(seed=seed, fps=spec.fps, deliveries=tuple(deliveries),
                   showings=tuple(showings),
                   ghost_frames=sum(f.ghost for f in in_showings), showing_frames=len(in_showings),
                   pairs=pair_rows(Counter(d for s in showings for d in s.designs)))


def simulate_cameras(seed: int, spec: SessionSpec = SessionSpec(), cameras: int = 2) -> Session:
    """``cameras`` cameras sorting at once, each its own session; pairs count across them.

    The cameras start a fraction of a frame apart, so their records interleave.
    """
    parts = []
    for n in range(cameras):
        device = f"{spec.device}-{n + 1}" if cameras > 1 else spec.device
        # The seed's payload names no camera: each camera publishes to a topic of its own.
        topic = f"{spec.topic}/{device}" if spec.payload == "seed" and cameras > 1 else spec.topic
        camera = replace(spec, device=device, topic=topic)
        part = simulate(seed * 1000 + n, camera)
        offset = round(n * 1000 / spec.fps / cameras)
        parts.append((part, offset))
    deliveries = sorted(
        ((replace(d, timestamp=d.timestamp + offset,
                  prediction=_shift(d.prediction, offset)), i, k)
         for i, (part, offset) in enumerate(parts) for k, d in enumerate(part.deliveries)),
        key=lambda item: (item[0].timestamp, item[1], item[2]))
    showings = tuple(sorted((replace(s, start=s.start + offset, end=s.end + offset)
                             for part, offset in parts for s in part.showings),
                            key=lambda s: (s.start, s.device)))
    return Session(seed=seed, fps=spec.fps, deliveries=tuple(d for d, _, _ in deliveries),
                   showings=showings,
                   ghost_frames=sum(p.ghost_frames for p, _ in parts),
                   showing_frames=sum(p.showing_frames for p, _ in parts),
                   pairs=pair_rows(Counter(d for s in showings for d in s.designs)))


def sessions(count: int, spec: SessionSpec = SessionSpec(), first_seed: int = 0,
             cameras: int = 1) -> list[Session]:
    """``count`` sessions with consecutive seeds (each on ``cameras`` cameras)."""
    if cameras == 1:
        return [simulate(seed, spec) for seed in range(first_seed, first_seed + count)]
    return [simulate_cameras(seed, spec, cameras) for seed in range(first_seed, first_seed + count)]


def _order(rng: random.Random, spec: SessionSpec) -> list[str]:
    """The designs in the order they are shown; some repeated designs come back to back,
    and with ``together_share`` some showings hold two socks ('A + B')."""
    shown = rng.sample(DESIGNS, rng.randint(*spec.designs))
    order = [d for d in shown for _ in range(rng.randint(*spec.showings_per_design))]
    rng.shuffle(order)
    for design in shown:
        places = [i for i, d in enumerate(order) if d == design]
        if len(places) >= 2 and rng.random() < spec.back_to_back:
            order.pop(places[1])
            order.insert(places[0] + 1, design)
    if spec.together_share > 0:
        order = _together(rng, spec, order)
    return order


def _together(rng: random.Random, spec: SessionSpec, order: list[str]) -> list[str]:
    """Join some showings with a later one: a sock of the same design (a pair held up at
    once) or of another design (two designs side by side)."""
    joined, i = list(order), 0
    while i < len(joined):
        if rng.random() < spec.together_share:
            same = rng.random() < spec.together_pair_share
            later = [j for j in range(i + 1, len(joined)) if TOGETHER not in joined[j]
                     and (joined[j] == joined[i]) == same]
            if later and TOGETHER not in joined[i]:
                partner = joined.pop(rng.choice(later))
                joined[i] = TOGETHER.join(sorted((joined[i], partner)))
        i += 1
    return joined


def _timeline(rng: random.Random, spec: SessionSpec, order: list[str]) -> list[str]:
    """What is in front of the camera at each frame: wall, then per showing the sock coming
    (1-3 frames, labelled ""), held, going (1-3 frames), then wall again."""
    def frames(seconds: float) -> int:
        return max(1, round(seconds * spec.fps))

    truths = [BLANK_LABEL] * frames(rng.uniform(*spec.gap_s))
    for image in order:
        truths += [""] * rng.randint(*spec.transition_frames)
        truths += [image] * frames(rng.uniform(*spec.hold_s))
        truths += [""] * rng.randint(*spec.transition_frames)
        truths += [BLANK_LABEL] * frames(rng.uniform(*spec.gap_s))
    return truths


def _holds(truths: list[str]) -> list[tuple[int, int]]:
    """(first, last) frame index of every hold."""
    holds, first = [], None
    for i, truth in enumerate(truths):
        held = truth not in (BLANK_LABEL, "")
        if held and first is None:
            first = i
        if first is not None and (not held or truth != truths[first]):
            holds.append((first, i - 1))
            first = i if held else None
    if first is not None:
        holds.append((first, len(truths) - 1))
    return holds


def _read(rng: random.Random, spec: SessionSpec, truth: str, t: float) -> _Frame:
    """What the camera reads of ``truth`` at time ``t`` before ghosts are laid over it."""
    if truth == BLANK_LABEL:
        return _Frame(t, truth, BLANK_LABEL, _percent(rng, spec.blank_probability))
    if truth == "":
        return _Frame(t, truth, rng.choice(DESIGNS), _percent(rng, spec.transition_probability))
    return _Frame(t, truth, truth, _percent(rng, spec.true_probability))


def _add_ghosts(rng: random.Random, spec: SessionSpec, frames: list[_Frame]) -> None:
    """Replace runs of frames by ghosts so that about the asked share of frames are ghosts.

    An event starts at a frame that is not yet a ghost with probability ``p``; its mean
    length is ``m`` frames, so the ghost share is about ``p*m / (1 + p*m)``; solve for ``p``.
    A ghost never outlives the stretch (showing or wall) it started in. Inside a showing a
    ghost is one other design; on the wall, any design.
    """
    low, high = spec.burst_frames
    mean = spec.single_ghost_share + (1 - spec.single_ghost_share) * (low + high) / 2
    for share, on_wall, band in ((spec.ghost_share, False, spec.ghost_probability),
                                 (spec.wall_ghost_share, True, spec.wall_ghost_probability)):
        if share <= 0:
            continue
        p = share / (mean * (1 - share))
        i = 0
        while i < len(frames):
            here = frames[i].truth
            if here == "" or (here == BLANK_LABEL) != on_wall or frames[i].ghost \
                    or rng.random() >= p:
                i += 1
                continue
            length = 1 if rng.random() < spec.single_ghost_share else rng.randint(low, high)
            length = min(length, _ghost_room(frames, i))
            other = rng.choice([d for d in DESIGNS if d not in here.split(TOGETHER)])
            j = i
            while j < len(frames) and j < i + length and frames[j].truth == here:
                frames[j].image, frames[j].ghost = other, True
                frames[j].probability = _percent(rng, band)
                j += 1
            i = max(j, i + 1)


def _ghost_room(frames: list[_Frame], i: int) -> int:
    """How many more ghosts the stretch (showing or wall) holding frame ``i`` takes while
    most of its frames stay true: a sock the camera never reads right, or a wall it never
    sees, cannot be counted by anyone."""
    first = last = i
    while first > 0 and frames[first - 1].truth == frames[i].truth:
        first -= 1
    while last + 1 < len(frames) and frames[last + 1].truth == frames[i].truth:
        last += 1
    stretch = frames[first:last + 1]
    return max(0, (len(stretch) - 1) // 2 - sum(f.ghost for f in stretch))


def _add_blanks_in_showings(rng: random.Random, spec: SessionSpec, frames: list[_Frame]) -> None:
    """Stress: single frames inside a showing read as ``Blank``, never two in a row."""
    if spec.blank_in_showing_share <= 0:
        return
    for i, frame in enumerate(frames):
        if frame.truth in (BLANK_LABEL, "") or rng.random() >= spec.blank_in_showing_share:
            continue
        if i and frames[i - 1].image == BLANK_LABEL and frames[i - 1].truth == frame.truth:
            continue
        frame.image, frame.ghost = BLANK_LABEL, True
        frame.probability = _percent(rng, spec.blank_probability)


def _misses(rng: random.Random, spec: SessionSpec, frames: list[_Frame]) -> set[int]:
    """Frames of two socks held together that see only one of them, about ``miss_share`` of
    them; with the ghosts, fewer than half of each hold, as ``_ghost_room`` keeps a hold
    mostly read right (here: both socks seen)."""
    missed: set[int] = set()
    i = 0
    while i < len(frames):
        truth = frames[i].truth
        last = i
        while last + 1 < len(frames) and frames[last + 1].truth == truth:
            last += 1
        if TOGETHER in truth:
            stretch = range(i, last + 1)
            room = (len(stretch) - 1) // 2 - sum(frames[j].ghost for j in stretch)
            for j in stretch:
                if not frames[j].ghost and rng.random() < spec.miss_share and room > 0:
                    missed.add(j)
                    room -= 1
        i = last + 1
    return missed


def _find_objects(rng: random.Random, spec: SessionSpec, frame: _Frame, missed: bool) -> None:
    """What a camera that finds objects lists for ``frame``; ``image``/``probability`` become
    the most probable object, as the edge sends them."""
    held = frame.truth.split(TOGETHER) if frame.truth not in (BLANK_LABEL, "") else []
    if frame.image == BLANK_LABEL:
        objects = []                         # the wall, or a sock slipped out of view
    elif len(held) == 2 and frame.ghost:
        # A ghost inside two socks misreads one of them; the other still reads right.
        objects = [(frame.image, frame.probability),
                   (rng.choice(held), _percent(rng, spec.true_probability))]
    elif len(held) == 2:
        objects = [(label, _percent(rng, spec.true_probability)) for label in held]
        if missed:
            objects = [rng.choice(objects)]
    else:
        objects = [(frame.image, frame.probability)]
    if held and objects and rng.random() < spec.ghost_object_share:
        others = [d for d in DESIGNS if d not in held]
        objects.append((rng.choice(others), _percent(rng, spec.ghost_object_probability)))
    objects.sort(key=lambda o: -o[1])
    frame.objects = objects
    if objects:
        frame.image, frame.probability = objects[0]


def _boxes(rng: random.Random, objects: list) -> tuple[DetectedObject, ...]:
    """The objects with boxes side by side in a 640x480 frame (the pipeline ignores boxes)."""
    found = []
    for n, (label, probability) in enumerate(objects):
        left = 20 + 200 * n + rng.randint(0, 30)
        found.append(DetectedObject(label, probability,
                                    Box(left, rng.randint(40, 80), rng.randint(150, 190),
                                        rng.randint(250, 330))))
    return tuple(found)


def _deliver(rng: random.Random, spec: SessionSpec, frames: list[_Frame],
             stamps: list[int]) -> tuple[list[Delivery], set[int]]:
    """The records Kafka gets: lost frames left out, some delivered again a little later.

    ``seq`` counts every frame the camera made, so a lost frame leaves a gap. A copy
    arrives 1-5 frames after its original. The record time is the payload's ``ts``; for
    the seed's payload (no ``ts``) it is the arrival time, a few ms after the frame.
    Also returns the indices of the frames that arrived.
    """
    interval_ms = 1000 / spec.fps
    arrivals: list[tuple[float, int, Delivery]] = []
    for seq, (frame, ts) in enumerate(zip(frames, stamps)):
        if rng.random() < spec.loss:
            continue
        top = _top(rng, frame.image, frame.probability)
        if spec.payload == "seed":
            prediction = Prediction(image=frame.image, probability=frame.probability)
        else:
            prediction = Prediction(image=frame.image, probability=frame.probability, ts=ts,
                                    device=spec.device, seq=seq, top=top,
                                    objects=None if frame.objects is None
                                    else _boxes(rng, frame.objects))
        copies = [ts + rng.uniform(2, 15)]
        if rng.random() < spec.duplicate_share:
            copies.append(copies[0] + rng.randint(1, 5) * interval_ms)
        for arrived in copies:
            record_time = round(arrived) if spec.payload == "seed" else ts
            arrivals.append((arrived, seq, Delivery(prediction, record_time, spec.topic)))
    arrivals.sort(key=lambda item: (item[0], item[1]))
    return [delivery for _, _, delivery in arrivals], {seq for _, seq, _ in arrivals}


def _shift(prediction: Prediction, offset: int) -> Prediction:
    return prediction if prediction.ts is None else replace(prediction, ts=prediction.ts + offset)


def _percent(rng: random.Random, band: tuple[float, float]) -> float:
    return round(rng.uniform(*band), 2)


def _top(rng: random.Random, image: str, probability: float) -> tuple[Guess, ...]:
    """Top-3 guesses as the camera lists them: the winner, then two others sharing the rest."""
    others = rng.sample([label for label in (*DESIGNS, BLANK_LABEL) if label != image], 2)
    rest = 100.0 - probability
    second = round(rest * rng.uniform(0.5, 0.9), 2)
    second = min(second, probability)
    third = round(min(rest - second, second), 2)
    return (Guess(image, probability), Guess(others[0], second), Guess(others[1], max(third, 0.0)))
