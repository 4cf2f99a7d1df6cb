"""The page in real headless Chromium, fed by the real stack and the real edge function.

The shared stack (Mosquitto, Kafka, Connect with the MQTT source connector, the ksql engine)
runs for the whole session; the edge classifies the small synthetic sock show in a loop,
with the small sock model, under a device name of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest

from socksort.config import HostPort, mqtt_url
from socksort.net import free_port, wait_for_port

pytestmark = [pytest.mark.browser, pytest.mark.broker]

CONNECTOR = "socksort-mqtt"


@pytest.fixture(scope="module")
def edge(stack, sock_model, sock_show, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("edge") / "edge.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "socksort", "edge", "--model", str(sock_model),
             "--source", str(sock_show[0]), "--loop", "yes", "--mqtt-url", stack.mqtt_url,
             "--http", f"127.0.0.1:{port}", "--device", "dashboard-live-page", "--threads", "1"],
            stdout=out, stderr=subprocess.STDOUT)
    try:
        assert wait_for_port("127.0.0.1", port, timeout=120), log.read_text()
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def live_dashboard(stack, edge):
    from socksort.dashboard.app import Settings
    from socksort.dashboard.cli import start_dashboard, stop_dashboard

    # The pipeline SQL on the shared engine, counting from now on (a new sorting session).
    for args in (("ksql-apply", "--url", stack.ksql_url, "--mqtt-url", stack.mqtt_url),
                 ("pairs", "--reset", "--url", stack.ksql_url)):
        done = subprocess.run([sys.executable, "-m", "socksort", *args], capture_output=True, text=True,
                              timeout=120, env={**os.environ, "SOCKSORT_HOME": str(stack.home)})
        assert done.returncode == 0, done.stderr

    settings = Settings(listen=HostPort("127.0.0.1", free_port()), edge_url=edge,
                        ksql_url=stack.ksql_url or f"http://127.0.0.1:{free_port()}",
                        connect_url=stack.connect_url, mqtt_url=mqtt_url(stack.mqtt_url),
                        connector=CONNECTOR, health_every=0.5)
    dashboard, server, thread = start_dashboard(settings)
    yield server
    stop_dashboard(dashboard, server, thread)


def connect_rest(stack, method: str, path: str):
    request = urllib.request.Request(stack.connect_url + path, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
        return json.loads(body) if body else None


def wait_connector_running(stack, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = connect_rest(stack, "GET", f"/connectors/{CONNECTOR}/status")
        if status["connector"]["state"] == "RUNNING" and all(
                t["state"] == "RUNNING" for t in status["tasks"]) and status["tasks"]:
            return
        time.sleep(0.5)
    raise AssertionError(f"connector {CONNECTOR} did not come back: {status}")


FRAME_PIXELS = """() => {
    const img = document.getElementById('stream');
    if (!img.complete || !img.naturalWidth) return null;
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    c.getContext('2d').drawImage(img, 0, 0);
    return c.toDataURL('image/png');
}"""


def test_the_stream_shows_frames_that_advance(live_dashboard, browser_page):
    page = browser_page
    page.goto(live_dashboard.url)
    page.wait_for_function("document.getElementById('stream').naturalWidth > 0", timeout=30_000)
    first = page.evaluate(FRAME_PIXELS)
    page.wait_for_function(f"({FRAME_PIXELS})() !== {json.dumps(first)}", timeout=10_000)
    assert page.is_hidden("#stream-missing")


def test_the_current_label_probability_and_rate_come_from_the_camera(live_dashboard, browser_page,
                                                                       sock_model):
    page = browser_page
    page.goto(live_dashboard.url)
    page.wait_for_function("parseFloat(document.getElementById('now-fps').textContent) > 0",
                           timeout=30_000)
    labels = set((sock_model / "labels.txt").read_text().splitlines())
    assert page.inner_text("#now-label") in labels
    probability = float(page.inner_text("#now-probability").rstrip(" %"))
    assert 0 < probability <= 100


def test_the_timeline_draws_the_raw_frames(live_dashboard, browser_page, painted_pixels):
    page = browser_page
    page.goto(live_dashboard.url)
    page.wait_for_function("parseFloat(document.getElementById('now-fps').textContent) > 0",
                           timeout=30_000)
    # The raw-frames lane's background is one grey; frames paint other colours on it.
    assert painted_pixels(page, "raw", more_than=100) > 100


def test_the_pair_table_fills_from_the_push_query(live_dashboard, browser_page, sock_model):
    page = browser_page
    page.goto(live_dashboard.url)
    page.wait_for_selector("#pairs tbody tr", timeout=90_000)
    designs = set((sock_model / "labels.txt").read_text().splitlines()) - {"Blank"}
    first = page.locator("#pairs tbody tr").first
    assert first.get_attribute("data-image") in designs
    assert int(first.locator("td.count").inner_text()) >= 1
    assert page.is_hidden("#pairs-empty")


def test_camera_mqtt_and_connector_are_up(live_dashboard, browser_page):
    page = browser_page
    page.goto(live_dashboard.url)
    for part in ("camera", "mqtt", "connector"):
        page.wait_for_selector(f"#health li[data-part='{part}'][data-ok='true']", timeout=30_000)
    assert CONNECTOR in page.inner_text("#health li[data-part='connector']")


def test_stopping_the_connector_turns_the_health_panel_red_and_names_it(live_dashboard, browser_page,
                                                                         stack, screenshot):
    page = browser_page
    page.goto(live_dashboard.url)
    page.wait_for_selector("#health li[data-part='connector'][data-ok='true']", timeout=30_000)
    connect_rest(stack, "PUT", f"/connectors/{CONNECTOR}/stop")
    try:
        page.wait_for_selector("#health li[data-part='connector'][data-ok='false']", timeout=30_000)
        detail = page.inner_text("#health li[data-part='connector'] .detail")
        assert detail == f"connector {CONNECTOR} is STOPPED"
        assert "Kafka Connect connector" in page.inner_text("#overall")
        assert "bad" in page.get_attribute("#overall", "class")
        screenshot(page, "dashboard-connector-stopped.png")
    finally:
        connect_rest(stack, "PUT", f"/connectors/{CONNECTOR}/resume")
        wait_connector_running(stack)
    page.wait_for_selector("#health li[data-part='connector'][data-ok='true']", timeout=30_000)


def test_the_dashboard_command_finds_the_stack_by_itself_and_stops_on_sigterm(stack, edge):
    import signal

    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "socksort", "dashboard", "--listen", f"127.0.0.1:{port}",
                                "--edge-url", edge], env={**os.environ, "SOCKSORT_HOME": str(stack.home)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for_port("127.0.0.1", port, timeout=60)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/live", timeout=5) as response:
                checks = {c["part"]: c for c in json.loads(response.read())["health"]["checks"]}
            if checks and all(c["ok"] for c in checks.values()):
                break
            time.sleep(0.5)
        assert checks and all(c["ok"] for c in checks.values()), checks
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    stderr = process.stderr.read()
    assert f"dashboard at http://127.0.0.1:{port}/" in stderr
    assert f"ksql {stack.ksql_url}" in stderr and f"Connect {stack.connect_url}" in stderr
