"""The server trusts its consumer's position only once librdkafka has caught up with a seek.

Found by CI: right after ``assign()`` with explicit offsets, librdkafka reports the position
from before the seek for a moment. A rebuild that read it thought an input read to its end
("commands ran past the end of their input") and could have committed offsets of records
never processed.
"""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from socksort.ksql.server.read_positions import ReadPositions

pytestmark = pytest.mark.broker


def consumer_of(bootstrap: str) -> Consumer:
    return Consumer({"bootstrap.servers": bootstrap, "group.id": f"reads-{uuid.uuid4().hex}",
                     "enable.auto.commit": False, "isolation.level": "read_committed",
                     "fetch.wait.max.ms": 20})


def poll_until(consumer, reads: ReadPositions, done, seconds: float = 30) -> list[int]:
    offsets, deadline = [], time.monotonic() + seconds
    while not done(offsets) and time.monotonic() < deadline:
        messages = [m for m in consumer.consume(100, timeout=0.05) if m.error() is None]
        reads.polled(consumer, {(m.topic(), m.partition()) for m in messages})
        offsets += [m.offset() for m in messages]
    return offsets


@pytest.fixture
def fifty_records(stack):
    topic = f"reads-{uuid.uuid4().hex[:8]}"
    producer = Producer({"bootstrap.servers": stack.bootstrap_servers})
    for i in range(50):
        producer.produce(topic, value=str(i).encode())
    assert producer.flush(30) == 0
    return topic


def test_a_position_from_before_a_seek_is_not_trusted(stack, fifty_records):
    consumer, reads = consumer_of(stack.bootstrap_servers), ReadPositions()
    partition = (fifty_records, 0)
    try:
        consumer.assign([TopicPartition(fifty_records, 0, 0)])
        poll_until(consumer, reads, lambda got: len(got) >= 50)
        assert reads.fresh(consumer, [partition]) == {partition: 50}

        reads.seeking(consumer, [partition])
        consumer.assign([TopicPartition(fifty_records, 0, 10)])
        assert reads.fresh(consumer, [partition]) == {}
    finally:
        consumer.close()


def test_the_position_counts_again_once_records_came_after_the_seek(stack, fifty_records):
    consumer, reads = consumer_of(stack.bootstrap_servers), ReadPositions()
    partition = (fifty_records, 0)
    try:
        consumer.assign([TopicPartition(fifty_records, 0, 0)])
        poll_until(consumer, reads, lambda got: len(got) >= 50)
        reads.seeking(consumer, [partition])
        consumer.assign([TopicPartition(fifty_records, 0, 10)])
        got = poll_until(consumer, reads, lambda got: bool(got))
        assert got and got[0] == 10
        assert reads.fresh(consumer, [partition]) == {partition: got[-1] + 1}
    finally:
        consumer.close()


def test_a_remainder_of_transaction_markers_only_still_reads_to_the_end(stack):
    topic = f"reads-tx-{uuid.uuid4().hex[:8]}"
    producer = Producer({"bootstrap.servers": stack.bootstrap_servers,
                         "transactional.id": f"reads-{uuid.uuid4().hex}"})
    producer.init_transactions()
    producer.begin_transaction()
    for i in range(10):
        producer.produce(topic, value=str(i).encode())
    producer.commit_transaction()     # offsets 0..9 records, 10 the commit marker
    consumer, reads = consumer_of(stack.bootstrap_servers), ReadPositions()
    partition = (topic, 0)
    try:
        reads.seeking(consumer, [partition])
        consumer.assign([TopicPartition(topic, 0, 10)])
        got = poll_until(consumer, reads, lambda _: reads.fresh(consumer, [partition]) != {}, 10)
        assert got == []
        assert reads.fresh(consumer, [partition]) == {partition: 11}
    finally:
        consumer.close()
