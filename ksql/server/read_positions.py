"""Where the server's consumer will read next, trusted only once a record came after a seek.

The consumer's position, unlike "last offset processed + 1", steps over the transaction
markers an exactly-once producer (Kafka Connect) leaves in a topic, so it says when a
partition is read to its end. But after ``assign()`` with explicit offsets librdkafka
reports the position from before the seek until it has served the seek (then -1001, then
the new one), and nothing bounds how long that takes on a loaded machine. A stale position
past what was processed would end a rebuild early or commit offsets of records never
processed. So a partition's position counts again only once a record of it came since the
seek: librdkafka delivers no record fetched before a seek, and a delivered record sets the
position. A remainder of transaction markers only, where no record will come, is for the
caller to verify on its own (``kafka_io.holds_records``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from confluent_kafka import TopicPartition

Partition = tuple[str, int]


@dataclass
class ReadPositions:
    """The consumer's positions that can be trusted, partition by partition."""

    _sought: set[Partition] = field(default_factory=set)   # no record came since the seek

    def seeking(self, partitions) -> None:
        """Call when ``consumer.assign`` moves ``partitions``."""
        self._sought.update(partitions)

    def polled(self, came: set[Partition]) -> None:
        """Call after each poll with the partitions it returned records of."""
        self._sought -= came

    def sought(self, partition: Partition) -> bool:
        """Whether no record of ``partition`` came since it was last sought."""
        return partition in self._sought

    def fresh(self, consumer, partitions) -> dict[Partition, int]:
        """The positions of ``partitions`` that can be trusted now (none while unknown)."""
        settled = [tp for tp in partitions if tp not in self._sought]
        return {(tp.topic, tp.partition): tp.offset for tp in _positions(consumer, settled)
                if tp.offset >= 0}

    def forget(self, partitions) -> None:
        """Partitions no longer assigned."""
        self._sought -= set(partitions)


def _positions(consumer, partitions) -> list:
    if not partitions:
        return []
    return consumer.position([TopicPartition(t, p) for t, p in partitions])
