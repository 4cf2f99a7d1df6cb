"""A connected paho-mqtt client from an ``mqtt://`` URL, shared by the tools that publish
to or read from the broker the way a camera would (tests, benchmarks, replay)."""

from __future__ import annotations

import threading

from socksort.config import MqttUrl, mqtt_url


def connect(url: str | MqttUrl, client_id: str = "", timeout: float = 15.0):
    """A paho-mqtt client connected with the URL's credentials (TLS for ``mqtts://``), its
    network loop running and up to 1000 QoS 1 messages in flight.

    Raises ``OSError`` if the broker cannot be reached and ``ConnectionError`` (an
    ``OSError`` too) if it sends no successful CONNACK within ``timeout`` seconds.
    """
    import paho.mqtt.client as mqtt

    parsed = url if isinstance(url, MqttUrl) else mqtt_url(url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    if parsed.username:
        client.username_pw_set(parsed.username, parsed.password)
    if parsed.tls:
        client.tls_set()
    client.max_inflight_messages_set(1000)
    connected = threading.Event()
    client.on_connect = lambda c, u, flags, reason, props: connected.set() if not reason.is_failure else None
    client.connect(parsed.host, parsed.port)
    client.loop_start()
    if not connected.wait(timeout):
        client.loop_stop()
        raise ConnectionError(f"no successful CONNACK from {parsed} within {timeout:g}s")
    return client
