"""`socksort replay FILE.jsonl`: recorded predictions through the running stack.

Each line is one MQTT payload as the camera published it; only ``image`` and
``probability`` are required (the seed's cameras send nothing else). They go to MQTT
``sockfound`` (through Kafka Connect, as live frames do) or straight to Kafka
``data_mqtt``, as fast as possible or at a multiple of their
recorded pace. Then it waits until the frames are in ``data_mqtt`` (it reads them back, so
the markers of Connect's transactions are not mistaken for frames) and until every
consumer group that reads ``data_mqtt`` (the queries, on socksort's server or a real
ksqlDB) has committed past them, and returns the pair table. Both waits go on as long as
something moves (frames arriving, committed offsets advancing) and give up only after a
stall, so a loaded machine is slow, not a failure.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

from socksort import contract, mqtt, progress
from socksort.errors import UserError
from socksort.ksql import kafka_io
from socksort.schema import Prediction, SchemaError


REPORT_EVERY_S = 15.0   # a long wait says how far along it is this often


@dataclass(frozen=True)
class Frame:
    payload: bytes
    ts: int | None      # the payload's own time, when it has one
    device: str | None = None
    seq: int | None = None


def read_frames(path: Path) -> list[Frame]:
    """The file's payloads; a line that is not a prediction message stops with its number."""
    frames = []
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                prediction = Prediction.from_json(line)
            except SchemaError as exc:
                raise UserError(f"{path}:{number}: not a prediction message: {exc}") from None
            frames.append(Frame(line.strip(), prediction.ts, prediction.device, prediction.seq))
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


class Stall:
    """How long the work done has not grown: waiting goes on while something moves.

    A loaded machine makes Connect and the queries slow, not stuck; a fixed deadline
    fails them anyway. ``note(now, done)`` is False once ``done`` has not grown for more
    than ``limit`` seconds.
    """

    def __init__(self, limit: float, now: float):
        self.limit = limit
        self.most: int | None = None
        self.since = now

    def note(self, now: float, done: int) -> bool:
        if self.most is None or done > self.most:
            self.most, self.since = done, now
        return now - self.since <= self.limit


@dataclass(frozen=True)
class Lag:
    """Where the query consumer groups stand against the offsets they must reach."""

    readers: tuple[str, ...]   # groups that committed an offset on the topic
    behind: tuple[str, ...]    # ... and have not reached the end yet
    records: int               # records still to consume, summed over the readers
    consumed: int              # committed offsets (up to the ends), summed: grows with progress

    @property
    def done(self) -> bool:
        return bool(self.readers) and not self.behind


def lag(committed: dict[str, dict[int, int]], ends: dict[int, int]) -> Lag:
    """The queries' lag from each group's committed offsets per partition (groups that
    committed nothing on the topic do not read it)."""
    readers = tuple(sorted(g for g, offsets in committed.items() if offsets))
    reached = {g: {p: min(committed[g].get(p, 0), end) for p, end in ends.items()} for g in readers}
    short = {g: sum(ends[p] - offset for p, offset in reached[g].items()) for g in readers}
    return Lag(readers, tuple(g for g in readers if short[g]), sum(short.values()),
               sum(sum(offsets.values()) for offsets in reached.values()))


def connector_writes(frames: list[Frame]) -> int:
    """How many of the frames, published in this order on one MQTT topic, socksort's MQTT
    source connector writes to Kafka.

    It takes a frame whose ``seq`` and ``ts`` are both at or below the last ones it wrote
    for that device for a QoS 1 redelivery Kafka already has, and skips it
    (connect/src/.../RedeliveryFilter.java); a frame without device, seq or ts is always
    written.
    """
    last: dict[str, tuple[int, int]] = {}
    written = 0
    for frame in frames:
        if frame.device is not None and frame.seq is not None and frame.ts is not None:
            previous = last.get(frame.device)
            if previous is not None and frame.seq <= previous[0] and frame.ts <= previous[1]:
                continue
            last[frame.device] = (frame.seq, frame.ts)
        written += 1
    return written


def wait_delivered(bootstrap: str, before: dict[int, int], frames: list[Frame], expected: int,
                   stall: float) -> dict[int, int]:
    """Wait until ``expected`` of the frames are in data_mqtt after ``before``, reading them
    back, for as long as more keep arriving; returns the topic's end offsets then."""
    skipped = len(frames) - expected
    progress.step(f"waiting for {expected} frames to reach Kafka topic {contract.KAFKA_TOPIC}"
                  + (f" (the connector skips {skipped} redelivered ones)" if skipped else ""))
    wanted = Counter(frame.payload for frame in frames)
    tail = kafka_io.Tail(bootstrap, contract.KAFKA_TOPIC, before)
    watch = Stall(stall, time.monotonic())
    arrived = 0
    try:
        while arrived < expected:
            for message in tail.read():
                if wanted[message.value] > 0:   # ours, not a live camera's
                    wanted[message.value] -= 1
                    arrived += 1
            if not watch.note(time.monotonic(), arrived):
                raise UserError(f"only {arrived} of {expected} frames reached Kafka topic {contract.KAFKA_TOPIC}, "
                                f"none more for {stall:g}s (is the MQTT connector running? see `socksort stack "
                                "status`; it also skips frames whose device, seq and ts Kafka already has, as "
                                "when a file is replayed twice: use --via kafka)")
    finally:
        tail.close()
    return kafka_io.end_offsets(bootstrap, contract.KAFKA_TOPIC)


def is_query_group(group: str) -> bool:
    """Consumer groups of ksql queries: socksort's server, or ksqlDB's per-query groups."""
    return group.endswith(".queries") or (group.startswith("_confluent-ksql-") and "query" in group)


def committed_offsets(client, partitions: list[int]) -> dict[str, dict[int, int]]:
    """Each query consumer group's committed offsets on data_mqtt's partitions."""
    wanted = [TopicPartition(contract.KAFKA_TOPIC, p) for p in partitions]
    groups = [g.group_id for g in client.list_consumer_groups().result(10).valid if is_query_group(g.group_id)]
    committed = {}
    for group in groups:
        result = client.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group, wanted)])[group].result(10)
        committed[group] = {tp.partition: tp.offset for tp in result.topic_partitions if tp.offset >= 0}
    return committed


def wait_processed(bootstrap: str, ends: dict[int, int], stall: float) -> None:
    """Wait until every query consumer group reading data_mqtt has committed up to ``ends``,
    for as long as their committed offsets keep advancing."""
    client = kafka_io.admin(bootstrap)
    offsets = ", ".join(f"{end} on partition {p}" for p, end in sorted(ends.items()))
    progress.step(f"waiting for the ksql queries to consume Kafka topic {contract.KAFKA_TOPIC} up to offset "
                  f"{offsets} (their consumer groups' committed offsets)")
    watch = Stall(stall, time.monotonic())
    told = time.monotonic()
    while True:
        state = lag(committed_offsets(client, list(ends)), ends)
        if state.done:
            return
        if time.monotonic() - told > REPORT_EVERY_S:
            told = time.monotonic()
            progress.step(f"still waiting: {', '.join(state.behind) or 'no query group yet'} "
                          f"{state.records} records behind on {contract.KAFKA_TOPIC}")
        if not watch.note(time.monotonic(), state.consumed):
            if not state.readers:
                raise UserError(f"no query reads {contract.KAFKA_TOPIC} (no consumer group committed an "
                                f"offset on it within {stall:g}s): run `socksort ksql-apply` first")
            raise UserError(f"the queries stopped consuming {contract.KAFKA_TOPIC}: {', '.join(state.behind)} "
                            f"still {state.records} records behind, with no progress for {stall:g}s")
        time.sleep(0.2)


def replay(path: Path, via: str, speed: float | None, bootstrap: str, mqtt_url, stall: float,
           ca_file: Path | None = None) -> None:
    """Publish the file's frames, then wait until the queries consumed them all; give up
    only when nothing has moved for ``stall`` seconds."""
    frames = read_frames(path)
    before = kafka_io.end_offsets(bootstrap, contract.KAFKA_TOPIC)
    progress.step(f"replaying {len(frames)} frames from {path} via {via}")
    if via == "kafka":
        to_kafka(bootstrap, frames, speed)
    else:
        to_mqtt(mqtt_url, frames, speed, ca_file)
    expected = len(frames) if via == "kafka" else connector_writes(frames)
    ends = wait_delivered(bootstrap, before, frames, expected, stall)
    wait_processed(bootstrap, ends, stall)

