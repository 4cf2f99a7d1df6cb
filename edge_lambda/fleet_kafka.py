"""Kafka for the thin camera and the inference worker: where it is, and the topics they need.

``--bootstrap`` defaults to the running local stack's broker (``stack.json`` under the
runtime folder, which ``socksort stack up`` writes), else 127.0.0.1:9092. The frames topic
is created with :data:`~socksort.contract.FRAME_PARTITIONS` partitions when it is missing,
so a camera or worker started against a bare broker does not get Kafka's default of one
partition (which would leave every worker but one idle).
"""

from __future__ import annotations

import json
import time

from socksort import contract, net
from socksort.errors import UserError
from socksort.paths import runtime_dir

# confluent-kafka is imported inside the functions that talk to a broker.

STACK_STATE = "stack.json"   # socksort/stack/stack.py's record of the last `stack up`


def default_bootstrap() -> str:
    """The running local stack's Kafka, else 127.0.0.1:9092."""
    try:
        state = json.loads((runtime_dir() / STACK_STATE).read_text())
        host, port = state["host"], int(state["ports"]["kafka"])
    except (OSError, ValueError, KeyError, TypeError):
        return f"127.0.0.1:{contract.PORTS['kafka']}"
    if net.port_open(host, port):
        return f"{host}:{port}"
    return f"127.0.0.1:{contract.PORTS['kafka']}"


def client_config(bootstrap: str) -> dict:
    # librdkafka logs every failed connection attempt; the callers report what matters.
    return {"bootstrap.servers": bootstrap, "socket.connection.setup.timeout.ms": 5000, "log_level": 2,
            "error_cb": _ignore}


def _ignore(error) -> None:
    pass


def ensure_topics(bootstrap: str, topics: dict[str, int], timeout: float = 20.0,
                  configs: dict[str, dict] | None = None) -> None:
    """Create those of ``topics`` (name -> partitions) that do not exist yet, with
    ``configs[name]`` (topic settings) when given."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(client_config(bootstrap))
    try:
        existing = set(admin.list_topics(timeout=timeout).topics)
    except Exception as exc:  # KafkaException: no broker there
        raise UserError(f"Kafka at {bootstrap} did not answer within {timeout:g}s "
                        f"(start it with `socksort stack up`, or pass --bootstrap)") from exc
    wanted = [NewTopic(name, num_partitions=count, replication_factor=1, config=(configs or {}).get(name, {}))
              for name, count in topics.items() if name not in existing]
    if not wanted:
        return
    for name, future in admin.create_topics(wanted, operation_timeout=timeout).items():
        try:
            future.result(timeout)
        except Exception as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise UserError(f"cannot create Kafka topic {name} at {bootstrap}: {exc}") from None
    deadline = time.monotonic() + timeout
    while set(topics) - set(admin.list_topics(timeout=timeout).topics):
        if time.monotonic() > deadline:
            raise UserError(f"Kafka topics {sorted(topics)} did not appear at {bootstrap} within {timeout:g}s")
        time.sleep(0.1)


def latest_by_key(bootstrap: str, topic: str, timeout: float = 10.0) -> dict[str, bytes]:
    """The last value of each key of ``topic`` (one partition) up to its current end; keys
    whose last record is a tombstone are left out."""
    import uuid

    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer({**client_config(bootstrap), "group.id": f"socksort-reader-{uuid.uuid4().hex}",
                         "enable.auto.commit": False})
    try:
        meta = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
        if meta is None or meta.error is not None:
            return {}
        latest: dict[str, bytes | None] = {}
        for partition in meta.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout)
            if high <= low:
                continue
            consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
            deadline = time.monotonic() + timeout
            done = False
            while not done and time.monotonic() < deadline:
                for msg in consumer.consume(500, 0.2):
                    if msg.error() is None:
                        latest[(msg.key() or b"").decode("utf-8", "replace")] = msg.value()
                        done = done or msg.offset() + 1 >= high
        return {key: value for key, value in latest.items() if value is not None}
    finally:
        consumer.close()
