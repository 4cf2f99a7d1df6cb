"""What a consumer group has committed, for tests that wait until a server's outputs are in."""

from __future__ import annotations

from confluent_kafka import Consumer, TopicPartition


def committed_to_end(bootstrap: str, group: str, topic: str) -> bool:
    """Whether ``group`` committed every partition of ``topic`` to its end. A ksql server
    commits an input only once the outputs of its records are acknowledged, so this says
    that every record was processed and its outputs are in Kafka."""
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                      "enable.auto.commit": False})
    try:
        partitions = probe.list_topics(topic, timeout=10).topics[topic].partitions
        committed = probe.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
        return all(tp.offset >= probe.get_watermark_offsets(tp, timeout=10)[1] for tp in committed)
    finally:
        probe.close()
