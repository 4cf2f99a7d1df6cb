"""MQTT → Kafka through our connector: throughput and publish-to-record latency, one run.

A fresh stack (Mosquitto, Kafka KRaft, Connect with exactly-once source support and the
``socksort-mqtt`` connector) on free ports in a temporary folder. Two phases:

* burst: N predictions published at QoS 1 as fast as Mosquitto acknowledges them;
  throughput = N / (last record read from Kafka − first publish);
* paced: M predictions at a steady rate well below capacity; latency = the time the
  record was read from ``data_mqtt`` (read_committed) − the time it was published, p50/p99;
  once more through a second worker with exactly-once support off, to show what the
  per-poll transactions cost in latency.

The baseline is the same traffic into a plain MQTT subscriber on the same broker (no
Kafka), so the ratios say what the bridge costs on top of Mosquitto on this machine.

    .venv/bin/python benchmarks/run.py connect
    SOCKSORT_BENCH_CONNECT_MESSAGES=50000 .venv/bin/python benchmarks/run.py connect
"""

from __future__ import annotations

import contextlib
import os
import queue
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from socksort import contract, mqtt
from socksort.connect import connector
from socksort.connect.registration import put_connector, wait_running
from socksort.net import free_port
from socksort.progress import step
from socksort.stack import Ports, Stack
from socksort.stack.traffic import KafkaTail, publish, seqs_of
from socksort.stack.worker import ConnectWorker

BURST = int(os.environ.get("SOCKSORT_BENCH_CONNECT_MESSAGES", "20000"))
PACED = 2000
PACED_RATE = 200.0  # messages per second


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def _bridge(stack: Stack, count: int, rate: float | None, mqtt_topic: str = contract.MQTT_TOPIC,
            kafka_topic: str = contract.KAFKA_TOPIC) -> tuple[float, list[float]]:
    """(messages/s, per-message latencies in ms) through MQTT → Connect → Kafka."""
    device = f"bench-{uuid.uuid4().hex[:8]}"
    marker = f'"device":"{device}"'.encode()
    with KafkaTail(stack.bootstrap_servers, kafka_topic) as tail:
        sent = publish(stack.mqtt_url, device, count, topic=mqtt_topic, rate=rate)
        records = tail.wait_for(marker, count, timeout=600)
    if len(records) < count:
        raise RuntimeError(f"only {len(records)} of {count} messages reached Kafka")
    if sorted(seqs_of(records)) != list(range(count)):
        raise RuntimeError("records were lost or duplicated")
    latencies = [(r.received - sent[seq]) * 1000 for r, seq in zip(records, seqs_of(records))]
    elapsed = max(r.received for r in records) - min(sent.values())
    return count / elapsed, latencies


def _direct(stack: Stack, count: int, rate: float | None) -> tuple[float, list[float]]:
    """The baseline: the same publishing into a QoS 1 MQTT subscriber, no Kafka."""
    topic = f"bench/{uuid.uuid4().hex[:8]}"
    arrived: queue.Queue = queue.Queue()
    sub = mqtt.connect(stack.mqtt_url)
    sub.on_message = lambda c, u, msg: arrived.put(time.time())
    sub.subscribe(topic, qos=1)
    time.sleep(0.5)
    try:
        sent = publish(stack.mqtt_url, "bench-direct", count, topic=topic, rate=rate)
        received = [arrived.get(timeout=120) for _ in range(count)]
    finally:
        sub.disconnect()
        sub.loop_stop()
    ordered = [sent[i] for i in range(count)]
    latencies = [(got - pub) * 1000 for got, pub in zip(received, ordered)]
    return count / (max(received) - min(ordered)), latencies


def run() -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="bench-connect-") as home:
        ports = Ports(*_distinct_ports(5))
        stack = Stack(Path(home), ports, with_ksql=False, die_with_parent=True)
        stack.up()
        try:
            step("warm-up: 1000 messages through the bridge")
            _bridge(stack, 1000, None)
            step(f"burst: {BURST} messages through the bridge")
            bridge_rate, _ = _bridge(stack, BURST, None)
            step(f"burst: {BURST} messages into a plain MQTT subscriber (baseline)")
            direct_rate, _ = _direct(stack, BURST, None)
            step(f"paced: {PACED} messages at {PACED_RATE:g}/s through the bridge")
            _, bridge_lat = _bridge(stack, PACED, PACED_RATE)
            step(f"paced: {PACED} messages at {PACED_RATE:g}/s into a plain MQTT subscriber (baseline)")
            _, direct_lat = _direct(stack, PACED, PACED_RATE)
            step("the same paced traffic through a second worker without exactly-once support")
            with _at_least_once_worker(stack, Path(home)) as topics:
                _bridge(stack, 500, None, *topics)
                _, alo_lat = _bridge(stack, PACED, PACED_RATE, *topics)
        finally:
            stack.down()
    note = "exactly-once source support on; QoS 1; 1 partition; 2-core shared machine"
    p50, p99 = _percentile(bridge_lat, 50), _percentile(bridge_lat, 99)
    return [
        {"metric": "MQTT→Kafka throughput (burst)", "value": round(bridge_rate), "unit": "msg/s",
         "note": f"{BURST} messages; {note}"},
        {"metric": "MQTT→subscriber throughput (baseline)", "value": round(direct_rate), "unit": "msg/s",
         "note": "same publisher, plain paho subscriber"},
        {"metric": "bridge throughput / baseline", "value": round(bridge_rate / direct_rate, 3), "unit": "ratio",
         "note": ""},
        {"metric": "MQTT publish→Kafka record latency p50", "value": round(p50, 1), "unit": "ms",
         "note": f"{PACED} messages at {PACED_RATE:g}/s; read_committed consumer"},
        {"metric": "MQTT publish→Kafka record latency p99", "value": round(p99, 1), "unit": "ms", "note": ""},
        {"metric": "latency p50, at-least-once worker", "value": round(_percentile(alo_lat, 50), 1),
         "unit": "ms", "note": "same traffic, exactly.once.source.support=disabled"},
        {"metric": "latency p99, at-least-once worker", "value": round(_percentile(alo_lat, 99), 1),
         "unit": "ms", "note": ""},
        {"metric": "MQTT publish→subscriber latency p50 (baseline)",
         "value": round(statistics.median(direct_lat), 1), "unit": "ms", "note": ""},
        {"metric": "MQTT publish→subscriber latency p99 (baseline)",
         "value": round(_percentile(direct_lat, 99), 1), "unit": "ms", "note": ""},
    ]


@contextlib.contextmanager
def _at_least_once_worker(stack: Stack, home: Path):
    """A second Connect cluster on the same Kafka, transactions off, on topics of its own."""
    m = stack.mosquitto
    topics = ("bench/at-least-once", "bench_at_least_once")
    worker = ConnectWorker(home / "alo", stack.bootstrap_servers, port=free_port(), exactly_once=False,
                           group_id="bench-alo")
    worker.die_with_parent = True
    worker.start()
    try:
        put_connector(worker.url, "bench-alo", connector.mqtt_source_config(
            m.host, m.port, m.username, m.password, mqtt_topic=topics[0], kafka_topic=topics[1]))
        wait_running(worker.url, "bench-alo")
        yield topics
    finally:
        worker.stop()


def _distinct_ports(n: int) -> list[int]:
    chosen: list[int] = []
    while len(chosen) < n:
        port = free_port()
        if port not in chosen:
            chosen.append(port)
    return chosen


if __name__ == "__main__":
    for row in run():
        print(row)
