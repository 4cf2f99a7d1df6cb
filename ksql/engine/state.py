"""State stores of the aggregation operators.

Plain in-memory structures with the retention rules of Kafka Streams' segmented stores
that are visible in ksqlDB's results (SEMANTICS.md §5.5).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass


@dataclass(slots=True)
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


@dataclass(slots=True)
class Session:
    start: int
    end: int
    entry: Entry


class SessionStore:
    """group key → sessions; a session ending before (max end − retention + 1) is gone.

    A key's sessions never overlap (they are merged), so each list is kept sorted by end
    and lookups bisect instead of scanning the key's history.
    """

    def __init__(self, retention: int):
        self.retention = retention
        self.sessions: dict[object, list[Session]] = {}
        self.max_end: int | None = None
        self._puts = 0

    def _horizon(self) -> int | None:
        return None if self.max_end is None else self.max_end - self.retention + 1

    def find(self, key, earliest_end: int, latest_start: int) -> list[Session]:
        """Live sessions of key with end ≥ earliest_end and start ≤ latest_start."""
        items = self.sessions.get(key)
        if not items:
            return []
        if self.max_end is not None and self.max_end - self.retention + 1 > earliest_end:
            earliest_end = self.max_end - self.retention + 1
        last = items[-1]
        if last.end < earliest_end:
            return []
        if len(items) == 1 or items[-2].end < earliest_end:
            # In-order records touch only a key's newest session: no search.
            return [last] if last.start <= latest_start else []
        found = []
        for i in range(bisect.bisect_left(items, earliest_end, key=_end), len(items)):
            s = items[i]
            if s.start > latest_start:
                break
            found.append(s)
        return found

    def remove(self, key, session: Session) -> None:
        items = self.sessions.get(key)
        if items is None:
            return
        if items[-1] is session:
            items.pop()
            if not items:
                del self.sessions[key]
            return
        for i in range(bisect.bisect_left(items, session.end, key=_end), len(items)):
            if items[i] is session:
                del items[i]
                break
        if not items:
            del self.sessions[key]

    def put(self, key, session: Session, purge: bool = True) -> None:
        """Store a session; the caller has removed the sessions it replaces."""
        items = self.sessions.setdefault(key, [])
        if not items or items[-1].end <= session.end:
            items.append(session)               # insort would put it last as well
        else:
            bisect.insort(items, session, key=_end)
        if self.max_end is None or session.end > self.max_end:
            self.max_end = session.end
        self._puts += 1
        if purge and self._puts % 1024 == 0:
            self.drop_ended_before(self._horizon())

    def ended_between(self, lower: int, upper: int) -> list[tuple]:
        """Sessions (all keys) whose end is in [lower, upper], ordered by end then key.

        Used for EMIT FINAL, whose time-ordered store keeps sessions until they are emitted.
        """
        found = []
        for key, items in self.sessions.items():
            for i in range(bisect.bisect_left(items, lower, key=_end), len(items)):
                s = items[i]
                if s.end > upper:
                    break
                found.append((s.end, key, s))
        found.sort(key=lambda t: (t[0], _sort_key(t[1])))
        return found

    def drop_ended_before(self, t: int) -> None:
        """Forget sessions that ended before t."""
        for key in list(self.sessions):
            items = self.sessions[key]
            cut = bisect.bisect_left(items, t, key=_end)
            if cut:
                del items[:cut]
            if not items:
                del self.sessions[key]


def _end(session: Session) -> int:
    return session.end


def _sort_key(key):
    # Keys may mix None and values of one type; order None first, then by value.
    if isinstance(key, tuple):
        return tuple(_sort_key(k) for k in key)
    return (key is not None, key if key is not None else 0)
