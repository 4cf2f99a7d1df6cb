"""Simulated sorting sessions: what the camera publishes while a person shows socks to it.

A session shows several designs, each once to four times, in random order (so the two
socks of a pair may well be shown back to back). Each showing holds the sock in front of
the camera for 1-8 s; between showings the camera sees 1-3 s of blank wall (label
``Blank``). The classifier reads the held sock right at 80-99 % and misreads some frames
as *ghosts*: a single frame, or a burst of 2-5 frames, of one other design at 35-80 %.
Ghost frames make up ``ghost_share`` (15 %) of the frames of a showing; with
``gap_ghost_share`` > 0 the blank wall is misread the same way (off by default: the
classifier is sure about an empty wall, it is the held sock it sometimes gets wrong).

Frames come at ``fps`` (30 or 4 here) with a little timing jitter, as
:class:`socksort.schema.Prediction` messages, exactly as the camera publishes them. The
truth is the ``SOCK_PAIRS`` table a correct pipeline ends with. Everything is derived
from ``seed``: the same seed gives the same session.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from socksort.contract import BLANK_LABEL
from socksort.ksql.rows import PairRow
from socksort.schema import Guess, Prediction

# Designs the simulated model knows; a session shows some of them, ghosts may be any other.
DESIGNS = ("Mongo", "Streamset", "Google", "Confluent", "Kafka", "Argyle", "Polka", "Stripes")

SESSION_START_MS = 1_732_186_800_000  # 2024-11-21 11:00:00 UTC, a fixed origin for replayable ts


@dataclass(frozen=True)
class Showing:
    """One sock held up: its design and the time span of its frames (ms, inclusive)."""

    image: str
    start: int
    end: int


@dataclass(frozen=True)
class Session:
    """A simulated session: the frames in publish order and what they should add up to."""

    seed: int
    fps: float
    frames: tuple[Prediction, ...]
    showings: tuple[Showing, ...]
    ghost_frames: int = 0
    showing_frames: int = 0
    pairs: dict[str, PairRow] = field(default_factory=dict)


@dataclass(frozen=True)
class SessionSpec:
    """The knobs of a session; the defaults are the issue's description."""

    fps: float = 30.0
    designs: tuple[int, int] = (3, 6)          # how many designs a session shows
    showings_per_design: tuple[int, int] = (1, 4)
    hold_s: tuple[float, float] = (1.0, 8.0)
    gap_s: tuple[float, float] = (1.0, 3.0)
    ghost_share: float = 0.15
    gap_ghost_share: float = 0.0
    single_ghost_share: float = 0.5            # ghost events that are one frame; the rest are bursts
    burst_frames: tuple[int, int] = (2, 5)
    true_probability: tuple[float, float] = (80.0, 99.0)
    ghost_probability: tuple[float, float] = (35.0, 80.0)
    jitter: float = 0.15                       # frame time jitter, as a share of the frame interval
    device: str = "deeplens-1"


def pair_rows(counts: Counter) -> dict[str, PairRow]:
    """The SOCK_PAIRS rows for designs shown ``counts[image]`` times (zero counts have no row)."""
    return {image: PairRow(image, "Pair" if k % 2 == 0 else "Un-matched", k)
            for image, k in sorted(counts.items()) if k > 0}


def simulate(seed: int, spec: SessionSpec = SessionSpec()) -> Session:
    """One sorting session, fully determined by ``seed`` and ``spec``."""
    rng = random.Random(f"socksort-session-{seed}-{spec.fps:g}")
    shown = rng.sample(DESIGNS, rng.randint(*spec.designs))
    order = [d for d in shown for _ in range(rng.randint(*spec.showings_per_design))]
    rng.shuffle(order)

    # The timeline in seconds: blank wall, then showing / blank gap, ending on blank wall.
    spans: list[tuple[str, float, float]] = []
    t = rng.uniform(*spec.gap_s)
    spans.append((BLANK_LABEL, 0.0, t))
    for image in order:
        hold = rng.uniform(*spec.hold_s)
        spans.append((image, t, t + hold))
        t += hold
        gap = rng.uniform(*spec.gap_s)
        spans.append((BLANK_LABEL, t, t + gap))
        t += gap

    interval = 1.0 / spec.fps
    times = [i * interval + rng.uniform(-spec.jitter, spec.jitter) * interval
             for i in range(1, int(t / interval))]
    labels = [_label_at(spans, s) for s in times]
    images, ghost = list(labels), [False] * len(labels)
    _add_ghosts(rng, spec, labels, images, ghost)

    frames, showings = [], []
    for seq, (s, label, image, is_ghost) in enumerate(zip(times, labels, images, ghost)):
        ts = SESSION_START_MS + round(s * 1000)
        low, high = spec.ghost_probability if is_ghost else spec.true_probability
        probability = round(rng.uniform(low, high), 2)
        frames.append(Prediction(image=image, probability=probability, ts=ts, device=spec.device,
                                 seq=seq, top=_top(rng, image, probability)))
    for image, start, end in spans:
        if image == BLANK_LABEL:
            continue
        stamps = [f.ts for f, label, s in zip(frames, labels, times) if start <= s < end]
        if stamps:  # a hold always spans many frames; guard anyway
            showings.append(Showing(image, stamps[0], stamps[-1]))
    in_showings = sum(label != BLANK_LABEL for label in labels)
    ghosts_in_showings = sum(g and label != BLANK_LABEL for g, label in zip(ghost, labels))
    return Session(seed=seed, fps=spec.fps, frames=tuple(frames), showings=tuple(showings),
                   ghost_frames=ghosts_in_showings, showing_frames=in_showings,
                   pairs=pair_rows(Counter(s.image for s in showings)))


def sessions(count: int, spec: SessionSpec = SessionSpec(), first_seed: int = 0):
    """``count`` sessions with consecutive seeds."""
    return [simulate(seed, spec) for seed in range(first_seed, first_seed + count)]


def _label_at(spans, s: float) -> str:
    for image, start, end in spans:
        if start <= s < end:
            return image
    return BLANK_LABEL


def _add_ghosts(rng: random.Random, spec: SessionSpec, labels, images, ghost) -> None:
    """Replace runs of frames by ghosts so that about the asked share of frames are ghosts.

    An event starts at a frame that is not yet a ghost with probability ``p``; its mean
    length is ``m`` frames, so the ghost share is about ``p*m / (1 + p*m)``; solve for ``p``.
    A ghost never outlives the stretch (showing or gap) it started in.
    """
    low, high = spec.burst_frames
    mean = spec.single_ghost_share + (1 - spec.single_ghost_share) * (low + high) / 2
    for share, in_showing in ((spec.ghost_share, True), (spec.gap_ghost_share, False)):
        if share <= 0:
            continue
        p = share / (mean * (1 - share))
        i = 0
        while i < len(labels):
            here = labels[i]
            if (here != BLANK_LABEL) != in_showing or ghost[i] or rng.random() >= p:
                i += 1
                continue
            length = 1 if rng.random() < spec.single_ghost_share else rng.randint(low, high)
            other = rng.choice([d for d in DESIGNS if d != here])
            j = i
            while j < len(labels) and j < i + length and labels[j] == here:
                images[j], ghost[j] = other, True
                j += 1
            i = j


def _top(rng: random.Random, image: str, probability: float) -> tuple[Guess, ...]:
    """Top-3 guesses as the camera lists them: the winner, then two others sharing the rest."""
    others = rng.sample([label for label in (*DESIGNS, BLANK_LABEL) if label != image], 2)
    rest = 100.0 - probability
    second = round(rest * rng.uniform(0.5, 0.9), 2)
    second = min(second, probability)
    third = round(min(rest - second, second), 2)
    return (Guess(image, probability), Guess(others[0], second), Guess(others[1], max(third, 0.0)))
