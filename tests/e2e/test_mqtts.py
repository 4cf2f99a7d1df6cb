"""MQTT over TLS (mqtts://, as real Mosquitto and AWS IoT serve it on port 8883) end to end:
the real edge publishes predictions a TLS subscriber receives, `socksort replay` publishes
through the TLS broker into Kafka, and a broker whose certificate the given CA did not sign
is refused with one line naming why."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import uuid

import pytest
from certificates import make_test_certificates, make_trust_store
from mqtt_subscribe import subscribe_acked

from socksort import contract, mqtt
from socksort.connect import connector
from socksort.connect.registration import wait_running
from socksort.net import json_request as request
from socksort.stack.traffic import KafkaTail, prediction, seqs_of

pytestmark = [pytest.mark.broker, pytest.mark.slow]


class TlsSubscriber:
    """Collects the payloads of one device from ``sockfound``, subscribed over TLS."""

    def __init__(self, broker, device: str):
        self.device = device
        self.received: queue.Queue = queue.Queue()
        self.client = mqtt.connect(broker.tls_url, ca_file=broker.tls.cafile)
        self.client.on_message = lambda c, u, msg: self._keep(msg.payload)
        subscribe_acked(self.client, contract.MQTT_TOPIC)

    def _keep(self, payload: bytes) -> None:
        message = json.loads(payload)
        if message.get("device") == self.device:
            self.received.put(message)

    def take(self, count: int, timeout: float = 30) -> list[dict]:
        return [self.received.get(timeout=timeout) for _ in range(count)]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _last_line(result) -> str:
    return result.stderr.strip().splitlines()[-1]


def test_edge_publishes_every_prediction_over_mqtts_to_a_tls_subscriber(run_cli, tls_mosquitto, sock_model, sock_show):
    video, _ = sock_show
    device = f"mqtts-edge-{uuid.uuid4().hex[:6]}"
    subscriber = TlsSubscriber(tls_mosquitto, device)
    try:
        result = run_cli("edge", "--model", sock_model, "--source", video, "--mqtt-url", tls_mosquitto.tls_url,
                         "--tls-ca", tls_mosquitto.tls.cafile, "--device", device, "--http", "none",
                         "--unthrottled", "--frames", 20, "--threads", 1, "--json", timeout=300)
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert [(o["name"], o["published"], o["dropped"]) for o in report["outputs"]] == [("mqtt", 20, 0)]
        messages = subscriber.take(20)
    finally:
        subscriber.close()
    assert sorted(m["seq"] for m in messages) == list(range(20))


@pytest.fixture(scope="module")
def tls_into_data_mqtt(stack, tls_mosquitto, tmp_path_factory):
    """The shared stack's worker also reads the TLS broker (ssl:// + trust store) into
    data_mqtt, and the pipeline runs on its ksql engine: replay's whole path over TLS."""
    if not stack.ksql_url:
        pytest.fail("the stack has no ksql engine")
    store = make_trust_store(tls_mosquitto.tls.cafile, tmp_path_factory.mktemp("mqtts-trust") / "trust.p12", "test-pass")
    password = connector.write_secrets(tmp_path_factory.mktemp("mqtts-secrets") / "secrets.properties",
                                       tls_mosquitto.password)
    config = connector.mqtt_source_config(tls_mosquitto.host, tls_mosquitto.tls_port, tls_mosquitto.username,
                                          password)
    config.update({"mqtt.server.uri": f"ssl://{tls_mosquitto.host}:{tls_mosquitto.tls_port}",
                   "mqtt.ssl.trust.store.path": str(store), "mqtt.ssl.trust.store.password": "test-pass"})
    name = f"socksort-mqtts-e2e-{uuid.uuid4().hex[:6]}"
    request(f"{stack.connect_url}/connectors/{name}/config", "PUT", config)
    try:
        wait_running(stack.connect_url, name)
        # The pipeline as test_pipeline applies it (IF NOT EXISTS: applying twice is harmless).
        applied = subprocess.run([sys.executable, "-m", "socksort", "ksql-apply", "--url", stack.ksql_url,
                                  "--mqtt-url", stack.mqtt_url], capture_output=True, text=True, timeout=300,
                                 env={**os.environ, "SOCKSORT_HOME": str(stack.home)})
        assert applied.returncode == 0, applied.stderr
        yield stack
    finally:
        request(f"{stack.connect_url}/connectors/{name}", "DELETE")


def test_replay_over_mqtts_delivers_every_frame_into_kafka(run_cli, tls_mosquitto, tls_into_data_mqtt, tmp_path):
    stack = tls_into_data_mqtt
    device = f"mqtts-replay-{uuid.uuid4().hex[:6]}"
    frames = tmp_path / "frames.jsonl"
    frames.write_bytes(b"".join(prediction(device, seq, 1_700_000_000_000 + 100 * seq) + b"\n"
                                for seq in range(50)))
    marker = f'"device":"{device}"'.encode()
    with KafkaTail(stack.bootstrap_servers) as tail:
        result = run_cli("replay", frames, "--via", "mqtt", "--mqtt-url", tls_mosquitto.tls_url,
                         "--tls-ca", tls_mosquitto.tls.cafile, "--bootstrap", stack.bootstrap_servers,
                         "--url", stack.ksql_url, "--timeout", 120, timeout=300)
        assert result.returncode == 0, result.stderr
        # replay returned only after the queries processed the frames; they are in Kafka now.
        records = tail.wait_for(marker, 50, timeout=30)
    assert seqs_of(records) == list(range(50))
    assert isinstance(json.loads(result.stdout), list)  # the pair table replay prints


def test_replay_to_a_broker_whose_certificate_the_ca_did_not_sign_is_a_one_line_error(
        run_cli, tls_mosquitto, stack, tmp_path):
    stranger = make_test_certificates(tmp_path / "other-ca")
    frames = tmp_path / "frames.jsonl"
    frames.write_bytes(prediction("mqtts-untrusted", 0) + b"\n")
    result = run_cli("replay", frames, "--via", "mqtt", "--mqtt-url", tls_mosquitto.tls_url,
                     "--tls-ca", stranger.cafile, "--bootstrap", stack.bootstrap_servers,
                     "--url", stack.ksql_url or "http://127.0.0.1:1", "--timeout", 30)
    assert result.returncode == 2
    line = _last_line(result)
    assert line.startswith(f"socksort: error: cannot reach the MQTT broker at mqtts://socksort@127.0.0.1:"
                           f"{tls_mosquitto.tls_port}: the broker's TLS certificate is not trusted by {stranger.cafile}")
    assert tls_mosquitto.password not in result.stderr


def test_a_tls_ca_that_is_not_a_certificate_is_a_one_line_error_naming_the_flag(run_cli, tmp_path):
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate\n")
    frames = tmp_path / "frames.jsonl"
    frames.write_bytes(prediction("mqtts-bogus", 0) + b"\n")
    result = run_cli("replay", frames, "--mqtt-url", "mqtts://u:p@127.0.0.1:8883", "--tls-ca", bogus)
    assert result.returncode == 2
    assert "--tls-ca" in _last_line(result) and "not a PEM CA certificate" in _last_line(result)


def test_a_missing_ca_file_in_the_environment_names_the_variable(run_cli, tmp_path):
    frames = tmp_path / "frames.jsonl"
    frames.write_bytes(prediction("mqtts-missing", 0) + b"\n")
    missing = tmp_path / "nowhere.pem"
    result = run_cli("replay", frames, "--mqtt-url", "mqtts://u:p@127.0.0.1:8883",
                     env={"SOCKSORT_MQTT_CA": str(missing)})
    assert result.returncode == 2
    assert _last_line(result) == f"socksort: error: SOCKSORT_MQTT_CA={str(missing)!r}: no such file"
