"""Progress for long work: a bar for countable work, a line per step for waiting.

Both write to stderr so ``--json`` output on stdout stays machine-readable.
"""

from __future__ import annotations

import sys
import time
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")


def step(message: str) -> None:
    """One line saying what happens now (and, for waits, what it waits for)."""
    print(f"==> {message}", file=sys.stderr, flush=True)


class Bar:
    """A text progress bar; redraws in place on a terminal, prints every 10 % otherwise."""

    def __init__(self, total: int, label: str = "", width: int = 28, stream=None):
        self.total = max(total, 0)
        self.label = label
        self.width = width
        self.stream = stream or sys.stderr
        self.done = 0
        self.status = ""
        self.started = time.monotonic()
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_decile = -1

    def update(self, n: int = 1, status: str | None = None) -> None:
        self.done += n
        if status is not None:
            self.status = status
        self._draw()

    def _draw(self, final: bool = False) -> None:
        frac = self.done / self.total if self.total else 1.0
        decile = int(frac * 10)
        if not self._tty and not final and decile == self._last_decile:
            return
        self._last_decile = decile
        filled = int(frac * self.width)
        elapsed = time.monotonic() - self.started
        line = (f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] "
                f"{self.done}/{self.total} {elapsed:5.1f}s {self.status}").rstrip()
        if self._tty:
            self.stream.write("\r" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self, status: str | None = None) -> None:
        if status is not None:
            self.status = status
        self._draw(final=True)

    def __enter__(self) -> "Bar":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def bar(items: Iterable[T], total: int, label: str = "") -> Iterator[T]:
    with Bar(total, label) as progress:
        for item in items:
            yield item
            progress.update()
