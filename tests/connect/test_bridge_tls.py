"""MQTT over TLS → Kafka through the real Connect worker: our connector on an ssl:// URI with
a trust store (Confluent's mqtt.ssl.* keys) reads a TLS Mosquitto into Kafka, and the
worker's validation names the TLS key at fault."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from certificates import make_test_certificates, make_trust_store

from socksort.connect import connector
from socksort.connect.registration import validate, wait_running
from socksort.net import json_request as request
from socksort.stack.mosquitto import TlsFiles
from socksort.stack.traffic import KafkaTail, publish, seqs_of

pytestmark = pytest.mark.broker

STORE_PASSWORD = "changeit-test"


def trust_store(ca: TlsFiles, path: Path) -> Path:
    return make_trust_store(ca.cafile, path, STORE_PASSWORD)


@pytest.fixture(scope="module")
def trusted_store(tls_mosquitto, tmp_path_factory) -> Path:
    return trust_store(tls_mosquitto.tls, tmp_path_factory.mktemp("truststore") / "trust.p12")


def tls_config(broker, store: Path | None, kafka_topic: str = "data_mqtt_tls") -> dict[str, str]:
    """The stack's connector config, pointed at the broker's TLS listener with ``store``."""
    config = connector.mqtt_source_config(broker.host, broker.tls_port, broker.username, broker.password,
                                          kafka_topic=kafka_topic)
    config["mqtt.server.uri"] = f"ssl://{broker.host}:{broker.tls_port}"
    if store is not None:
        config["mqtt.ssl.trust.store.path"] = str(store)
        config["mqtt.ssl.trust.store.password"] = STORE_PASSWORD
    return config


@pytest.fixture(scope="module")
def tls_bridge(stack, tls_mosquitto, trusted_store):
    """A second connector on the shared worker: the TLS broker's sockfound → its own topic."""
    name = f"socksort-mqtt-tls-{uuid.uuid4().hex[:6]}"
    topic = f"data_mqtt_tls_{uuid.uuid4().hex[:6]}"
    request(f"{stack.connect_url}/connectors/{name}/config", "PUT", tls_config(tls_mosquitto, trusted_store, topic))
    try:
        wait_running(stack.connect_url, name)
        yield topic
    finally:
        request(f"{stack.connect_url}/connectors/{name}", "DELETE")


def test_messages_published_over_tls_arrive_in_kafka_once_in_order(stack, tls_mosquitto, tls_bridge):
    device = f"tls-{uuid.uuid4().hex[:8]}"
    marker = f'"device":"{device}"'.encode()
    with KafkaTail(stack.bootstrap_servers, tls_bridge) as tail:
        publish(tls_mosquitto.url, device, 500)
        tail.wait_for(marker, 500, timeout=120)
        records = tail.matching(marker)
    assert seqs_of(records) == list(range(500))


def test_a_config_with_the_brokers_ca_in_its_trust_store_validates_cleanly(stack, tls_mosquitto, trusted_store):
    assert validate(stack.connect_url, connector.CLASS, tls_config(tls_mosquitto, trusted_store)) == {}


def test_a_trust_store_without_the_brokers_ca_is_blamed_on_the_trust_store(stack, tls_mosquitto, tmp_path):
    stranger = trust_store(make_test_certificates(tmp_path / "other-ca"), tmp_path / "other.p12")
    errors = validate(stack.connect_url, connector.CLASS, tls_config(tls_mosquitto, stranger))
    assert list(errors) == ["mqtt.ssl.trust.store.path"]
    assert "not signed by a CA in the trust store" in errors["mqtt.ssl.trust.store.path"][0]


def test_an_ssl_uri_without_a_trust_store_falls_back_to_the_jvms_and_says_so(stack, tls_mosquitto):
    # The test CA is in no default trust store, so the JVM's own must refuse it.
    errors = validate(stack.connect_url, connector.CLASS, tls_config(tls_mosquitto, None))
    assert list(errors) == ["mqtt.ssl.trust.store.path"]
    assert "JVM's default trust store" in errors["mqtt.ssl.trust.store.path"][0]


def test_a_trust_store_file_that_does_not_exist_is_named(stack, tls_mosquitto, tmp_path):
    errors = validate(stack.connect_url, connector.CLASS, tls_config(tls_mosquitto, tmp_path / "missing.p12"))
    assert list(errors) == ["mqtt.ssl.trust.store.path"]
    assert "no such file" in errors["mqtt.ssl.trust.store.path"][0]


def test_a_wrong_trust_store_password_is_named(stack, tls_mosquitto, trusted_store):
    config = tls_config(tls_mosquitto, trusted_store)
    config["mqtt.ssl.trust.store.password"] = "not-the-password"
    errors = validate(stack.connect_url, connector.CLASS, config)
    assert list(errors) == ["mqtt.ssl.trust.store.password"]
