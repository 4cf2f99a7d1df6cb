"""The bridge survives its parts failing: a Connect worker killed with SIGKILL mid-stream,
or the MQTT broker restarting, loses no message.

Each case runs its own worker (its own Connect group, MQTT topic and Kafka topic) on the
shared Kafka, so killing things disturbs no other test. Duplicates are counted and
reported (``-s`` / the junit property ``duplicates``); with exactly-once source support
there must be none.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid

import pytest

from socksort.connect import connector
from socksort.connect.registration import put_connector, wait_running
from socksort.net import free_port
from socksort.stack.traffic import KafkaTail, publish, seqs_of
from socksort.stack.worker import ConnectWorker
from tcp_proxy import TcpProxy

pytestmark = [pytest.mark.broker, pytest.mark.slow]

MESSAGES = 4000
RATE = 400  # per second: the stream is still flowing when the worker dies and while it is down
TRANSACTION_TIMEOUT_MS = 10_000


@contextlib.contextmanager
def _own_bridge(stack, broker, workdir, exactly_once: bool = True, via: TcpProxy | None = None,
                connect_timeout_s: int | None = None):
    """A worker + connector of this test's own, reaching ``broker`` directly or ``via`` a
    proxy; yields (worker, mqtt topic, kafka topic, device)."""
    run = uuid.uuid4().hex[:8]
    mqtt_topic, kafka_topic = f"resilience/{run}", f"resilience_{run}"
    host, port = (via.host, via.port) if via else (broker.host, broker.port)
    config = connector.mqtt_source_config(host, port, broker.username, broker.password,
                                          mqtt_topic=mqtt_topic, kafka_topic=kafka_topic)
    if connect_timeout_s is not None:
        config["mqtt.connect.timeout.seconds"] = str(connect_timeout_s)
    # A short transaction timeout: the killed worker's open transaction is aborted in seconds,
    # not Kafka's 60 (what survives the crash does not depend on how long that takes).
    worker = ConnectWorker(workdir, stack.bootstrap_servers, port=free_port(), exactly_once=exactly_once,
                           group_id=f"resilience-{run}", transaction_timeout_ms=TRANSACTION_TIMEOUT_MS)
    worker.die_with_parent = True
    try:
        worker.start()
        put_connector(worker.url, "resilience", config)
        wait_running(worker.url, "resilience")
        yield worker, mqtt_topic, kafka_topic, f"device-{run}"
    finally:
        worker.stop()


def _marker(device: str) -> bytes:
    return f'"device":"{device}"'.encode()


@pytest.mark.parametrize("exactly_once", [True, False], ids=["exactly-once", "at-least-once"])
def test_worker_killed_mid_stream_loses_no_message(stack, tmp_path, exactly_once, record_property):
    with _own_bridge(stack, stack.mosquitto, tmp_path / "worker", exactly_once) as (worker, mqtt_topic,
                                                                                      kafka_topic, device):
        with KafkaTail(stack.bootstrap_servers, kafka_topic) as tail:
            publisher = threading.Thread(target=publish, args=(stack.mqtt_url, device, MESSAGES),
                                         kwargs={"topic": mqtt_topic, "rate": RATE})
            publisher.start()
            assert len(tail.wait_for(_marker(device), MESSAGES // 5, timeout=120)) >= MESSAGES // 5
            worker.kill()
            worker.start()
            wait_running(worker.url, "resilience")
            publisher.join(120)
            tail.wait_for(_marker(device), MESSAGES, timeout=180)
            time.sleep(2)  # let any late duplicate arrive before counting
            seqs = seqs_of(tail.matching(_marker(device)))

    duplicates = len(seqs) - len(set(seqs))
    record_property("duplicates", duplicates)
    print(f"\n{'exactly-once' if exactly_once else 'at-least-once'}: {len(seqs)} records for "
          f"{MESSAGES} messages after a SIGKILL, {duplicates} duplicates")
    assert sorted(set(seqs)) == list(range(MESSAGES)), "messages were lost"
    if exactly_once:
        repeated = sorted({seq for seq in seqs if seqs.count(seq) > 1})
        assert duplicates == 0, f"repeated seqs: {repeated[:20]}"


def test_connector_resumes_after_the_mqtt_broker_restarts(stack, mosquitto, tmp_path):
    with _own_bridge(stack, mosquitto, tmp_path / "worker", connect_timeout_s=5) as (worker, mqtt_topic,
                                                                                      kafka_topic, device):
        with KafkaTail(stack.bootstrap_servers, kafka_topic) as tail:
            publish(mosquitto.url, device, 300, topic=mqtt_topic)
            assert len(tail.wait_for(_marker(device), 300, timeout=60)) == 300
            mosquitto.restart()
            # Published while the connector is still reconnecting: the broker queues them
            # in its persistent session.
            publish(mosquitto.url, device, 300, topic=mqtt_topic, start_seq=300)
            tail.wait_for(_marker(device), 600, timeout=120)
            time.sleep(1)
            seqs = seqs_of(tail.matching(_marker(device)))
    assert seqs == list(range(600))


def test_a_reconnect_the_broker_never_answers_is_abandoned_and_tried_again(stack, mosquitto, tmp_path):
    # Paho's own reconnect waited on such a socket until the broker dropped it (95 s with
    # Mosquitto, forever here): the task must give up on it after the connect timeout.
    with TcpProxy(mosquitto.host, mosquitto.port) as proxy, \
            _own_bridge(stack, mosquitto, tmp_path / "worker", via=proxy, connect_timeout_s=2) as (
                worker, mqtt_topic, kafka_topic, device):
        with KafkaTail(stack.bootstrap_servers, kafka_topic) as tail:
            publish(mosquitto.url, device, 100, topic=mqtt_topic)
            assert len(tail.wait_for(_marker(device), 100, timeout=60)) == 100
            proxy.hold_next(1)
            proxy.cut()
            publish(mosquitto.url, device, 100, topic=mqtt_topic, start_seq=100)
            tail.wait_for(_marker(device), 200, timeout=60)
            time.sleep(1)
            seqs = seqs_of(tail.matching(_marker(device)))
        assert proxy.held == 1, "the connector never tried the silent connection"
    assert seqs == list(range(200))
