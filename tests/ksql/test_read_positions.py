"""The server trusts its consumer's position only once a record came after a seek.

After ``assign()`` with explicit offsets librdkafka reports the position from before the
seek until it has served the seek, and nothing bounds how long that takes. A rebuild that
read it would think an input read to its end, and a commit of it could name records never
processed.
"""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from socksort.ksql import kafka_io
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
        reads.polled({(m.topic(), m.partition()) for m in messages})
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


def read_all(consumer, reads: ReadPositions, topic: str) -> None:
    reads.seeking([(topic, 0)])
    consumer.assign([TopicPartition(topic, 0, 0)])
    assert len(poll_until(consumer, reads, lambda got: len(got) >= 50)) == 50


def test_a_position_from_before_a_seek_is_not_trusted(stack, fifty_records):
    consumer, reads = consumer_of(stack.bootstrap_servers), ReadPositions()
    partition = (fifty_records, 0)
    try:
        read_all(consumer, reads, fifty_records)
        assert reads.fresh(consumer, [partition]) == {partition: 50}

        reads.seeking([partition])
        consumer.assign([TopicPartition(fifty_records, 0, 10)])
        assert reads.fresh(consumer, [partition]) == {}
    finally:
        consumer.close()


def test_a_sought_partition_stays_untrusted_however_many_polls_bring_no_record(
        stack, fifty_records):
    consumer, reads = consumer_of(stack.bootstrap_servers), ReadPositions()
    partition = (fifty_records, 0)
    try:
        read_all(consumer, reads, fifty_records)
        reads.seeking([partition])
        consumer.assign([TopicPartition(fifty_records, 0, 50)])
        polls = iter(range(20))
        assert poll_until(consumer, reads, lambda _: next(polls, None) is None) == []
        assert reads.sought(partition)
        assert reads.fresh(consumer, [partition]) == {}
    finally:
        consumer.close()


def test_the_position_counts_again_once_records_came_after_the_seek(stack, fifty_records):
    consumer, reads = consumer_of(stack.bootstrap_servers), ReadPositions()
    partition = (fifty_records, 0)
    try:
        read_all(consumer, reads, fifty_records)
        reads.seeking([partition])
        consumer.assign([TopicPartition(fifty_records, 0, 10)])
        got = poll_until(consumer, reads, lambda got: bool(got))
        assert got and got[0] == 10
        assert reads.fresh(consumer, [partition]) == {partition: got[-1] + 1}
    finally:
        consumer.close()


def in_a_transaction(bootstrap: str) -> Producer:
    """A producer inside a transaction it has begun."""
    producer = Producer({"bootstrap.servers": bootstrap,
                         "transactional.id": f"reads-{uuid.uuid4().hex}"})
    producer.init_transactions()
    producer.begin_transaction()
    return producer


@pytest.fixture
def ten_in_a_transaction(stack):
    """A topic whose offsets 0..9 are records of one committed transaction, 10 its marker."""
    topic = f"reads-tx-{uuid.uuid4().hex[:8]}"
    producer = in_a_transaction(stack.bootstrap_servers)
    for i in range(10):
        producer.produce(topic, value=str(i).encode())
    producer.commit_transaction()
    return topic


def test_a_remainder_of_transaction_markers_only_holds_no_records(stack, ten_in_a_transaction):
    assert kafka_io.holds_records(stack.bootstrap_servers, ten_in_a_transaction, 0, 10, 11) \
        is False


def test_a_remainder_with_a_committed_record_holds_records(stack, ten_in_a_transaction):
    assert kafka_io.holds_records(stack.bootstrap_servers, ten_in_a_transaction, 0, 9, 11) is True


def test_a_transaction_still_open_leaves_the_remainder_unknown(stack):
    topic = f"reads-open-{uuid.uuid4().hex[:8]}"
    producer = in_a_transaction(stack.bootstrap_servers)
    producer.produce(topic, value=b"pending")
    assert producer.flush(30) == 0
    try:   # offset 0 is the transaction's record, not yet committed
        assert kafka_io.holds_records(stack.bootstrap_servers, topic, 0, 0, 1, timeout=1.0) is None
    finally:
        producer.abort_transaction()
