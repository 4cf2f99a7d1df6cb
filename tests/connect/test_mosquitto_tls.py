"""The project's Mosquitto with a TLS listener next to the plain one: mqtts:// as real
brokers (and AWS IoT) serve it on port 8883, with the same password rule."""

from __future__ import annotations

import queue
import ssl

import pytest
from certificates import make_test_certificates
from mqtt_subscribe import subscribe_acked

from socksort import mqtt
from socksort.errors import UserError
from socksort.net import free_port
from socksort.stack.mosquitto import Mosquitto, connack

pytestmark = pytest.mark.broker


def _two_ports() -> tuple[int, int]:
    first = free_port()
    second = free_port()
    while second == first:
        second = free_port()
    return first, second


def _context(cafile) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cafile))


def test_test_certificate_verifies_against_its_ca_for_127_0_0_1_and_localhost(tmp_path):
    files = make_test_certificates(tmp_path)
    context = _context(files.cafile)
    # The server side of the check: the chain the broker will present, for both names.
    for host in ("127.0.0.1", "localhost"):
        server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.load_cert_chain(files.certfile, files.keyfile)
        client_in, client_out = ssl.MemoryBIO(), ssl.MemoryBIO()
        server_in, server_out = ssl.MemoryBIO(), ssl.MemoryBIO()
        client = context.wrap_bio(client_in, client_out, server_hostname=host)
        serving = server.wrap_bio(server_in, server_out, server_side=True)
        client_done = False
        for _ in range(10):  # a TLS 1.3 handshake needs two round trips
            for side in (client, serving):
                try:
                    side.do_handshake()
                    client_done = client_done or side is client
                except ssl.SSLWantReadError:
                    pass
            server_in.write(client_out.read())
            client_in.write(server_out.read())
            if client_done:
                break
        assert client_done, f"no completed handshake for {host}"


def test_tls_listener_accepts_our_credentials_with_a_verified_certificate(tls_mosquitto):
    code = connack(tls_mosquitto.host, tls_mosquitto.tls_port, tls_mosquitto.username, tls_mosquitto.password,
                   tls=_context(tls_mosquitto.tls.cafile))
    assert code == 0


def test_tls_listener_refuses_anonymous_clients(tls_mosquitto):
    assert connack(tls_mosquitto.host, tls_mosquitto.tls_port, None, None,
                   tls=_context(tls_mosquitto.tls.cafile)) == 5  # not authorised


def test_plain_listener_keeps_working_next_to_the_tls_one(tls_mosquitto):
    assert connack(tls_mosquitto.host, tls_mosquitto.port, tls_mosquitto.username, tls_mosquitto.password) == 0


def test_tls_url_names_the_tls_port_with_mqtts(tls_mosquitto):
    assert tls_mosquitto.tls_url.startswith("mqtts://")
    assert tls_mosquitto.tls_url.endswith(f"@127.0.0.1:{tls_mosquitto.tls_port}")


def test_a_broker_without_tls_has_no_tls_url_or_listener(mosquitto):
    assert mosquitto.tls_url is None
    assert not any(line.startswith(("cafile", "certfile", "keyfile"))
                   for line in mosquitto.config_path.read_text().splitlines())


def test_a_message_published_over_tls_reaches_a_plain_subscriber(tls_mosquitto):
    received: queue.Queue = queue.Queue()
    sub = mqtt.connect(tls_mosquitto.url)
    sub.on_message = lambda c, u, msg: received.put(msg.payload)
    subscribe_acked(sub, "sockfound")
    pub = mqtt.connect(tls_mosquitto.tls_url, ca_file=tls_mosquitto.tls.cafile)
    try:
        pub.publish("sockfound", b"over tls", qos=1).wait_for_publish(10)
        assert received.get(timeout=10) == b"over tls"
    finally:
        for client in (pub, sub):
            client.disconnect()
            client.loop_stop()


def test_a_certificate_from_another_ca_fails_the_readiness_handshake(tls_mosquitto, tmp_path):
    stranger = make_test_certificates(tmp_path / "other-ca")
    with pytest.raises(ssl.SSLCertVerificationError):
        connack(tls_mosquitto.host, tls_mosquitto.tls_port, tls_mosquitto.username, tls_mosquitto.password,
                tls=_context(stranger.cafile))


def test_missing_tls_files_are_a_one_line_error_naming_the_file(tmp_path):
    files = make_test_certificates(tmp_path / "tls")
    files.keyfile.unlink()
    port, tls_port = _two_ports()
    broker = Mosquitto(tmp_path / "mosquitto", port=port, tls=files, tls_port=tls_port)
    with pytest.raises(UserError, match=f"key file {files.keyfile} does not exist"):
        broker.start()
    assert broker.pid is None


def test_mqtts_to_the_plain_listener_is_an_error_asking_whether_it_is_a_tls_listener(tls_mosquitto):
    plain_as_tls = tls_mosquitto.url.replace("mqtt://", "mqtts://")
    with pytest.raises(ConnectionError, match=f"is 127.0.0.1:{tls_mosquitto.port} a TLS listener"):
        mqtt.connect(plain_as_tls, ca_file=tls_mosquitto.tls.cafile)


def test_mqtts_with_another_ca_names_the_ca_that_does_not_trust_the_broker(tls_mosquitto, tmp_path):
    stranger = make_test_certificates(tmp_path / "other-ca")
    with pytest.raises(ConnectionError, match=f"not trusted by {stranger.cafile}: "):
        mqtt.connect(tls_mosquitto.tls_url, ca_file=stranger.cafile)
