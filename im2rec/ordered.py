"""Run a function over items on a few threads, yielding results in the items' order.

Used where OpenCV and NumPy do the work (they release the GIL) and the output must be
written in a fixed order: records in ``.lst`` order, photos in file-name order. Only a
few items per thread are in flight, so memory stays bounded however long the list.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

IN_FLIGHT_PER_THREAD = 4


def ordered_map(fn: Callable[[T], R], items: Iterable[T], threads: int) -> Iterator[tuple[T, R]]:
    """(item, fn(item)) for every item, in order; an exception in fn surfaces here."""
    pending = iter(items)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        window: deque = deque()
        try:
            while True:
                while len(window) < IN_FLIGHT_PER_THREAD * threads:
                    item = next(pending, _END)
                    if item is _END:
                        break
                    window.append((item, pool.submit(fn, item)))
                if not window:
                    return
                item, future = window.popleft()
                yield item, future.result()
        finally:
            for _, future in window:
                future.cancel()


_END = object()
