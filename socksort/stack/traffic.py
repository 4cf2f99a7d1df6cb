"""Traffic through the bridge, for its tests and benchmark: predictions published to MQTT
by a made-up device, and the Kafka records read back for that device.

A shared stack carries other tests' messages too, so everything here is scoped to one
``device`` id and to the records after the topic's end at the time the reader starts.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

from socksort import contract, mqtt

# confluent-kafka (0.2 s to import with its admin client) is imported where Kafka is read.


def prediction(device: str, seq: int, ts: int | None = None) -> bytes:
    """A schema-valid prediction payload (see socksort.schema)."""
    return json.dumps({"image": "Google", "probability": 97.5, "ts": ts if ts is not None else int(time.time() * 1000),
                       "device": device, "seq": seq,
                       "top": [{"label": "Google", "probability": 97.5}]}, separators=(",", ":")).encode()


def publish(url: str, device: str, count: int, topic: str = contract.MQTT_TOPIC, rate: float | None = None,
            start_seq: int = 0, stop: threading.Event | None = None) -> dict[int, float]:
    """Publish ``count`` predictions at QoS 1 (at ``rate`` per second, or as fast as the
    broker acknowledges); wait for every PUBACK; return {seq: publish time (epoch s)}."""
    client = mqtt.connect(url)
    sent: dict[int, float] = {}
    infos = []
    began = time.monotonic()
    try:
        for i in range(count):
            if stop is not None and stop.is_set():
                break
            if rate:
                delay = began + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            seq = start_seq + i
            now = time.time()
            sent[seq] = now
            infos.append(client.publish(topic, prediction(device, seq, int(now * 1000)), qos=1))
        for info in infos:
            info.wait_for_publish(60)
            if not info.is_published():
                raise TimeoutError(f"the broker did not acknowledge a publish from {device}")
    finally:
        client.disconnect()
        client.loop_stop()
    return sent


@dataclass
class Record:
    key: bytes | None
    value: bytes
    timestamp_ms: int
    offset: int
    received: float  # epoch seconds when the consumer saw it
    headers: tuple[tuple[str, bytes], ...] = ()

    def header(self, name: str) -> bytes | None:
        """The last value of header ``name``, or None."""
        found = [value for key, value in self.headers if key == name]
        return found[-1] if found else None


class KafkaTail:
    """Reads ``topic`` from its current end (read_committed) on a background thread."""

    def __init__(self, bootstrap_servers: str, topic: str = contract.KAFKA_TOPIC):
        from confluent_kafka import Consumer, TopicPartition

        self.records: list[Record] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._consumer = Consumer({"bootstrap.servers": bootstrap_servers, "group.id": f"tail-{time.time_ns()}",
                                   "enable.auto.commit": False, "isolation.level": "read_committed",
                                   "fetch.wait.max.ms": 10})
        create_topic(bootstrap_servers, topic)
        self._consumer.assign([TopicPartition(topic, 0, self._end_offset(topic))])
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _end_offset(self, topic: str, timeout: float = 30) -> int:
        """The partition's end; a topic created a moment ago may not be in the client's
        metadata yet ("Unknown partition"), so ask again until it is."""
        from confluent_kafka import KafkaException, TopicPartition

        deadline = time.monotonic() + timeout
        while True:
            try:
                return self._consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=5)[1]
            except KafkaException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _run(self) -> None:
        # poll() returns as soon as one record is there; consume(n, timeout) would hold
        # records back until n arrived or the timeout passed, inflating measured latency.
        while not self._stop.is_set():
            msg = self._consumer.poll(0.2)
            if msg is None or msg.error():
                continue
            record = Record(msg.key(), msg.value(), msg.timestamp()[1], msg.offset(), time.time(),
                            tuple(msg.headers() or ()))
            with self._lock:
                self.records.append(record)

    def matching(self, marker: bytes) -> list[Record]:
        with self._lock:
            return [r for r in self.records if marker in r.value]

    def wait_for(self, marker: bytes, count: int, timeout: float) -> list[Record]:
        """Wait until ``count`` records contain ``marker`` (or the timeout); return those seen."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.matching(marker)
            if len(found) >= count:
                return found
            time.sleep(0.1)
        return self.matching(marker)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._consumer.close()

    def __enter__(self) -> "KafkaTail":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def create_topic(bootstrap_servers: str, topic: str) -> None:
    """Create ``topic`` with one partition if it does not exist (so its end can be read)."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    if topic in admin.list_topics(timeout=30).topics:
        return
    try:
        admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    except KafkaException as exc:
        if "TOPIC_ALREADY_EXISTS" not in str(exc):
            raise


def seqs_of(records: list[Record]) -> list[int]:
    return [json.loads(r.value)["seq"] for r in records]
