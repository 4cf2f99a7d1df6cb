"""The base of every hand-over point between the edge's threads: a condition to wait on,
and a close that wakes every waiter for good (how the threads learn to finish)."""

from __future__ import annotations

import threading
from typing import Generic, Iterator, TypeVar

T = TypeVar("T")


class Handoff:
    def __init__(self):
        self._cond = threading.Condition()
        self._closed = False

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed


class Broadcast(Handoff, Generic[T]):
    """The newest value for any number of readers. Each reader gets every value it is ready
    for and skips the ones that came while it was busy, so a slow reader slows only itself.

    ``waiting`` counts the readers blocked for a value newer than the current one: the
    producer can tell that somebody is ready before it spends anything on making a value.
    A publish serves them all, so the count drops to 0 at once rather than when each
    reader's thread gets round to waking up.
    """

    def __init__(self):
        super().__init__()
        self._value: T | None = None
        self._number = 0
        self._waiting = 0

    def publish(self, value: T) -> None:
        with self._cond:
            self._value = value
            self._number += 1
            self._waiting = 0   # every waiting reader is served by this value
            self._cond.notify_all()

    def latest(self) -> tuple[int, T | None]:
        with self._cond:
            return self._number, self._value

    @property
    def waiting(self) -> int:
        return self._waiting

    def next(self, timeout: float) -> T | None:
        """The first value published after this call (None if none comes within ``timeout``
        or the broadcast closes). The caller counts as waiting meanwhile, so a producer that
        makes values only for waiting readers makes one for it."""
        with self._cond:
            seen = self._number
            self._waiting += 1
            try:
                self._cond.wait_for(lambda: self._number != seen or self._closed, timeout)
            finally:
                if self._number == seen:   # not served: no longer waiting
                    self._waiting -= 1
            return self._value if self._number != seen else None

    def follow(self, stop: threading.Event | None = None, poll: float = 0.5) -> Iterator[T]:
        """Yield each value newer than the one yielded before, until closed or ``stop`` is set.

        ``poll`` bounds how long a reader sleeps before it notices ``stop``.
        """
        seen = 0
        while not self._closed and not (stop is not None and stop.is_set()):
            with self._cond:
                if self._number == seen and not self._closed:
                    self._waiting += 1
                    try:
                        self._cond.wait_for(lambda: self._number != seen or self._closed, poll)
                    finally:
                        if self._number == seen:   # not served (timeout or close): no longer waiting
                            self._waiting -= 1
                number, value = self._number, self._value
            if number != seen and value is not None:
                seen = number
                yield value
