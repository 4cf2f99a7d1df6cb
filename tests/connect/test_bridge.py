"""MQTT → Kafka through the real stack: every message once, in order, bytes as published."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from socksort import contract, mqtt
from socksort.connect import connector
from socksort.connect.registration import connector_status
from socksort.net import json_request as request
from socksort.stack.traffic import KafkaTail, prediction, publish, seqs_of

pytestmark = pytest.mark.broker


def _device() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


def _marker(device: str) -> bytes:
    return f'"device":"{device}"'.encode()


def test_ten_thousand_messages_arrive_exactly_once_in_order(stack):
    device = _device()
    with KafkaTail(stack.bootstrap_servers) as tail:
        publish(stack.mqtt_url, device, 10_000)
        records = tail.wait_for(_marker(device), 10_000, timeout=180)
        time.sleep(1)  # anything extra (a duplicate) would arrive right behind
        records = tail.matching(_marker(device))
    assert seqs_of(records) == list(range(10_000))


def test_record_key_is_the_mqtt_topic_and_value_the_exact_payload(stack):
    device = _device()
    payload = prediction(device, 0, ts=1_700_000_000_000)
    with KafkaTail(stack.bootstrap_servers) as tail:
        client = mqtt.connect(stack.mqtt_url)
        client.publish(contract.MQTT_TOPIC, payload, qos=1).wait_for_publish(10)
        client.disconnect()
        client.loop_stop()
        [record] = tail.wait_for(_marker(device), 1, timeout=60)
    assert record.key == contract.MQTT_TOPIC.encode()
    assert record.value == payload


def test_record_timestamp_is_the_payloads_ts(stack):
    device = _device()
    with KafkaTail(stack.bootstrap_servers) as tail:
        publish(stack.mqtt_url, device, 1)
        [record] = tail.wait_for(_marker(device), 1, timeout=60)
    assert record.timestamp_ms == json.loads(record.value)["ts"]


def test_record_without_ts_is_stamped_with_its_arrival_time(stack):
    marker = f"no-ts-{uuid.uuid4().hex}".encode()
    with KafkaTail(stack.bootstrap_servers) as tail:
        before = int(time.time() * 1000)
        client = mqtt.connect(stack.mqtt_url)
        client.publish(contract.MQTT_TOPIC, b'{"note":"' + marker + b'"}', qos=1).wait_for_publish(10)
        client.disconnect()
        client.loop_stop()
        [record] = tail.wait_for(marker, 1, timeout=60)
    assert before - 1000 <= record.timestamp_ms <= int(time.time() * 1000) + 1000


def test_malformed_payload_passes_as_bytes_and_the_task_keeps_running(stack):
    device = _device()
    garbage = b"\xff\xfe not json {" + uuid.uuid4().bytes
    with KafkaTail(stack.bootstrap_servers) as tail:
        client = mqtt.connect(stack.mqtt_url)
        client.publish(contract.MQTT_TOPIC, garbage, qos=1).wait_for_publish(10)
        client.publish(contract.MQTT_TOPIC, prediction(device, 0), qos=1).wait_for_publish(10)
        client.disconnect()
        client.loop_stop()
        tail.wait_for(_marker(device), 1, timeout=60)
        values = [r.value for r in tail.records]
    assert garbage in values
    status = connector_status(stack.connect_url, connector.NAME)
    assert [task["state"] for task in status["tasks"]] == ["RUNNING"]


def test_connector_config_holds_a_file_reference_not_the_password(stack):
    config = request(f"{stack.connect_url}/connectors/{connector.NAME}/config")
    assert config["mqtt.password"].startswith("${file:")
    assert stack.mosquitto.password not in json.dumps(config)
