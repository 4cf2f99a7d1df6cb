"""The project's Mosquitto: local, authenticated, persistent, and never someone else's."""

from __future__ import annotations

import queue
import socket
import time

import paho.mqtt.client as mqtt
import pytest
from mqtt_subscribe import subscribe_acked

from socksort.config import mqtt_url
from socksort.errors import UserError
from socksort.net import free_port
from socksort.stack.mosquitto import Mosquitto, connack

pytestmark = pytest.mark.broker


def _client(broker, client_id: str = "", clean: bool = True, password: str | None = None) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean)
    client.username_pw_set(broker.username, broker.password if password is None else password)
    return client


def _connect(client: mqtt.Client, broker) -> None:
    client.connect(broker.host, broker.port)
    client.loop_start()
    assert _wait_connected(client)


def _wait_connected(client: mqtt.Client, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not client.is_connected():
        time.sleep(0.02)
    return client.is_connected()


def test_url_carries_the_credentials_a_client_needs(mosquitto):
    parsed = mqtt_url(mosquitto.url)
    assert (parsed.host, parsed.port) == ("127.0.0.1", mosquitto.port)
    assert (parsed.username, parsed.password) == (mosquitto.username, mosquitto.password)
    assert connack(parsed.host, parsed.port, parsed.username, parsed.password) == 0


def test_anonymous_clients_are_refused(mosquitto):
    assert connack(mosquitto.host, mosquitto.port, None, None) == 5  # not authorised


def test_wrong_password_is_refused(mosquitto):
    assert connack(mosquitto.host, mosquitto.port, mosquitto.username, "not-the-password") == 5


def test_published_message_reaches_a_subscriber(mosquitto):
    received: queue.Queue = queue.Queue()
    sub = _client(mosquitto)
    sub.on_message = lambda c, u, msg: received.put(msg.payload)
    _connect(sub, mosquitto)
    subscribe_acked(sub, "sockfound")
    pub = _client(mosquitto)
    _connect(pub, mosquitto)
    try:
        pub.publish("sockfound", b'{"image": "Google"}', qos=1).wait_for_publish(10)
        assert received.get(timeout=10) == b'{"image": "Google"}'
    finally:
        for c in (pub, sub):
            c.disconnect()
            c.loop_stop()


def test_persistent_session_keeps_queued_messages_across_a_broker_restart(mosquitto):
    sub = _client(mosquitto, client_id="keeper", clean=False)
    _connect(sub, mosquitto)
    subscribe_acked(sub, "sockfound")
    sub.disconnect()
    sub.loop_stop()

    pub = _client(mosquitto)
    _connect(pub, mosquitto)
    for i in range(50):
        pub.publish("sockfound", str(i).encode(), qos=1).wait_for_publish(10)
    pub.disconnect()
    pub.loop_stop()

    mosquitto.restart()

    received: queue.Queue = queue.Queue()
    sub = _client(mosquitto, client_id="keeper", clean=False)
    sub.on_message = lambda c, u, msg: received.put(int(msg.payload))
    _connect(sub, mosquitto)
    try:
        got = [received.get(timeout=10) for _ in range(50)]
    finally:
        sub.disconnect()
        sub.loop_stop()
    assert got == list(range(50))


def test_generated_password_is_reused_by_the_next_start_in_the_same_folder(tmp_path):
    first = Mosquitto(tmp_path, port=free_port())
    second = Mosquitto(tmp_path, port=free_port())
    assert first.password == second.password


def test_a_port_held_by_another_process_is_reported_not_adopted(tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        broker = Mosquitto(tmp_path, port=port)
        with pytest.raises(UserError, match=rf"port {port} .* in use by pid \d+: .*python"):
            broker.start()
        assert broker.pid is None


def test_stop_ends_the_broker_process(tmp_path):
    from socksort.stack.processes import identify
    broker = Mosquitto(tmp_path, port=free_port()).start()
    pid = broker.pid
    broker.stop()
    assert identify(pid) is None
    assert broker.pid is None
