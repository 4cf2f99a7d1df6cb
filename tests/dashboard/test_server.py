"""The dashboard's HTTP side, with every upstream pointing at nothing."""

import json
import socket
import time
import urllib.error
import urllib.request


def get(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def wait_for_health(base, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = json.loads(get(base + "api/live")[2])
        if state["health"]["checks"]:
            return state
        time.sleep(0.2)
    raise AssertionError("no health check ran")


def test_the_page_and_its_assets_are_served(dashboard_without_upstreams):
    base = dashboard_without_upstreams.url
    status, headers, body = get(base)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b'src="/static/app.js"' in body
    for name, kind in (("app.js", "text/javascript"), ("style.css", "text/css")):
        status, headers, _ = get(base + "static/" + name)
        assert status == 200 and headers["Content-Type"].startswith(kind)


def test_paths_outside_the_static_folder_are_not_served(dashboard_without_upstreams):
    base = dashboard_without_upstreams.url
    assert get(base + "static/../server.py")[0] == 404
    assert get(base + "static/%2e%2e%2fserver.py")[0] == 404


def test_every_part_is_reported_down_and_named_when_nothing_runs(dashboard_without_upstreams):
    state = wait_for_health(dashboard_without_upstreams.url)
    checks = {c["part"]: c for c in state["health"]["checks"]}
    assert set(checks) == {"camera", "mqtt", "connector", "ksql"}
    assert not any(c["ok"] for c in checks.values())
    assert not state["health"]["ok"]
    for title in ("Camera", "MQTT", "Kafka Connect connector", "ksql engine"):
        assert title in state["health"]["summary"]


def test_the_stream_relay_answers_503_when_the_camera_is_unreachable(dashboard_without_upstreams):
    status, _, body = get(dashboard_without_upstreams.url + "stream.mjpg")
    assert status == 503 and b"not reachable" in body


def test_the_event_stream_starts_with_the_timeline_then_reports_health(dashboard_without_upstreams):
    host, port = dashboard_without_upstreams.server_address[:2]
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        received = b""
        deadline = time.monotonic() + 15
        while b"event: health" not in received and time.monotonic() < deadline:
            received += sock.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    assert b"Content-Type: text/event-stream" in head
    assert body.index(b"event: timeline") < body.index(b"event: health")


def test_a_bad_listen_address_is_a_one_line_error(run_cli):
    result = run_cli("dashboard", "--listen", "localhost")
    assert result.returncode == 2
    assert "--listen" in result.stderr and "HOST:PORT" in result.stderr


def test_a_bad_url_in_the_environment_is_named(run_cli):
    result = run_cli("dashboard", env={"SOCKSORT_KSQL_URL": "ftp://x"})
    assert result.returncode == 2
    assert result.stderr.strip() == "socksort: error: SOCKSORT_KSQL_URL='ftp://x': not an http:// or https:// URL"
