"""Which frames go into the next model call: those already waiting, and not too old.

Plain functions over plain objects, so the rules are tested without a broker: a batch is
never waited for (the first frame is, then whatever else has arrived joins it), and with a
lag limit a frame older than it is skipped, not classified late.
"""

from __future__ import annotations

from dataclasses import dataclass

from socksort.edge_lambda.framewire import FrameRecord


def take_waiting(consumer, max_batch: int, wait_s: float, rebalanced=lambda: False) -> list:
    """Up to ``max_batch`` records: wait up to ``wait_s`` for the first, then take only what
    has already arrived (``consumer`` has confluent-kafka's ``poll`` and ``consume``).

    ``rebalanced()`` says (and forgets) whether partitions were revoked during the last call.
    Records a call returns come after any rebalance it ran, but records an earlier call
    returned belong to the old assignment: their partitions restart from the committed
    offsets, so keeping them would classify those frames twice. They are dropped.
    """
    first = consumer.poll(wait_s)
    rebalanced()
    if first is None:
        return []
    taken = [first]
    if max_batch > 1:
        more = consumer.consume(max_batch - 1, 0)
        if rebalanced():
            taken = []
        taken.extend(more)
    return taken


@dataclass(frozen=True)
class Split:
    fresh: list[FrameRecord]
    stale: list[FrameRecord]


def split_stale(frames: list[FrameRecord], now_ms: int, max_lag_s: float | None) -> Split:
    """Frames older than ``max_lag_s`` seconds at ``now_ms`` are stale; None keeps every frame."""
    if max_lag_s is None:
        return Split(list(frames), [])
    limit = max_lag_s * 1000.0
    fresh = [f for f in frames if now_ms - f.ts <= limit]
    stale = [f for f in frames if now_ms - f.ts > limit]
    return Split(fresh, stale)


def next_offsets(records) -> dict[tuple[str, int], int]:
    """(topic, partition) -> the offset after the last of ``records`` there: what a
    transaction commits for the records it consumed (each record has topic(), partition(), offset())."""
    ends: dict[tuple[str, int], int] = {}
    for record in records:
        key = (record.topic(), record.partition())
        ends[key] = max(ends.get(key, -1), record.offset() + 1)
    return ends
