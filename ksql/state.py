"""State stores of the aggregation operators.

Plain in-memory structures with the retention rules of Kafka Streams' segmented stores
that are visible in ksqlDB's results (SEMANTICS.md §5.5).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Entry:
    """An aggregate's state for one group (and window): accumulators and output time."""
    accs: list
    ts: int
    keys: list | None = None        # the group's key column values, for emitting later


class TimeWindowStore:
    """(group key, window start) → Entry, forgetting windows older than size + grace."""

    def __init__(self, retention: int):
        self.retention = retention
        self.entries: dict[tuple, Entry] = {}
        self.max_start: int | None = None

    def get(self, key, start: int) -> Entry | None:
        return self.entries.get((key, start))

    def put(self, key, start: int, entry: Entry) -> None:
        self.entries[(key, start)] = entry
        if self.max_start is None or start > self.max_start:
            self.max_start = start
            self._expire()

    def _expire(self) -> None:
        horizon = self.max_start - self.retention
        if len(self.entries) > 64:
            for k in [k for k in self.entries if k[1] < horizon]:
                del self.entries[k]

    def range(self, lower: int, upper: int) -> list[tuple]:
        """Live windows with lower ≤ start ≤ upper, ordered by start then key."""
        found = [(start, key, e) for (key, start), e in self.entries.items()
                 if lower <= start <= upper]
        found.sort(key=lambda t: (t[0], _sort_key(t[1])))
        return found


@dataclass
class Session:
    start: int
    end: int
    entry: Entry


class SessionStore:
    """group key → sessions; a session ending before (max end − retention + 1) is gone."""

    def __init__(self, retention: int):
        self.retention = retention
        self.sessions: dict[object, list[Session]] = {}
        self.max_end: int | None = None

    def _live(self, s: Session) -> bool:
        return self.max_end is None or s.end >= self.max_end - self.retention + 1

    def find(self, key, earliest_end: int, latest_start: int) -> list[Session]:
        """Live sessions of key with end ≥ earliest_end and start ≤ latest_start."""
        return [s for s in self.sessions.get(key, ())
                if s.end >= earliest_end and s.start <= latest_start and self._live(s)]

    def remove(self, key, session: Session) -> None:
        items = self.sessions.get(key)
        if items is not None:
            items[:] = [s for s in items if s is not session]
            if not items:
                del self.sessions[key]

    def put(self, key, session: Session, purge: bool = True) -> None:
        items = self.sessions.setdefault(key, [])
        items[:] = [s for s in items if (s.start, s.end) != (session.start, session.end)
                    and (not purge or self._live(s))]
        items.append(session)
        if self.max_end is None or session.end > self.max_end:
            self.max_end = session.end

    def ended_between(self, lower: int, upper: int) -> list[tuple]:
        """Sessions (all keys) whose end is in [lower, upper], ordered by end then key.

        Used for EMIT FINAL, whose time-ordered store keeps sessions until they are emitted.
        """
        found = [(s.end, key, s) for key, items in self.sessions.items() for s in items
                 if lower <= s.end <= upper]
        found.sort(key=lambda t: (t[0], _sort_key(t[1])))
        return found

    def drop_ended_before(self, t: int) -> None:
        """Forget sessions that ended before t (already emitted as final)."""
        for key in list(self.sessions):
            items = [s for s in self.sessions[key] if s.end >= t]
            if items:
                self.sessions[key] = items
            else:
                del self.sessions[key]


def _sort_key(key):
    # Keys may mix None and values of one type; order None first, then by value.
    if isinstance(key, tuple):
        return tuple(_sort_key(k) for k in key)
    return (key is not None, key if key is not None else 0)
