"""A poison message — a payload too large for Kafka — never stops the bridge.

The stack's Mosquitto drops a payload over the limit and still completes its QoS 1 flow, so
the camera moves on. A broker that lets it through (one without the limit, AWS IoT's own,
...) hands it to the connector, which under ``errors.tolerance=all`` puts it into the dead
letter topic and logs it, and goes on with the messages after it; under ``none`` it fails
the task, naming the message and the limit. Each connector here is this test's own, on the
shared Connect worker, and is deleted afterwards.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid

import pytest

from socksort import contract, mqtt
from socksort.connect import connector
from socksort.connect.registration import connector_status, failures, put_connector, wait_running
from socksort.net import free_port, json_request as request
from socksort.stack.mosquitto import Mosquitto
from socksort.stack.traffic import KafkaTail, prediction, publish, seqs_of

pytestmark = pytest.mark.broker

ONE_MIB = 1024 * 1024
LIMIT = contract.MQTT_MAX_PAYLOAD_BYTES


def _oversized(device: str, seq: int) -> bytes:
    """A prediction whose image field carries 1 MiB (a camera sending its frame by mistake)."""
    record = json.loads(prediction(device, seq))
    record["image"] = "x" * ONE_MIB
    return json.dumps(record).encode()


def _publish_one(url: str, payload: bytes, topic: str = contract.MQTT_TOPIC):
    """Publish at QoS 1; return the client (still connected) once the broker acknowledged."""
    client = mqtt.connect(url)
    info = client.publish(topic, payload, qos=1)
    info.wait_for_publish(30)
    return client, info


def _marker(device: str) -> bytes:
    return f'"device":"{device}"'.encode()


@contextlib.contextmanager
def _own_connector(stack, broker, **overrides):
    """A connector of this test's own from ``broker`` into fresh Kafka topics, with the stack's
    settings (plus ``overrides``); yields (name, kafka topic, dead letter topic)."""
    run = uuid.uuid4().hex[:8]
    name, topic = f"poison-{run}", f"poison_{run}"
    config = connector.mqtt_source_config(broker.host, broker.port, broker.username, broker.password,
                                          kafka_topic=topic, dead_letter_topic=f"{topic}_dlq")
    config.update(overrides)
    put_connector(stack.connect_url, name, config)
    try:
        yield name, topic, f"{topic}_dlq"
    finally:
        request(f"{stack.connect_url}/connectors/{name}", "DELETE")


@pytest.fixture
def unlimited_broker(tmp_path):
    """A Mosquitto that accepts any payload size (MQTT's own limit), as many brokers do."""
    broker = Mosquitto(tmp_path / "unlimited", port=free_port(), message_size_limit=0)
    broker.die_with_parent = True
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def test_the_stacks_mosquitto_drops_an_oversized_message_and_acknowledges_it(stack):
    device = f"poison-{uuid.uuid4().hex[:8]}"
    with KafkaTail(stack.bootstrap_servers) as tail:
        publisher, info = _publish_one(stack.mqtt_url, _oversized(device, 0))
        try:
            assert info.is_published(), "the broker never acknowledged the oversized message"
            assert publisher.is_connected()
        finally:
            publisher.disconnect()
            publisher.loop_stop()
        publish(stack.mqtt_url, device, 20, start_seq=1)
        arrived = tail.wait_for(_marker(device), 20, timeout=60)
    assert sorted(seqs_of(arrived)) == list(range(1, 21))
    status = connector_status(stack.connect_url, connector.NAME)
    assert [task["state"] for task in status["tasks"]] == ["RUNNING"]


def test_an_oversized_message_goes_to_the_dead_letter_topic_and_the_messages_after_it_arrive(
        stack, unlimited_broker):
    device = f"poison-{uuid.uuid4().hex[:8]}"
    poison = _oversized(device, 10)
    with _own_connector(stack, unlimited_broker) as (name, topic, dead_letters):
        wait_running(stack.connect_url, name)
        with KafkaTail(stack.bootstrap_servers, topic) as good, KafkaTail(stack.bootstrap_servers, dead_letters) as bad:
            publish(unlimited_broker.url, device, 10)
            client, info = _publish_one(unlimited_broker.url, poison)
            client.disconnect()
            client.loop_stop()
            publish(unlimited_broker.url, device, 20, start_seq=11)
            arrived = good.wait_for(_marker(device), 30, timeout=90)
            bad.wait_for(b"", 1, timeout=30)  # the topic is this test's own: every record counts
            time.sleep(1)  # anything late (a duplicate, the poison itself) would show now
            arrived, rejected = good.matching(_marker(device)), bad.matching(b"")
        status = connector_status(stack.connect_url, name)

    assert sorted(seqs_of(arrived)) == [*range(10), *range(11, 31)]
    assert [task["state"] for task in status["tasks"]] == ["RUNNING"]
    assert len(rejected) == 1
    dead = rejected[0]
    assert dead.value == poison[:LIMIT]
    assert int(dead.header("mqtt.payload.bytes")) == len(poison)
    assert dead.header("__connect.errors.exception.class.name") == \
        b"org.apache.kafka.common.errors.RecordTooLargeException"
    assert f"(device {device}, seq 10) is {len(poison)} bytes".encode() in \
        dead.header("__connect.errors.exception.message")
    logged = stack.connect.log_path.read_text()
    assert (f"sent to dead letter topic {dead_letters}: MQTT message" in logged
            and f"(device {device}, seq 10) is {len(poison)} bytes, over mqtt.max.payload.bytes={LIMIT}" in logged)


def test_without_error_tolerance_an_oversized_message_fails_the_task_naming_its_size(stack, unlimited_broker):
    device = f"poison-{uuid.uuid4().hex[:8]}"
    poison = _oversized(device, 0)
    with _own_connector(stack, unlimited_broker, **{"errors.tolerance": "none"}) as (name, topic, _):
        wait_running(stack.connect_url, name)
        client, _ = _publish_one(unlimited_broker.url, poison)
        client.disconnect()
        client.loop_stop()
        deadline = time.monotonic() + 60
        while not failures(status := connector_status(stack.connect_url, name)) and time.monotonic() < deadline:
            time.sleep(0.5)
    failed = failures(status)
    assert [f.part for f in failed] == ["task 0"]
    assert f"(device {device}, seq 0) is {len(poison)} bytes, over mqtt.max.payload.bytes={LIMIT}" in failed[0].trace
