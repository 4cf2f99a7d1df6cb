"""Window assignment, grace defaults, EMIT FINAL timing and session-store expiry."""

from __future__ import annotations

from socksort.ksql.engine.state import Entry, Session, SessionStore, TimeWindowStore
from socksort.ksql.engine.windows import (DAY_MS, SessionFinalTrigger, TimeFinalTrigger, make_rule,
                                   time_window_starts)


def test_tumbling_record_belongs_to_exactly_one_window():
    assert time_window_starts(29_999, 30_000, 30_000) == [0]
    assert time_window_starts(30_000, 30_000, 30_000) == [30_000]


def test_hopping_record_belongs_to_every_overlapping_window_in_start_order():
    assert time_window_starts(6, 5, 2) == [2, 4, 6]


def test_no_window_starts_before_zero():
    assert time_window_starts(1, 5, 2) == [0]


def test_default_grace_is_a_day_minus_the_size_and_zero_for_emit_final():
    assert make_rule("TUMBLING", 1000, None, None, emit_final=False).grace == DAY_MS - 1000
    assert make_rule("TUMBLING", 1000, None, None, emit_final=True).grace == 0
    assert make_rule("SESSION", 2 * DAY_MS, None, None, emit_final=False).grace == 0


def test_time_windows_become_final_once_stream_time_passes_end_plus_grace():
    trigger = TimeFinalTrigger(make_rule("TUMBLING", 2, None, 1, emit_final=True))
    assert trigger.due_range(stream_time=2, max_stored_start=2) is None
    assert trigger.due_range(stream_time=3, max_stored_start=2) == (0, 0)
    assert trigger.due_range(stream_time=3, max_stored_start=2) is None


def test_time_windows_older_than_the_store_retention_are_never_emitted():
    trigger = TimeFinalTrigger(make_rule("TUMBLING", 2, None, 1, emit_final=True))
    lower, upper = trigger.due_range(stream_time=100, max_stored_start=100)
    assert lower == 100 - 3 and upper == 97


def test_sessions_become_final_after_gap_plus_grace():
    trigger = SessionFinalTrigger(make_rule("SESSION", 5, None, 6, emit_final=True))
    assert trigger.due_range(stream_time=11) is None
    assert trigger.due_range(stream_time=30) == (0, 18)
    assert trigger.due_range(stream_time=42) == (19, 30)


def test_session_store_finds_sessions_within_the_gap():
    store = SessionStore(retention=100)
    store.put("k", Session(0, 10, Entry([1], 10)))
    store.put("k", Session(50, 60, Entry([1], 60)))
    assert [(s.start, s.end) for s in store.find("k", 15 - 5, 15 + 5)] == [(0, 10)]


def test_session_store_forgets_sessions_past_retention():
    store = SessionStore(retention=90)
    store.put("k", Session(0, 0, Entry([1], 0)))
    store.put("k", Session(100, 100, Entry([1], 100)))
    assert store.find("k", -100, 200) == [store.sessions["k"][-1]]


def test_time_window_store_ranges_are_ordered_by_start_then_key():
    store = TimeWindowStore(retention=1000)
    store.put("b", 0, Entry([1], 0))
    store.put("a", 10, Entry([1], 10))
    store.put("a", 0, Entry([1], 0))
    assert [(start, key) for start, key, _ in store.range(0, 10)] == [(0, "a"), (0, "b"), (10, "a")]
