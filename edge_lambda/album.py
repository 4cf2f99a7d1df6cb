"""``socksort edge --match``: the camera's recent showings, each with a few crops of its sock,
and the person's corrections to what the matcher decided.

The dashboard shows the crops so a person can judge a pair, and corrects the matcher:

- **split** a pair: its later showing becomes a sock of its own (a new ``sock-<n>``), and both
  are free again, so a later showing can still join either;
- **join** two singles: the second takes the first's label, and they are a pair.

A correction changes the labels of frames published from then on (a long showing still in
view included), never of frames already published: the dashboard applies the same
corrections to the pair table the pipeline counted (``dashboard/corrections.py``).

The album spans the camera's sessions (a model swap starts a new session): showing numbers
and labels are unique across them. It keeps at most ``limit`` showings, dropping the
oldest and counting them.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from socksort import atomic
from socksort.edge_lambda.showings import LABEL_PREFIX, Showing
from socksort.errors import UserError


class LabelNumbers:
    """The n of ``sock-<n>``, going on where the camera's last run stopped: the next one is kept
    in a small file, so an edge restarted in the middle of a sorting session never hands out a
    label the pipeline has already counted (two different socks would make a false pair).
    Without a file, or when it cannot be written (a read-only bundle folder), numbers are
    counted in memory only and ``warn`` says so once."""

    def __init__(self, path: Path | None = None, warn: Callable[[str], None] = lambda text: None):
        self.path = Path(path) if path is not None else None
        self._warn = warn
        self._lock = threading.Lock()
        self._next = self._load()

    def __iter__(self) -> "LabelNumbers":
        return self

    def __next__(self) -> int:
        with self._lock:
            number, self._next = self._next, self._next + 1
            self._save()
            return number

    def _load(self) -> int:
        if self.path is None or not self.path.exists():
            return 1
        try:
            number = json.loads(self.path.read_text())["next_sock"]
            if not isinstance(number, int) or number < 1:
                raise ValueError(f"next_sock is {number!r}")
            return number
        except (ValueError, KeyError, TypeError, OSError) as exc:
            raise UserError(f"{self.path} is not the edge's match state ({exc}); move it away to "
                            "number socks from 1 again") from None

    def _save(self) -> None:
        if self.path is None:
            return
        try:
            atomic.write_json(self.path, {"next_sock": self._next})
        except OSError as exc:
            self._warn(f"cannot keep the sock numbers in {self.path} ({exc.strerror or exc}): a restart "
                       "will number socks from 1 again")
            self.path = None


class NoSuchSock(LookupError):
    """No showing the album keeps carries that label."""


class CannotCorrect(ValueError):
    """The correction does not fit what the showings are (a single to split, a pair to join)."""


@dataclass(frozen=True)
class Entry:
    """One showing as the album gives it out: a copy, safe to read on any thread."""
    number: int
    label: str
    partner: int | None
    started_ms: int
    crops: int                    # how many crops it holds (``crop(number, k)`` for k below)
    device: str | None = None     # the camera that saw it (kept by the match service)

    def to_dict(self) -> dict:
        entry = {"id": self.number, "label": self.label, "partner": self.partner,
                 "started_ms": self.started_ms, "crops": self.crops}
        if self.device is not None:
            entry["device"] = self.device
        return entry


@dataclass(frozen=True)
class Split:
    label: str                    # the pair's label, which its earlier showing keeps
    new_label: str                # the label its later showing carries from now on
    showing: int                  # the later showing's number

    def to_dict(self) -> dict:
        return {"label": self.label, "new_label": self.new_label, "showing": self.showing}


@dataclass(frozen=True)
class Join:
    label: str                    # the label both showings carry from now on
    joined: str                   # the label the second showing carried until now

    def to_dict(self) -> dict:
        return {"label": self.label, "joined": self.joined}


@dataclass
class _Kept:
    showing: Showing
    crops: tuple[bytes, ...]
    started_ms: int
    device: str | None


class Album:
    def __init__(self, numbers: Iterator[int] | None = None, limit: int = 256):
        if limit < 2:
            raise ValueError("the album must keep at least 2 showings")
        # Held by the matchers while they decide a showing (ShowingMatcher's ``lock``).
        self.lock = threading.RLock()
        self.numbers = numbers if numbers is not None else itertools.count(1)   # sock-<n>
        self.showing_numbers = itertools.count(1)
        self.dropped = 0
        self._kept: deque[_Kept] = deque()
        self._limit = limit

    def add(self, showing: Showing, crops: list[bytes], started_ms: int, device: str | None = None) -> None:
        with self.lock:
            self._kept.append(_Kept(showing, tuple(crops), started_ms, device))
            while len(self._kept) > self._limit:
                self._kept.popleft()
                self.dropped += 1

    def entries(self) -> list[Entry]:
        with self.lock:
            return [_entry(kept) for kept in self._kept]

    def crop(self, number: int, index: int) -> bytes | None:
        with self.lock:
            kept = next((k for k in self._kept if k.showing.number == number), None)
            if kept is None or not 0 <= index < len(kept.crops):
                return None
            return kept.crops[index]

    def split(self, label: str) -> Split:
        with self.lock:
            showings = self._labelled(label)
            if len(showings) < 2:
                raise CannotCorrect(f"{label} is a single showing: there is no pair to split")
            first, later = sorted(showings, key=lambda s: s.number)[:2]
            first.partner = later.partner = None
            later.label = f"{LABEL_PREFIX}{next(self.numbers)}"
            return Split(label, later.label, later.number)

    def join(self, label: str, other: str) -> Join:
        with self.lock:
            if label == other:
                raise CannotCorrect(f"cannot join {label} with itself")
            first, second = self._single(label), self._single(other)
            second.label = first.label
            first.partner, second.partner = second.number, first.number
            return Join(label, other)

    def _labelled(self, label: str) -> list[Showing]:
        showings = [k.showing for k in self._kept if k.showing.label == label]
        if not showings:
            raise NoSuchSock(f"no showing on this camera is labelled {label!r}")
        return showings

    def _single(self, label: str) -> Showing:
        showings = self._labelled(label)
        if len(showings) > 1 or showings[0].partner is not None:
            raise CannotCorrect(f"{label} is already a pair: split it first")
        return showings[0]


def _entry(kept: _Kept) -> Entry:
    showing = kept.showing
    return Entry(showing.number, showing.label, showing.partner, kept.started_ms, len(kept.crops), kept.device)
