"""`socksort replay FILE.jsonl`: recorded predictions through the running stack.

Each line is one MQTT payload as the camera published it; only ``image`` and
``probability`` are required (the seed's cameras send nothing else). They go to MQTT
``sockfound`` (through Kafka Connect, as live frames do) or straight to Kafka
``data_mqtt``, as fast as possible or at a multiple of their
recorded pace. Then it waits until every consumer group that reads ``data_mqtt`` (the
queries, on socksort's server or a real ksqlDB) has committed past the last record, and
returns the pair table.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

from socksort import contract, mqtt, progress
from socksort.errors import UserError
from socksort.ksql import kafka_io
from socksort.schema import Prediction, SchemaError


@dataclass(frozen=True)
class Frame:
    payload: bytes
    ts: int | None      # the payload's own time, when it has one
    copy_of: int | None = None   # the line number of the same frame (device, seq, ts) before it


def read_frames(path: Path) -> list[Frame]:
    """The file's payloads; a line that is not a prediction message stops with its number."""
    frames, seen = [], {}
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                prediction = Prediction.from_json(line)
            except SchemaError as exc:
                raise UserError(f"{path}:{number}: not a prediction message: {exc}") from None
            identity = (prediction.device, prediction.seq, prediction.ts)
            copy_of = seen.get(identity) if prediction.seq is not None else None
            seen.setdefault(identity, number)
            frames.append(Frame(line.strip(), prediction.ts, copy_of))
    if not frames:
        raise UserError(f"{path} holds no predictions")
    return frames


def paced(frames: list[Frame], speed: float | None):
    """Yield frames, sleeping so they keep their recorded spacing divided by ``speed``
    (frames without ``ts`` have no recorded spacing and go at once)."""
    began = time.monotonic()
    first = next((frame.ts for frame in frames if frame.ts is not None), None)
    for frame in frames:
        if speed and frame.ts is not None:
            delay = began + (frame.ts - first) / 1000 / speed - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        yield frame


def to_kafka(bootstrap: str, frames: list[Frame], speed: float | None) -> None:
    producer = kafka_io.Producer(bootstrap)
    for frame in paced(frames, speed):
        # As the connector does: the record time is the payload's ts, else the time now.
        producer.produce(contract.KAFKA_TOPIC, contract.MQTT_TOPIC.encode(), frame.payload, frame.ts)
        producer.poll()
    producer.flush()


def to_mqtt(url, frames: list[Frame], speed: float | None, ca_file: Path | None = None) -> None:
    """Publish at QoS 1 and wait for every PUBACK (over TLS, trusting ``ca_file``, for mqtts://)."""
    try:
        client = mqtt.connect(url, ca_file=ca_file)
    except OSError as exc:  # unreachable, or no successful CONNACK (a ConnectionError)
        raise UserError(f"cannot reach the MQTT broker at {url}: {exc}") from None
    try:
        infos = [client.publish(contract.MQTT_TOPIC, frame.payload, qos=1)
                 for frame in paced(frames, speed)]
        for info in infos:
            info.wait_for_publish(60)
            if not info.is_published():
                raise UserError(f"the MQTT broker at {url} did not acknowledge every frame")
    finally:
        client.disconnect()
        client.loop_stop()


def wait_delivered(bootstrap: str, before: dict[int, int], count: int, timeout: float) -> dict[int, int]:
    """Wait until ``count`` more records are in data_mqtt (Connect copies MQTT over)."""
    deadline = time.monotonic() + timeout
    while True:
        now = kafka_io.end_offsets(bootstrap, contract.KAFKA_TOPIC)
        if sum(now.values()) - sum(before.values()) >= count:
            return now
        if time.monotonic() > deadline:
            raise UserError(f"only {sum(now.values()) - sum(before.values())} of {count} frames "
                            f"reached Kafka topic {contract.KAFKA_TOPIC} within {timeout:g}s")
        time.sleep(0.2)


def is_query_group(group: str) -> bool:
    """Consumer groups of ksql queries: socksort's server, or ksqlDB's per-query groups."""
    return group.endswith(".queries") or (group.startswith("_confluent-ksql-") and "query" in group)


def wait_processed(bootstrap: str, ends: dict[int, int], timeout: float) -> None:
    """Wait until every query consumer group reading data_mqtt has committed up to ``ends``."""
    client = kafka_io.admin(bootstrap)
    deadline = time.monotonic() + timeout
    wanted = [TopicPartition(contract.KAFKA_TOPIC, p) for p in ends]
    while True:
        groups = [g.group_id for g in client.list_consumer_groups().result(10).valid
                  if is_query_group(g.group_id)]
        behind, readers = [], 0
        for group in groups:
            request = [ConsumerGroupTopicPartitions(group, wanted)]
            result = client.list_consumer_group_offsets(request)[group].result(10)
            offsets = {tp.partition: tp.offset for tp in result.topic_partitions if tp.offset >= 0}
            if not offsets:
                continue
            readers += 1
            if any(offsets.get(p, -1) < end for p, end in ends.items()):
                behind.append(group)
        if readers and not behind:
            return
        if time.monotonic() > deadline:
            if not readers:
                raise UserError(f"no query reads {contract.KAFKA_TOPIC}: run `socksort ksql-apply` first")
            raise UserError(f"queries still behind after {timeout:g}s: {', '.join(behind)}")
        time.sleep(0.2)


def replay(path: Path, via: str, speed: float | None, bootstrap: str, mqtt_url, timeout: float,
           ca_file: Path | None = None) -> None:
    frames = read_frames(path)
    before = kafka_io.end_offsets(bootstrap, contract.KAFKA_TOPIC)
    progress.step(f"replaying {len(frames)} frames from {path} via {via}")
    if via == "kafka":
        to_kafka(bootstrap, frames, speed)
    else:
        to_mqtt(mqtt_url, frames, speed, ca_file)
    progress.step(f"waiting for the queries to process {contract.KAFKA_TOPIC}")
    # The connector drops a redelivered frame (same device, seq and ts) before Kafka.
    expected = len(frames) if via == "kafka" else sum(f.copy_of is None for f in frames)
    ends = wait_delivered(bootstrap, before, expected, timeout)
    wait_processed(bootstrap, ends, timeout)

