"""Which frames go into the next model call: those already waiting, and not too old.

Plain functions over plain objects, so the rules are tested without a broker: a batch is
never waited for (the first frame is, then whatever else has arrived joins it), and with a
lag limit a frame older than it is skipped, not classified late.
"""

from __future__ import annotations

from dataclasses import dataclass

from socksort.edge_lambda.framewire import FrameRecord


def take_waiting(consumer, max_batch: int, wait_s: float, rebalanced=lambda: False,
                 takes_slot=lambda record: True, most: int | None = None) -> list:
    """Up to ``max_batch`` records that ``takes_slot``: wait up to ``wait_s`` for the first,
    then take only what has already arrived (``consumer`` has confluent-kafka's ``poll`` and
    ``consume``). Records that take no slot (frames too old to classify, which cost next to
    nothing to skip) ride along, up to ``most`` records in all, so a worker behind catches
    up in a few turns instead of spending one turn on each frame it skips.

    ``rebalanced()`` says (and forgets) whether partitions were revoked during the last call.
    Records a call returns come after any rebalance it ran, but records an earlier call
    returned belong to the old assignment: their partitions restart from the committed
    offsets, so keeping them would classify those frames twice. They are dropped.
    """
    most = max(most or max_batch, max_batch)
    first = consumer.poll(wait_s)
    rebalanced()
    if first is None:
        return []
    taken = [first]
    slots = 1 if takes_slot(first) else 0
    while slots < max_batch and len(taken) < most:
        more = consumer.consume(min(max_batch - slots, most - len(taken)), 0)
        if rebalanced():
            taken, slots = [], 0
        if not more:
            break
        taken.extend(more)
        slots += sum(1 for record in more if takes_slot(record))
    return taken


def frame_ts(header_list) -> int | None:
    """The ``ts`` header as a number, None when it is missing or not a decimal (the record
    is refused later, with the reason)."""
    for name, raw in header_list or ():
        if name == "ts":
            return int(raw) if raw and raw.isdigit() else None
    return None


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
