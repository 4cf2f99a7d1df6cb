"""Window assignment, grace, store expiry and EMIT FINAL timing (SEMANTICS.md §5–§6).

Pure rules, no aggregation: the operators ask these which windows a record falls in,
whether it is late, and which stored windows are final now.
"""

from __future__ import annotations

from dataclasses import dataclass

DAY_MS = 86_400_000


@dataclass(frozen=True)
class WindowRule:
    kind: str            # TUMBLING, HOPPING, SESSION
    size: int            # ms (the inactivity gap for SESSION)
    advance: int         # ms (= size for TUMBLING; unused for SESSION)
    grace: int           # ms, after defaults


def make_rule(kind: str, size: int, advance: int | None, grace: int | None,
              emit_final: bool) -> WindowRule:
    if grace is None:
        # ksqlDB's default: 24 h minus the size/gap (never negative); EMIT FINAL: none.
        grace = 0 if emit_final else max(DAY_MS - size, 0)
    return WindowRule(kind, size, advance if kind == "HOPPING" else size, grace)


def time_window_starts(ts: int, size: int, advance: int) -> list[int]:
    """Starts of every window [start, start+size) containing ts, ascending, start ≥ 0."""
    last = (ts // advance) * advance
    lowest = ts - size + 1
    first = max(-(-lowest // advance) * advance, 0)
    return list(range(first, last + 1, advance)) if last >= first else []


class TimeFinalTrigger:
    """When time windows become final (Kafka Streams' emit-on-window-close)."""

    def __init__(self, rule: WindowRule):
        self.rule = rule
        self.last_emit: int | None = None

    def due_range(self, stream_time: int, max_stored_start: int | None) -> tuple[int, int] | None:
        """(lowest, highest) window start to emit now, or None. Call after every record."""
        size, advance, grace = self.rule.size, self.rule.advance, self.rule.grace
        close = stream_time - grace
        if self.last_emit is not None and self.last_emit >= close:
            return None
        upper = close - size
        if upper < 0:
            return None
        if self.last_emit is None:
            lower = 0
        else:
            lower = max(0, self.last_emit - size) + 1
            if (time_window_starts(upper, size, advance)
                    == time_window_starts(lower - 1, size, advance)):
                return None
        if max_stored_start is not None:
            lower = max(lower, max_stored_start - (size + grace))
        self.last_emit = close
        return (lower, upper)


class SessionFinalTrigger:
    """When session windows become final."""

    def __init__(self, rule: WindowRule):
        self.rule = rule
        self.last_emit: int | None = None

    def due_range(self, stream_time: int) -> tuple[int, int] | None:
        """(lowest, highest) session end to emit now, or None. Call after every record."""
        close = stream_time - self.rule.grace - self.rule.size
        if self.last_emit is not None and self.last_emit >= close:
            return None
        upper = close - 1
        if upper < 0:
            return None
        lower = 0 if self.last_emit is None else max(0, self.last_emit)
        if upper < lower:
            return None
        self.last_emit = close
        return (lower, upper)
