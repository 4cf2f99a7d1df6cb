"""Where the server's consumer will read next, trusted only once librdkafka has caught up
with a seek.

The consumer's position, unlike "last offset processed + 1", steps over the transaction
markers an exactly-once producer (Kafka Connect) leaves in a topic, so it says when a
partition is read to its end. But right after ``assign()`` with explicit offsets librdkafka
still reports the position from before the seek for a moment, then -1001, then the new one.
A stale position past what was processed would end a rebuild early (commands "past the end
of their input") or commit offsets of records never processed. So a partition's position
counts again only once it is fresh: a record of it came since the seek, its position
changed from the stale one, or a few polls went by (a remainder of transaction markers
only, where the fresh position can equal the stale one).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from confluent_kafka import TopicPartition

Partition = tuple[str, int]

SETTLE_POLLS = 5    # ~250 ms of polls at 50 ms; librdkafka resets within a few ms


@dataclass
class _Sought:
    stale: int          # what position() said just before the seek
    polls: int = 0


@dataclass
class ReadPositions:
    """The consumer's fresh positions, partition by partition."""

    _sought: dict[Partition, _Sought] = field(default_factory=dict)

    def seeking(self, consumer, partitions) -> None:
        """Call just before ``consumer.assign`` moves ``partitions``."""
        for tp in _positions(consumer, partitions):
            self._sought[(tp.topic, tp.partition)] = _Sought(tp.offset)

    def polled(self, consumer, came: set[Partition]) -> None:
        """Call after each poll with the partitions it returned records of."""
        if not self._sought:
            return
        for tp in _positions(consumer, list(self._sought)):
            key = (tp.topic, tp.partition)
            sought = self._sought[key]
            sought.polls += 1
            if key in came or tp.offset != sought.stale or sought.polls >= SETTLE_POLLS:
                del self._sought[key]

    def fresh(self, consumer, partitions) -> dict[Partition, int]:
        """The positions of ``partitions`` that can be trusted now (none while unknown)."""
        settled = [tp for tp in partitions if tp not in self._sought]
        return {(tp.topic, tp.partition): tp.offset for tp in _positions(consumer, settled)
                if tp.offset >= 0}

    def forget(self, partitions) -> None:
        """Partitions no longer assigned."""
        for key in partitions:
            self._sought.pop(key, None)


def _positions(consumer, partitions) -> list:
    if not partitions:
        return []
    return consumer.position([TopicPartition(t, p) for t, p in partitions])
