"""The base of every hand-over point between the edge's threads: a condition to wait on,
and a close that wakes every waiter for good (how the threads learn to finish)."""

from __future__ import annotations

import threading


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
