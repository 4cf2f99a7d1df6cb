"""The ksql server on real Kafka: throughput of ksql/pipeline.ksql, and showing-to-pairs latency.

Throughput. The same simulated 30 FPS frames (several sessions) sit in a Kafka topic. The
baseline is a hand-written confluent-kafka consumer that does the work a minimal pair
counter must do: parse each JSON frame, drop blank ones, count per design, produce one
JSON update per counted frame, commit. The server runs the whole pipeline (segments,
votes, showings, pairs: several stateful queries, five output records per frame) over the
same topic from its beginning. Both are timed from start to "committed the last input
offset"; the figure is records/s and the ratio server / baseline (goal >= 0.5), and the
server's rate against a camera's 30 frames/s (goal >= 100x).

Latency. The whole stack (Mosquitto, Kafka, Connect, ksql-server) runs the pipeline; a
simulated session is published to MQTT at 30 FPS with each frame's ts = its publish time.
A consumer of SOCK_PAIRS records when each update arrives; an update's record time is the
time of the frame that caused it, so arrival - record time is publish-to-SOCK_PAIRS
latency. Reported for the updates that raise a design's count (the frame that completes a
showing; goal p99 < 500 ms) and for all updates.

    .venv/bin/python benchmarks/run.py ksql_server
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from socksort import progress
from socksort.ksql.pipeline import PIPELINE_SQL
from socksort.net import free_port

THROUGHPUT_SESSIONS = 6
CAMERA_FPS = 30


def _frames(count: int):
    """``count`` 30 FPS sessions, one hour apart so they never overlap in event time."""
    from socksort.ksql.pipeline.simulate import SessionSpec, simulate

    out = []
    for i in range(count):
        for frame in simulate(100 + i, SessionSpec(fps=CAMERA_FPS)).frames:
            out.append(frame.to_json().replace(f'"ts":{frame.ts}'.encode(),
                                               f'"ts":{frame.ts + i * 3_600_000}'.encode()))
    return out


def _produce(bootstrap: str, topic: str, payloads) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    for payload in payloads:
        while True:
            try:
                producer.produce(topic, value=payload, key=b"sockfound")
                break
            except BufferError:
                producer.poll(0.1)
    assert producer.flush(60) == 0


def _committed(bootstrap: str, group: str, topic: str) -> int:
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    request = [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0)])]
    result = admin.list_consumer_group_offsets(request)[group].result(10)
    return max([tp.offset for tp in result.topic_partitions] + [0])


def _baseline(bootstrap: str, topic: str, count: int) -> float:
    """Seconds a hand-written consumer needs to parse, filter, count and produce ``count`` frames."""
    from confluent_kafka import Consumer, Producer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"baseline-{uuid.uuid4().hex}",
                         "enable.auto.commit": False})
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 2, "enable.idempotence": True})
    counts: dict[str, int] = {}
    began = time.perf_counter()
    consumer.assign([TopicPartition(topic, 0, 0)])
    seen = 0
    while seen < count:
        batch = [m for m in consumer.consume(500, timeout=0.5) if m.error() is None]
        for msg in batch:
            frame = json.loads(msg.value())
            image = frame.get("image")
            if image and image != "Blank":
                counts[image] = counts.get(image, 0) + 1
                producer.produce(f"{topic}_baseline_counts", key=image.encode(),
                                 value=json.dumps({"IMAGE": image, "FRAMES": counts[image]}).encode())
            producer.poll(0)
        seen += len(batch)
        if batch:
            producer.flush()
            consumer.commit(asynchronous=False)
    elapsed = time.perf_counter() - began
    consumer.close()
    return elapsed


def _server_seconds(bootstrap: str, topic: str, count: int, workdir: Path) -> float:
    """Seconds the ksql server needs to run the pipeline over ``count`` frames already in ``topic``."""
    from socksort.ksql.client import rest_client

    command_topic = f"_bench_ksql_{uuid.uuid4().hex[:8]}"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(workdir / "ksql-server.log", "ab")
    child = subprocess.Popen([sys.executable, "-m", "socksort", "ksql-server", "--bootstrap",
                              bootstrap, "--listen", f"127.0.0.1:{port}", "--command-topic",
                              command_topic], stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait(lambda: _answers(f"{url}/healthcheck"), 60, "the ksql server")
        suffix = topic.removeprefix("data_mqtt_")
        sql = re.sub(r"KAFKA_TOPIC='([^']+)'", lambda m: f"KAFKA_TOPIC='{m.group(1)}_{suffix}'",
                     PIPELINE_SQL.read_text())
        # The request holds the server until every query exists, so the clock starts after it.
        rest_client.run(url, sql, {"auto.offset.reset": "earliest"})
        began = time.perf_counter()
        group = f"{command_topic}.queries"
        _wait(lambda: _committed(bootstrap, group, topic) >= count, 900, "the pipeline")
        return time.perf_counter() - began
    finally:
        child.terminate()
        child.wait(30)


def _answers(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return b'"isHealthy": true' in response.read()
    except OSError:
        return False


def _wait(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not finish within {timeout:g}s")
        time.sleep(0.05)


def throughput(workdir: Path) -> list[dict]:
    from socksort.stack.kafka import Kafka

    kafka = Kafka(workdir / "kafka", port=free_port(), controller_port=free_port())
    kafka.start()
    try:
        payloads = _frames(THROUGHPUT_SESSIONS)
        topic = f"data_mqtt_{uuid.uuid4().hex[:8]}"
        progress.step(f"throughput: {len(payloads)} frames in Kafka topic {topic}")
        _produce(kafka.bootstrap_servers, topic, payloads)
        base = len(payloads) / _baseline(kafka.bootstrap_servers, topic, len(payloads))
        progress.step(f"throughput: hand-written consumer {base:,.0f} records/s; now the server")
        server = len(payloads) / _server_seconds(kafka.bootstrap_servers, topic, len(payloads), workdir)
    finally:
        kafka.stop()
    note = f"{len(payloads)} frames of {THROUGHPUT_SESSIONS} simulated 30 FPS sessions"
    return [
        {"metric": "pipeline.ksql on ksql-server", "value": server, "unit": "records/s", "note": note},
        {"metric": "hand-written confluent-kafka counter", "value": base, "unit": "records/s",
         "note": "parse, drop Blank, count per design, produce, commit"},
        {"metric": "server / hand-written consumer", "value": server / base, "unit": "x",
         "note": "goal >= 0.5"},
        {"metric": "server / one camera (30 frames/s)", "value": server / CAMERA_FPS, "unit": "x",
         "note": "goal >= 100"},
    ]


def latency(workdir: Path) -> list[dict]:
    from confluent_kafka import Consumer, TopicPartition

    from socksort import config
    from socksort.stack import Ports, Stack
    from socksort.ksql.client import rest_client
    from socksort.ksql.pipeline.simulate import SessionSpec, simulate

    ports = []
    while len(ports) < 5:
        port = free_port()
        if port not in ports:
            ports.append(port)
    stack = Stack(workdir / "stack", Ports(*ports))
    stack.up()
    try:
        rest_client.run(stack.ksql_url, PIPELINE_SQL.read_text())
        arrivals: list[tuple[int, int, str, dict]] = []
        stop = threading.Event()
        consumer = Consumer({"bootstrap.servers": stack.bootstrap_servers,
                             "group.id": f"latency-{uuid.uuid4().hex}", "fetch.wait.max.ms": 5})
        consumer.assign([TopicPartition("SOCK_PAIRS", 0, -1)])  # from the end

        def collect():
            while not stop.is_set():
                msg = consumer.poll(0.05)
                if msg is not None and msg.error() is None and msg.value() is not None:
                    arrivals.append((int(time.time() * 1000), msg.timestamp()[1],
                                     msg.key().decode(), json.loads(msg.value())))

        reader = threading.Thread(target=collect)
        reader.start()
        # Many short showings: 48 completed showings in about two minutes.
        spec = SessionSpec(fps=CAMERA_FPS, designs=(6, 6), showings_per_design=(8, 8),
                           hold_s=(1.0, 1.5), gap_s=(1.0, 1.2))
        session = simulate(200, spec)
        progress.step(f"latency: publishing {len(session.frames)} frames to MQTT at {CAMERA_FPS} FPS")
        _publish_live(config.mqtt_url(stack.mqtt_url), session.frames)
        time.sleep(3)
        stop.set()
        reader.join()
        consumer.close()
    finally:
        stack.down()
    completing, everything = _latencies(arrivals)
    rows = []
    for label, values in (("showing completed -> SOCK_PAIRS", completing),
                          ("any frame -> SOCK_PAIRS update", everything)):
        if values:
            rows += [{"metric": f"{label} p50", "value": _percentile(values, 50), "unit": "ms",
                      "note": f"{len(values)} updates"},
                     {"metric": f"{label} p99", "value": _percentile(values, 99), "unit": "ms",
                      "note": "goal < 500 ms" if label.startswith("showing") else ""}]
    return rows


def _publish_live(url, frames) -> None:
    """Publish at QoS 1 at the recorded pace, each frame stamped with its publish time."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.username_pw_set(url.username, url.password)
    client.connect(url.host, url.port)
    client.loop_start()
    began, first = time.monotonic(), frames[0].ts
    infos = []
    for frame in frames:
        delay = began + (frame.ts - first) / 1000 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        now = int(time.time() * 1000)
        body = frame.to_json().replace(f'"ts":{frame.ts}'.encode(), f'"ts":{now}'.encode())
        infos.append(client.publish("sockfound", body, qos=1))
    for info in infos:
        info.wait_for_publish(30)
    client.disconnect()
    client.loop_stop()


def _latencies(arrivals) -> tuple[list[int], list[int]]:
    counts: dict[str, int] = {}
    completing, everything = [], []
    for arrived, stamp, image, value in arrivals:
        delay = arrived - stamp
        everything.append(delay)
        if value["NUMBER_SOCKS_SEEN"] > counts.get(image, 0):
            completing.append(delay)
        counts[image] = value["NUMBER_SOCKS_SEEN"]
    return completing, everything


def _percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return float(ordered[index])


def run() -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="bench-ksql-") as tmp:
        rows = throughput(Path(tmp))
        rows += latency(Path(tmp))
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
