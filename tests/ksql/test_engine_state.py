"""The session store answers as a plain scan over every stored session would."""

from __future__ import annotations

import random

import pytest

from socksort.ksql.engine.state import Entry, Session, SessionStore


class ScanStore:
    """The specification: a list per key, searched by looking at every session."""

    def __init__(self, retention: int):
        self.retention = retention
        self.sessions: dict = {}
        self.max_end = None

    def find(self, key, earliest_end, latest_start):
        horizon = None if self.max_end is None else self.max_end - self.retention + 1
        return [s for s in sorted(self.sessions.get(key, []), key=lambda s: s.end)
                if s.end >= earliest_end and (horizon is None or s.end >= horizon)
                and s.start <= latest_start]

    def remove(self, key, session):
        self.sessions[key] = [s for s in self.sessions.get(key, []) if s is not session]

    def put(self, key, session):
        self.sessions.setdefault(key, []).append(session)
        self.max_end = session.end if self.max_end is None else max(self.max_end, session.end)


@pytest.mark.parametrize("seed", range(40))
def test_session_store_finds_what_a_full_scan_finds(seed):
    """Records mostly in order, sometimes late, merged as the session operator merges them."""
    rng = random.Random(seed)
    gap, retention = rng.choice([(5, 50), (20, 10_000)])
    store, spec = SessionStore(retention), ScanStore(retention)
    t = 0
    for _ in range(400):
        key = rng.choice(["a", "b", ("c", 1)])
        t += rng.choice([1, 2, 3, 8, 30])
        ts = t - (rng.randrange(0, 60) if rng.random() < 0.2 else 0)
        found = store.find(key, ts - gap, ts + gap)
        assert [(s.start, s.end) for s in found] == \
            [(s.start, s.end) for s in spec.find(key, ts - gap, ts + gap)]
        start = min([ts] + [s.start for s in found])
        end = max([ts] + [s.end for s in found])
        for s in found:
            store.remove(key, s)
            spec.remove(key, s)
        merged = Session(start, end, Entry([], end))
        store.put(key, merged, purge=False)
        spec.put(key, merged)
