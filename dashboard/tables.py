"""What the dashboard knows of the ksql tables, rebuilt from push-query rows.

Both push queries start from the earliest offset, so every (re)start replays the table's
changelog and these classes begin empty each time (``clear``). Column names are matched
case-insensitively: ksqlDB upper-cases unquoted identifiers, but a user's pipeline may
quote them.
"""

from __future__ import annotations

import threading


def column(row: dict, name: str):
    """The value of column ``name`` in a row dict, whatever its case; None if absent."""
    if name in row:
        return row[name]
    wanted = name.upper()
    for key, value in row.items():
        if key.upper() == wanted:
            return value
    return None


class PairTable:
    """SOCK_PAIRS (IMAGE, PAIR_SEEN, NUMBER_SOCKS_SEEN), in the shape of ``pairs --json``."""

    def __init__(self):
        self._rows: dict[str, dict] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()

    def apply(self, row: dict) -> bool:
        """Upsert one changelog row; a row with no value columns is a deletion.

        Returns whether the table changed, so unchanged re-emissions send no event.
        """
        image = column(row, "IMAGE")
        if image is None:
            return False
        pair_seen = column(row, "PAIR_SEEN")
        count = column(row, "NUMBER_SOCKS_SEEN")
        with self._lock:
            if pair_seen is None and count is None:
                return self._rows.pop(image, None) is not None
            new = {"image": image, "pair_seen": pair_seen, "number_socks_seen": count}
            if self._rows.get(image) == new:
                return False
            self._rows[image] = new
            return True

    def snapshot(self) -> list[dict]:
        with self._lock:
            return [self._rows[image] for image in sorted(self._rows)]


# SOCK_SHOWINGS' time columns, in the order they are tried. A windowed table exposes
# WINDOWSTART/WINDOWEND; a stream of finished showings names its own bounds.
_START_COLUMNS = ("WINDOWSTART", "SHOWING_START", "START_TS", "FIRST_TS", "STARTED_AT")
_END_COLUMNS = ("WINDOWEND", "SHOWING_END", "END_TS", "LAST_TS", "ENDED_AT")


def showing_bounds(row: dict) -> tuple[int, int] | None:
    start = next((column(row, c) for c in _START_COLUMNS if column(row, c) is not None), None)
    end = next((column(row, c) for c in _END_COLUMNS if column(row, c) is not None), None)
    if start is None and end is None:
        return None
    start = start if start is not None else end
    end = end if end is not None else start
    try:
        return int(start), int(end)
    except (TypeError, ValueError):
        return None


class Showings:
    """The smoothed showings of the recent past, for the timeline."""

    def __init__(self, keep_ms: int = 120_000):
        self.keep_ms = keep_ms
        self._items: dict[tuple[str | None, int], dict] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def apply(self, row: dict) -> dict | None:
        """Record one SOCK_SHOWINGS row; returns the showing as sent to the page."""
        image = column(row, "IMAGE")
        bounds = showing_bounds(row)
        if image is None or bounds is None:
            return None
        device = column(row, "DEVICE")
        showing = {"image": image, "start": bounds[0], "end": bounds[1], "device": device}
        # A pipeline that says which showings SOCK_PAIRS counts (a COUNTED column) lets the
        # timeline dim the ones it filtered out; without the column every showing is drawn alike.
        counted = column(row, "COUNTED")
        if isinstance(counted, bool):
            showing["counted"] = counted
        with self._lock:
            # One showing per camera and start: its leading design may change while the
            # sock is still held, and the newer row replaces the older.
            self._items[(device, bounds[0])] = showing
            newest = max(item["end"] for item in self._items.values())
            for key in [k for k, item in self._items.items() if item["end"] < newest - self.keep_ms]:
                del self._items[key]
        return showing

    def snapshot(self) -> list[dict]:
        with self._lock:
            return sorted(self._items.values(), key=lambda item: item["start"])
