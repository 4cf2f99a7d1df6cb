"""A connected paho-mqtt client from an ``mqtt://`` URL, shared by the tools that publish
to or read from the broker the way a camera would (tests, benchmarks, replay)."""

from __future__ import annotations

import ssl
import threading
from pathlib import Path

from socksort.config import MqttUrl, mqtt_url

# paho-mqtt (0.1 s to import) is imported where a client is made.


def new_client(url: MqttUrl, client_id: str = "", ca_file: str | Path | None = None):
    """A paho-mqtt client (v2 callbacks, clean session) set up with the URL's credentials
    and, for ``mqtts://``, TLS that requires the broker's certificate to chain to
    ``ca_file`` (PEM) or the system's CAs when it is None; not connected yet."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    if url.username:
        client.username_pw_set(url.username, url.password)
    if url.tls:
        client.tls_set(ca_certs=str(ca_file) if ca_file is not None else None, cert_reqs=ssl.CERT_REQUIRED)
    return client


def connect(url: str | MqttUrl, client_id: str = "", timeout: float = 15.0,
            ca_file: str | Path | None = None):
    """A paho-mqtt client connected with the URL's credentials (TLS for ``mqtts://``), its
    network loop running and up to 1000 QoS 1 messages in flight.

    Over TLS the broker's certificate must chain to ``ca_file`` (PEM; validate it with
    ``socksort.config.ca_certificate``), or to the system's CAs when it is None, and name
    the URL's host. ``ca_file`` means nothing to a plain ``mqtt://`` URL.

    Raises ``OSError`` if the broker cannot be reached and ``ConnectionError`` (an
    ``OSError`` too) if the TLS handshake fails or it sends no successful CONNACK within
    ``timeout`` seconds; messages are one line.
    """
    parsed = url if isinstance(url, MqttUrl) else mqtt_url(url)
    client = new_client(parsed, client_id, ca_file)
    client.max_inflight_messages_set(1000)
    connected = threading.Event()
    client.on_connect = lambda c, u, flags, reason, props: connected.set() if not reason.is_failure else None
    try:
        client.connect(parsed.host, parsed.port)
    except ssl.SSLCertVerificationError as exc:
        trusted = ca_file or "the system's CAs"
        raise ConnectionError(f"the broker's TLS certificate is not trusted by {trusted}: "
                              f"{exc.verify_message}") from None
    except ssl.SSLError as exc:
        raise ConnectionError(f"the TLS handshake failed (is {parsed.host}:{parsed.port} a TLS "
                              f"listener?): {exc.reason or exc}") from None
    except ConnectionResetError:
        if not parsed.tls:
            raise
        # A plain MQTT listener drops a TLS ClientHello as a malformed packet.
        raise ConnectionError(f"the broker closed the connection during the TLS handshake (is "
                              f"{parsed.host}:{parsed.port} a TLS listener?)") from None
    client.loop_start()
    if not connected.wait(timeout):
        client.loop_stop()
        raise ConnectionError(f"no successful CONNACK from {parsed} within {timeout:g}s")
    return client
