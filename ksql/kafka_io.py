"""The ksql stage's Kafka plumbing (the server's, and the pipeline's replay): topics, an
acknowledged producer, reading a topic back.

Thin wrappers over confluent-kafka so the server speaks in plain dataclasses and one-line
errors; nothing here knows about SQL.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicCollection, TopicPartition
from confluent_kafka import Producer as _Producer
from confluent_kafka.admin import AdminClient, NewTopic

from socksort.errors import UserError


@dataclass(frozen=True)
class Message:
    """One Kafka record as the server consumed it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int


def _client_config(bootstrap: str) -> dict:
    return {"bootstrap.servers": bootstrap, "socket.connection.setup.timeout.ms": 5000,
            **log_settings()}


# --- librdkafka's own logging -------------------------------------------------------------
# librdkafka prints a line for every failed connection attempt, ~200 before a client gives
# up on an unreachable broker, burying the one line that says what is wrong. By default
# its log stays below "critical" and its errors go to the `socksort.kafka` logger, once
# per kind a minute (the ksql server's log shows them; a command line tool has no handler
# for them); `--verbose` gives librdkafka's own log back.

log = logging.getLogger("socksort.kafka")
log.addHandler(logging.NullHandler())
_verbose = False


def set_verbose(verbose: bool) -> None:
    """``--verbose``: librdkafka's own log lines on stderr, for clients made afterwards."""
    global _verbose
    _verbose = verbose


def log_settings() -> dict:
    """The logging settings for a Kafka client's config (merge them into every client's)."""
    if _verbose:
        return {}
    return {"log_level": 2, "error_cb": _error_log}


class _ErrorLog:
    """Kafka client errors as one log line per kind a minute, not one per retry."""

    def __init__(self, every_s: float = 60.0):
        self.every_s = every_s
        self._last: dict[int, float] = {}

    def __call__(self, error) -> None:
        now = time.monotonic()
        if now - self._last.get(error.code(), -self.every_s) >= self.every_s:
            self._last[error.code()] = now
            log.warning("Kafka: %s", error.str())


_error_log = _ErrorLog()


def _reason(exc: Exception) -> str:
    """A KafkaException's message without its KafkaError{...} wrapping."""
    error = exc.args[0] if exc.args else None
    return error.str() if hasattr(error, "str") else str(exc)


def admin(bootstrap: str):
    return AdminClient(_client_config(bootstrap))


def topic_partitions(bootstrap_or_admin, timeout: float = 10.0) -> dict[str, int]:
    """Every topic on the cluster with its partition count."""
    client = admin(bootstrap_or_admin) if isinstance(bootstrap_or_admin, str) else bootstrap_or_admin
    try:
        metadata = client.list_topics(timeout=timeout)
    except Exception as exc:  # KafkaException carries a KafkaError; keep one line
        where = f" at {bootstrap_or_admin}" if isinstance(bootstrap_or_admin, str) else ""
        raise UserError(f"Kafka{where} did not answer within {timeout:g}s: {_reason(exc)}") from None
    return {name: len(t.partitions) for name, t in metadata.topics.items() if t.error is None}


def topic_ids(client, names, timeout: float = 10.0) -> dict[str, str]:
    """topic -> its Kafka topic id, for those of ``names`` that exist. A topic deleted and
    created again keeps its name but gets a new id (and offsets from 0 again)."""
    names = sorted(names)
    if not names:
        return {}
    ids = {}
    for name, future in client.describe_topics(TopicCollection(names),
                                               request_timeout=timeout).items():
        try:
            ids[name] = str(future.result(timeout).topic_id)
        except Exception as exc:  # KafkaException: a missing topic has no id
            if "UNKNOWN_TOPIC" not in str(exc):
                raise UserError(f"cannot describe Kafka topic {name}: {exc}") from None
    return ids


def create_topics(client, names: dict[str, int], timeout: float = 30.0) -> None:
    """Create the missing topics (name -> partitions); an existing topic is left as it is."""
    existing = topic_partitions(client)
    wanted = [NewTopic(name, num_partitions=count, replication_factor=1)
              for name, count in names.items() if name not in existing]
    if not wanted:
        return
    _settle(client.create_topics(wanted, operation_timeout=timeout), timeout, "create",
            "TOPIC_ALREADY_EXISTS")
    # Creation is acknowledged before the metadata shows the topic; wait for that.
    _wait_until(lambda: not set(names) - set(topic_partitions(client)), timeout,
                f"Kafka topics {sorted(names)} did not appear within {timeout:g}s")


def delete_topics(client, names: list[str], timeout: float = 30.0) -> None:
    """Delete topics and wait until they are gone, so a topic of the same name can follow."""
    if not names:
        return
    _settle(client.delete_topics(list(names), operation_timeout=timeout), timeout, "delete",
            "UNKNOWN_TOPIC")
    _wait_until(lambda: not set(names) & set(topic_partitions(client)), timeout,
                f"Kafka topics {sorted(names)} were still there {timeout:g}s after deletion")


def _settle(futures: dict, timeout: float, verb: str, harmless: str) -> None:
    """Wait for admin futures; an error naming ``harmless`` means it was done already."""
    for name, future in futures.items():
        try:
            future.result(timeout)
        except Exception as exc:
            if harmless not in str(exc):
                raise UserError(f"cannot {verb} Kafka topic {name}: {exc}") from None


def _wait_until(done, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise UserError(message)
        time.sleep(0.05)


class Producer:
    """An idempotent producer whose ``flush`` raises if any record was not acknowledged."""

    def __init__(self, bootstrap: str, linger_ms: int = 2, patient: bool = False):
        from confluent_kafka import Producer as _Producer

        # Delivery reports only for failures: a Python callback per record costs more
        # than the rest of the produce path. A patient producer keeps its records until
        # Kafka takes them, however long it is away (librdkafka's 0 = no timeout).
        self._producer = _Producer({**_client_config(bootstrap), "enable.idempotence": True,
                                    "acks": "all", "linger.ms": linger_ms,
                                    "compression.type": "none",
                                    "delivery.report.only.error": True,
                                    **({"message.timeout.ms": 0} if patient else {})})
        self._failures: list[str] = []

    def produce(self, topic: str, key: bytes | None, value: bytes | None, timestamp: int | None) -> None:
        while True:
            try:
                self._producer.produce(topic, value=value, key=key, timestamp=timestamp or 0,
                                       on_delivery=self._delivered)
                return
            except BufferError:  # the local queue is full: let it drain, then retry
                self._producer.poll(0.1)

    def _delivered(self, err, msg) -> None:
        if err is not None:
            self._failures.append(f"{msg.topic()}: {err}")

    def poll(self) -> None:
        self._producer.poll(0)

    def delivered(self, timeout: float = 30.0) -> bool:
        """Wait until every record produced so far is acknowledged or refused; the refusals
        stay for the next ``flush`` to report. False when some still wait after ``timeout``."""
        return self._producer.flush(timeout) == 0

    def flush(self, timeout: float = 30.0) -> None:
        remaining = self._producer.flush(timeout)
        if remaining:
            raise UserError(f"{remaining} records to Kafka were not acknowledged within {timeout:g}s")
        if self._failures:
            failures, self._failures = self._failures, []
            raise UserError(f"Kafka refused {len(failures)} records, first: {failures[0]}")


def end_offsets(bootstrap: str, topic: str, timeout: float = 10.0) -> dict[int, int]:
    """partition -> the offset the next record of ``topic`` will get."""
    count = topic_partitions(bootstrap).get(topic, 0)
    probe = Consumer({**_client_config(bootstrap), "group.id": "socksort-ksql-probe"})
    try:
        return {p: probe.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)[1]
                for p in range(count)}
    finally:
        probe.close()


def holds_records(bootstrap: str, topic: str, partition: int, start: int, end: int,
                  timeout: float = 3.0) -> bool | None:
    """Whether offsets ``start``..``end``-1 of a partition hold a committed record, or only
    transaction markers and aborted records; None when that cannot be told in time (a
    transaction still open, Kafka slow).

    A consumer of its own reads it: no earlier seek of another consumer can mislead its
    position, which steps over markers as a read_committed consumer's does."""
    if start >= end:
        return False
    probe = Consumer({**_client_config(bootstrap), "group.id": "socksort-ksql-probe",
                      "enable.auto.commit": False, "isolation.level": "read_committed",
                      "fetch.wait.max.ms": 20})
    try:
        probe.assign([TopicPartition(topic, partition, start)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = probe.poll(0.05)
            if msg is not None and msg.error() is None:
                return msg.offset() < end
            [position] = probe.position([TopicPartition(topic, partition)])
            if position.offset >= end:
                return False
        return None
    finally:
        probe.close()


def read_topic(bootstrap: str, topic: str, timeout: float = 30.0) -> list[Message]:
    """Every record of ``topic`` from the beginning up to its current end, per partition in order."""
    partitions = topic_partitions(bootstrap).get(topic)
    if partitions is None:
        return []
    consumer = Consumer({**_client_config(bootstrap), "group.id": "socksort-ksql-reader",
                        "enable.auto.commit": False, "enable.partition.eof": True})
    try:
        ends = {}
        for p in range(partitions):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
            if high > low:
                ends[p] = high
        if not ends:
            return []
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        records: list[Message] = []
        deadline = time.monotonic() + timeout
        done: set[int] = set()
        while len(done) < len(ends):
            if time.monotonic() > deadline:
                raise UserError(f"reading Kafka topic {topic} took longer than {timeout:g}s")
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error() is not None:
                if msg.error().code() == msg.error()._PARTITION_EOF:
                    done.add(msg.partition())
                continue
            if msg.offset() < ends[msg.partition()]:
                records.append(message_of(msg))
            if msg.offset() + 1 >= ends[msg.partition()]:
                done.add(msg.partition())
        return records
    finally:
        consumer.close()


class Tail:
    """The records appended to ``topic`` after ``start`` (partition -> offset), read as a
    ``read_committed`` consumer reads them: records of open or aborted transactions (and the
    transactions' own markers, which take offsets too) are never seen."""

    def __init__(self, bootstrap: str, topic: str, start: dict[int, int]):
        from confluent_kafka import Consumer, TopicPartition

        self._consumer = Consumer({**_client_config(bootstrap), "group.id": "socksort-tail",
                                   "enable.auto.commit": False, "isolation.level": "read_committed"})
        self._consumer.assign([TopicPartition(topic, p, offset) for p, offset in start.items()])

    def read(self, timeout: float = 0.2) -> list[Message]:
        """What arrived since the last read (waiting up to ``timeout`` for something)."""
        return [message_of(m) for m in self._consumer.consume(1000, timeout=timeout) if m.error() is None]

    def close(self) -> None:
        self._consumer.close()


def message_of(msg) -> Message:
    _kind, stamp = msg.timestamp()
    return Message(msg.topic(), msg.partition(), msg.offset(), msg.key(), msg.value(), stamp)
