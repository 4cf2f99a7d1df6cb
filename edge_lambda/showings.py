"""Open-set showings: cut a camera's frames into showings, and give two showings of the same
sock one label, with no trained sock classes (``socksort edge --match``).

Frames come in as :class:`Observation`: whether a sock is in view (from the model's
``Blank`` class or the learned background) and, for frames a showing may keep, the material
its look is made from. :class:`ShowingMatcher` holds a showing's frames until the showing
ends, so every frame of one showing is published with the same label (a label that changed
partway would split the pipeline's vote into two showings):

- a run of sock frames opens a showing; ``end_gap_ms`` without a sock closes it; blank
  frames inside it (a frame the detector missed) carry its label, blank frames after its
  last sock frame are ``Blank``;
- a run of fewer than ``min_frames`` sock frames is a ghost: its frames are ``Blank``;
- at close the showing's look (:meth:`ShowingMatcher.look`, an L2-normalised vector) is
  compared with every earlier showing still unmatched: it joins the most similar one when
  their cosine similarity clears the threshold (:class:`Threshold`), and both are matched;
  otherwise it is a new sock, ``sock-<n>``.

The matcher holds at most ``max_held`` frames: a showing longer than that is decided with
what it has, and its later frames stream out with its label as they come.
"""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass, field
from typing import Any, Callable, ContextManager, Generic, Iterator, TypeVar

import numpy as np

from socksort.contract import BLANK_LABEL

T = TypeVar("T")
LABEL_PREFIX = "sock-"


@dataclass(frozen=True)
class MatchSettings:
    end_gap_ms: int = 400         # this long with no sock in view ends a showing
    min_frames: int = 3           # fewer sock frames in a row are a ghost
    max_held: int = 2000          # frames held while a showing is open, at most
    samples: int = 8              # frames a showing keeps to make its look from

    def validate(self) -> "MatchSettings":
        if self.end_gap_ms <= 0 or self.min_frames < 1 or self.max_held < 2 or self.samples < 1:
            raise ValueError("match settings: end_gap_ms, min_frames, max_held and samples must be positive")
        return self


@dataclass(frozen=True)
class Threshold:
    """How similar two showings must be to be one pair.

    ``fixed``: that cosine similarity, whatever the session. Otherwise calibrated on the
    session's own showings: a match must stand ``sigmas`` standard deviations above the mean
    similarity of this camera's showings to each other (most of which are different socks),
    that spread starting from ``prior_mean``/``prior_std`` as if ``prior_weight`` pairs had
    been seen, and never below ``floor``.
    """
    fixed: float | None = None
    # 2.0 matched 18 of 20 tuning shows in benchmarks/tune_match.py, as many as any rule tried
    # (1.5 and 2.25 sigma, caps, fixed 0.84-0.90, median/MAD, upper quantiles); the two shows
    # every rule gets wrong need better looks, not another threshold.
    sigmas: float = 2.0
    # What different socks' looks (open_set.py's) scored on rendered shows of the tuning designs.
    prior_mean: float = 0.7
    prior_std: float = 0.06
    prior_weight: float = 10.0
    floor: float = 0.5

    def value(self, spread: "Spread") -> float:
        if self.fixed is not None:
            return self.fixed
        w = self.prior_weight
        mean = (w * self.prior_mean + spread.total) / (w + spread.count)
        second = (w * (self.prior_std ** 2 + self.prior_mean ** 2) + spread.squares) / (w + spread.count)
        std = float(np.sqrt(max(second - mean * mean, 1e-6)))
        return max(self.floor, mean + self.sigmas * std)


@dataclass(frozen=True)
class Spread:
    """Similarities between showings, as their count, sum and sum of squares: kept as showings
    close instead of recomputing every earlier pair at each decision."""
    count: int = 0
    total: float = 0.0
    squares: float = 0.0

    @classmethod
    def of(cls, similarities) -> "Spread":
        values = [float(x) for x in similarities]
        return cls(len(values), sum(values), sum(x * x for x in values))

    def __add__(self, other: "Spread") -> "Spread":
        return Spread(self.count + other.count, self.total + other.total, self.squares + other.squares)

    def __sub__(self, other: "Spread") -> "Spread":
        return Spread(self.count - other.count, self.total - other.total, self.squares - other.squares)


@dataclass(frozen=True)
class Observation(Generic[T]):
    item: T                       # what is published (the loop's prediction), handed back with its label
    ts_ms: int
    sock: bool                    # a sock is in view
    sample: Any = None            # material for the showing's look (an image and where the sock is)


@dataclass(eq=False)
class Showing:
    number: int                   # 1, 2, ... in order of deciding, unique across a camera's sessions
    label: str
    look: np.ndarray | None
    partner: int | None = None    # the number of the showing it was matched with


@dataclass
class _Open:
    held: list = field(default_factory=list)        # Observations not yet published
    sock_frames: int = 0
    last_sock_ts: int = 0
    samples: list = field(default_factory=list)     # (position among sock frames, sample)
    stride: int = 1
    showing: Showing | None = None                  # decided early when the showing outgrew max_held

    @property
    def label(self) -> str | None:
        # Read through the showing: a correction (album.py) may relabel it while it is in view.
        return self.showing.label if self.showing else None


class Pool:
    """The earlier showings a new one is matched against, and the rule: one camera's session
    (the default), or every camera's that runs one model (the match service,
    ``match_service.py``). :meth:`decide` gives a look its showing: the partner's label when
    the most similar earlier unmatched showing clears the threshold, else a new sock."""

    def __init__(self, threshold: Threshold = Threshold(), numbers: Iterator[int] | None = None,
                 showing_numbers: Iterator[int] | None = None, lock: ContextManager | None = None,
                 prefix: str = LABEL_PREFIX):
        """``lock`` is held while a showing is decided, so a correction from another thread
        (album.py) never lands halfway through a match."""
        self.threshold = threshold
        self.showings: list[Showing] = []
        # One camera's sessions share their numbers, so a later session never reuses a label
        # (nor a showing number, which corrections name across sessions).
        self._numbers = numbers if numbers is not None else itertools.count(1)
        self._showing_numbers = showing_numbers if showing_numbers is not None else itertools.count(1)
        self._lock = lock if lock is not None else contextlib.nullcontext()
        self._prefix = prefix
        # The pool's spread: its showings' similarities to each other, its pairs left out.
        self._spread = Spread()

    def decide(self, look: np.ndarray | None, samples: list, started_ms: int) -> Showing:
        """``samples`` and ``started_ms`` are for pools that keep more than looks (RemotePool)."""
        with self._lock:
            showing = Showing(number=next(self._showing_numbers), label="", look=look)
            partner = self._best_partner(look) if look is not None else None
            if partner is not None:
                showing.label, showing.partner, partner.partner = partner.label, partner.number, showing.number
            else:
                showing.label = f"{self._prefix}{next(self._numbers)}"
            self.showings.append(showing)
            return showing

    def _best_partner(self, look: np.ndarray) -> Showing | None:
        """The most similar earlier unmatched showing, if it clears the threshold; the spread
        takes in ``look``'s similarities to every earlier showing but that partner."""
        earlier = [s for s in self.showings if s.look is not None]
        similarities = [float(look @ s.look) for s in earlier]
        free = [i for i, s in enumerate(earlier) if s.partner is None]
        best = max(free, key=lambda i: similarities[i], default=None)   # the first of equals
        if best is None:
            self._spread += Spread.of(similarities)
            return None
        others = self._spread + Spread.of(similarities[:best] + similarities[best + 1:])
        if similarities[best] >= self.threshold.value(others):
            self._spread = others
            return earlier[best]
        self._spread += Spread.of(similarities)
        return None


class ShowingMatcher(Generic[T]):
    """Feed observations in order with :meth:`add`; publish what it hands back, in order."""

    def __init__(self, look: Callable[[list], np.ndarray | None], settings: MatchSettings = MatchSettings(),
                 threshold: Threshold = Threshold(), numbers: Iterator[int] | None = None, *,
                 showing_numbers: Iterator[int] | None = None, lock: ContextManager | None = None,
                 on_decided: Callable[[Showing, list, int], None] | None = None, pool=None):
        """Showings are decided by ``pool`` (any object with Pool's ``decide`` and
        ``showings``); without one, by a :class:`Pool` of this session made from
        ``threshold``, ``numbers``, ``showing_numbers`` and ``lock``.
        ``on_decided(showing, samples, started_ms)`` hears of each showing as it is decided
        (the album keeps its crops)."""
        self.look_of = look
        self.settings = settings.validate()
        self.pool = pool if pool is not None else Pool(threshold, numbers, showing_numbers, lock)
        self.ghosts = 0
        self._on_decided = on_decided
        self._open: _Open | None = None

    @property
    def showings(self) -> list[Showing]:
        return self.pool.showings

    @property
    def threshold(self) -> Threshold:
        return self.pool.threshold

    @property
    def open_label(self) -> str | None:
        """The label of the showing in view if already decided (a long showing), else None."""
        current = self._open   # read once: the status is asked from other threads
        return current.label if current else None

    @property
    def holding(self) -> int:
        current = self._open
        return len(current.held) if current else 0

    def add(self, obs: Observation[T]) -> list[tuple[T, str]]:
        current = self._open
        if current is None:
            if not obs.sock:
                return [(obs.item, BLANK_LABEL)]
            current = self._open = _Open()
        if obs.sock:
            return self._add_sock(current, obs)
        if obs.ts_ms - current.last_sock_ts >= self.settings.end_gap_ms:
            return self._close() + [(obs.item, BLANK_LABEL)]
        current.held.append(obs)
        return []

    def flush(self) -> list[tuple[T, str]]:
        """Close the open showing (the stream ended): everything held, labelled."""
        return self._close() if self._open else []

    def _add_sock(self, current: _Open, obs: Observation[T]) -> list[tuple[T, str]]:
        current.sock_frames += 1
        current.last_sock_ts = obs.ts_ms
        if obs.sample is not None:
            self._keep_sample(current, obs)
        if current.label is not None:
            # Decided already: blank frames held since the last sock frame were inside the showing.
            out = [(held.item, current.label) for held in current.held] + [(obs.item, current.label)]
            current.held = []
            return out
        current.held.append(obs)
        if len(current.held) >= self.settings.max_held:
            showing = self._decide(current)
            out = [(held.item, showing.label) for held in current.held]
            current.held = []
            return out
        return []

    def _keep_sample(self, current: _Open, obs: Observation[T]) -> None:
        """Every ``stride``-th sock frame, the stride doubling whenever twice ``samples`` are
        kept: a bounded, evenly spread choice over a showing of any length."""
        position = current.sock_frames - 1
        if position % current.stride:
            return
        current.samples.append((position, obs.sample))
        if len(current.samples) >= 2 * self.settings.samples + 2:
            current.stride *= 2
            current.samples = [s for s in current.samples if s[0] % current.stride == 0]

    def _chosen_samples(self, current: _Open) -> list:
        """Up to ``samples`` of the kept frames, leaving out the first and last fifth (the
        sock coming in and going out, blurred and cut by the frame's edge)."""
        kept = current.samples
        if not kept:
            return []
        last = current.sock_frames
        middle = [s for s in kept if 0.2 * last <= s[0] < 0.8 * last] or kept
        picks = np.linspace(0, len(middle) - 1, min(self.settings.samples, len(middle))).round().astype(int)
        return [middle[i][1] for i in sorted(set(picks.tolist()))]

    def _close(self) -> list[tuple[T, str]]:
        current, self._open = self._open, None
        if current.label is None and current.sock_frames < self.settings.min_frames:
            self.ghosts += 1
            return [(held.item, BLANK_LABEL) for held in current.held]
        if current.label is None:
            self._decide(current)
        label = current.label
        last_sock = max((i for i, held in enumerate(current.held) if held.sock), default=-1)
        # Blank frames after the showing's last sock frame are the empty scene again.
        return [(held.item, label if i <= last_sock else BLANK_LABEL) for i, held in enumerate(current.held)]

    def _decide(self, current: _Open) -> Showing:
        samples = self._chosen_samples(current)
        started_ms = current.held[0].ts_ms if current.held else 0
        showing = current.showing = self.pool.decide(self.look_of(samples), samples, started_ms)
        if self._on_decided is not None:
            self._on_decided(showing, samples, started_ms)
        return showing
