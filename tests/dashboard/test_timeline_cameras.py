"""The timeline with several cameras, in real headless Chromium: one block of lanes per
camera, fed by frames two cameras publish to a real Mosquitto."""

from __future__ import annotations

import json
import time

import pytest

from socksort.config import HostPort, mqtt_url
from socksort.contract import MQTT_TOPIC
from socksort.net import free_port

pytestmark = [pytest.mark.browser, pytest.mark.broker]

CAMERAS = {"cam-a": "Mongo", "cam-b": "Kafka"}   # each camera sees one design all along


def nowhere() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def dashboard(mosquitto):
    from socksort.dashboard.app import Settings
    from socksort.dashboard.cli import start_dashboard, stop_dashboard

    settings = Settings(listen=HostPort("127.0.0.1", free_port()), edge_url=nowhere(), ksql_url=nowhere(),
                        connect_url=nowhere(), mqtt_url=mqtt_url(mosquitto.url), health_every=0.5)
    parts = start_dashboard(settings)
    deadline = time.monotonic() + 15
    while not parts[0].mqtt.connected and time.monotonic() < deadline:
        time.sleep(0.1)
    yield parts[1]
    stop_dashboard(*parts)


def publish_last_seconds(url: str, seconds: int = 10, fps: int = 10) -> None:
    """Both cameras' frames for the last few seconds, as their edge functions publish them."""
    from socksort import mqtt

    client = mqtt.connect(url)
    now = int(time.time() * 1000)
    try:
        infos = []
        for device, image in CAMERAS.items():
            for seq in range(seconds * fps):
                payload = {"image": image, "probability": 95.0, "ts": now - (seconds * fps - seq) * 1000 // fps,
                           "device": device, "seq": seq}
                infos.append(client.publish(MQTT_TOPIC, json.dumps(payload), qos=1))
        for info in infos:
            info.wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


LANE_COLOURS = """([top, height]) => {
    // how many pixels of the lane each design's colour paints
    const c = document.getElementById('timeline'), r = window.devicePixelRatio || 1;
    const d = c.getContext('2d').getImageData(100 * r, top * r, c.width - 120 * r, height * r).data;
    const hex = (i) => '#' + [d[i], d[i+1], d[i+2]].map((v) => v.toString(16).padStart(2, '0')).join('');
    const counts = {};
    for (const [label, colour] of state.colours) counts[label] = 0;
    for (let i = 0; i < d.length; i += 4)
        for (const [label, colour] of state.colours) if (hex(i) === colour) counts[label]++;
    return counts;
}"""


def lane_colours(page, box: tuple[int, int]) -> dict:
    return page.evaluate(LANE_COLOURS, list(box))


def test_each_camera_gets_its_own_lane_of_raw_frames(dashboard, mosquitto, browser_page, painted_pixels,
                                                     timeline_lane, screenshot):
    page = browser_page
    page.goto(dashboard.url)
    page.wait_for_function("document.getElementById('link').textContent === 'live'", timeout=15_000)
    publish_last_seconds(mosquitto.url)
    page.wait_for_function("state.frames.length >= 200", timeout=15_000)
    assert painted_pixels(page, "raw", more_than=500, camera=1) > 500
    first, second = lane_colours(page, timeline_lane("raw", 0)), lane_colours(page, timeline_lane("raw", 1))
    assert first["Mongo"] > 500 and first["Kafka"] == 0      # cam-a, first by name
    assert second["Kafka"] > 500 and second["Mongo"] == 0    # cam-b
    assert page.evaluate("document.getElementById('timeline').clientHeight") == 190 + timeline_lane("raw", 1)[0] - 14
    screenshot(page, "dashboard-two-cameras.png")
    assert page.script_errors == []


def test_each_camera_s_showings_are_drawn_under_its_own_frames(dashboard, mosquitto, browser_page,
                                                               timeline_lane):
    page = browser_page
    page.goto(dashboard.url)
    page.wait_for_function("document.getElementById('link').textContent === 'live'", timeout=15_000)
    publish_last_seconds(mosquitto.url)
    page.wait_for_function("state.frames.length >= 200", timeout=15_000)
    # the showings as the SOCK_SHOWINGS push query delivers them (no ksql engine here)
    page.evaluate("""() => {
        const now = Date.now() + state.clockOffset;
        state.showings = [{image: 'Kafka', start: now - 8000, end: now - 2000, device: 'cam-b'},
                          {image: 'Mongo', start: now - 9000, end: now - 1000, device: 'cam-a'}];
    }""")
    page.wait_for_timeout(500)   # the canvas redraws every 100 ms
    first, second = (lane_colours(page, timeline_lane("showings", 0)),
                     lane_colours(page, timeline_lane("showings", 1)))
    assert first["Mongo"] > 500 and first["Kafka"] == 0
    assert second["Kafka"] > 500 and second["Mongo"] == 0


def test_one_camera_keeps_the_single_block_and_its_height(dashboard, mosquitto, browser_page, painted_pixels):
    from socksort import mqtt

    page = browser_page
    page.goto(dashboard.url)
    page.wait_for_function("document.getElementById('link').textContent === 'live'", timeout=15_000)
    client = mqtt.connect(mosquitto.url)
    now = int(time.time() * 1000)
    for seq in range(50):
        client.publish(MQTT_TOPIC, json.dumps({"image": "Mongo", "probability": 90.0, "ts": now - 5000 + 100 * seq,
                                               "device": "only", "seq": seq}), qos=1).wait_for_publish(10)
    client.disconnect()
    client.loop_stop()
    assert painted_pixels(page, "raw", more_than=500) > 500
    assert page.evaluate("document.getElementById('timeline').clientHeight") == 190


def test_a_camera_sending_the_seed_s_payload_gets_a_lane_and_every_frame(dashboard, mosquitto, browser_page,
                                                                         painted_pixels):
    from socksort import mqtt

    page = browser_page
    page.goto(dashboard.url)
    page.wait_for_function("document.getElementById('link').textContent === 'live'", timeout=15_000)
    client = mqtt.connect(mosquitto.url)
    for _ in range(30):   # no ts, device nor seq: timed on arrival, named by the topic, none deduplicated
        client.publish(MQTT_TOPIC, json.dumps({"image": "Mongo", "probability": 41.0}), qos=1).wait_for_publish(10)
        time.sleep(0.02)
    client.disconnect()
    client.loop_stop()
    page.wait_for_function("state.frames.length === 30", timeout=15_000)
    assert page.evaluate("[...new Set(state.frames.map((f) => f[3]))]") == [MQTT_TOPIC]
    assert painted_pixels(page, "raw", more_than=50) > 50
