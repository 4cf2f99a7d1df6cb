"""Raw frames from MQTT: the last minute for the timeline, the current label and the rate."""

import json
import time

import pytest

from waiting import wait_until

from socksort.dashboard.raw import RawTimeline


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def payload(seq, ts, image="Google", probability=97.3):
    return json.dumps({"image": image, "probability": probability, "ts": ts, "device": "cam",
                       "seq": seq, "top": [{"label": image, "probability": probability}]}).encode()


def test_frames_older_than_the_window_before_the_newest_are_forgotten():
    timeline = RawTimeline(window_ms=60_000)
    for seq, ts in enumerate((0, 30_000, 61_000, 70_000)):
        timeline.add_payload(payload(seq, ts))
    assert [f.ts for f in timeline.frames()] == [30_000, 61_000, 70_000]


def test_a_payload_that_breaks_the_schema_is_counted_and_explained_not_kept():
    timeline = RawTimeline()
    assert timeline.add_payload(b'{"image": "Google"}') is None
    assert timeline.rejected == 1 and "probability" in timeline.last_error
    assert timeline.frames() == []


def test_current_is_the_newest_frame_with_the_rate_frames_arrive_at():
    clock = Clock()
    timeline = RawTimeline(clock=clock)
    for seq in range(11):
        timeline.add_payload(payload(seq, 1000 + seq * 50, image="Mongo" if seq == 10 else "Google"))
        clock.now += 0.05
    current = timeline.current()
    assert current["label"] == "Mongo" and current["probability"] == 97.3
    assert current["fps"] == 20.0


def test_no_frames_means_no_current_label():
    assert RawTimeline().current() is None


def test_pending_frames_are_handed_out_once():
    timeline = RawTimeline()
    timeline.add_payload(payload(0, 1))
    assert len(timeline.take_pending()) == 1 and timeline.take_pending() == []


def test_pending_frames_beyond_the_bound_drop_the_oldest_and_count_them():
    timeline = RawTimeline(pending_limit=5)
    for seq in range(8):
        timeline.add_payload(payload(seq, seq))
    assert [f.seq for f in timeline.take_pending()] == [3, 4, 5, 6, 7]
    assert timeline.dropped == 3


# --- against the real broker ----------------------------------------------------------

def publisher(url):
    from socksort import mqtt

    return mqtt.connect(url, client_id="test-camera")


@pytest.mark.broker
def test_frames_published_to_the_camera_topic_reach_the_timeline(mosquitto):
    from socksort.config import mqtt_url
    from socksort.dashboard.raw import MqttFeed

    url = mqtt_url(mosquitto.url)
    timeline = RawTimeline()
    feed = MqttFeed(url, "sockfound", timeline)
    feed.start()
    try:
        assert wait_until(lambda: feed.connected), feed.state
        camera = publisher(url)
        for seq in range(5):
            camera.publish("sockfound", payload(seq, 1000 + seq), qos=1).wait_for_publish(5)
        camera.publish("elsewhere", payload(99, 2000), qos=1).wait_for_publish(5)
        camera.publish("sockfound", b"not json", qos=1).wait_for_publish(5)
        assert wait_until(lambda: timeline.received == 5 and timeline.rejected == 1)
        assert [f.seq for f in timeline.frames()] == [0, 1, 2, 3, 4]
        camera.loop_stop()
        camera.disconnect()
    finally:
        feed.stop()


@pytest.mark.broker
def test_wrong_credentials_leave_mqtt_down_with_the_refusal_named(mosquitto):
    from socksort.config import mqtt_url
    from socksort.dashboard.raw import MqttFeed

    good = mqtt_url(mosquitto.url)
    bad = mqtt_url(f"mqtt://{good.username}:wrong@{good.host}:{good.port}")
    feed = MqttFeed(bad, "sockfound", RawTimeline())
    feed.start()
    try:
        assert wait_until(lambda: "refused" in feed.state), feed.state
        assert not feed.connected
    finally:
        feed.stop()


@pytest.mark.broker
def test_frames_published_over_tls_reach_the_timeline_with_the_brokers_ca(tls_mosquitto):
    from socksort.config import mqtt_url
    from socksort.dashboard.raw import MqttFeed

    timeline = RawTimeline()
    feed = MqttFeed(mqtt_url(tls_mosquitto.tls_url), "dashboard-tls/sockfound", timeline,
                    ca_file=tls_mosquitto.tls.cafile)
    feed.start()
    try:
        assert wait_until(lambda: feed.connected), feed.state
        camera = publisher(mqtt_url(tls_mosquitto.url))
        for seq in range(3):
            camera.publish("dashboard-tls/sockfound", payload(seq, 1000 + seq), qos=1).wait_for_publish(5)
        assert wait_until(lambda: timeline.received == 3)
        camera.loop_stop()
        camera.disconnect()
    finally:
        feed.stop()


@pytest.mark.broker
def test_a_tls_broker_the_system_cas_do_not_trust_leaves_mqtt_down_and_says_tls_may_be_why(tls_mosquitto):
    from socksort.config import mqtt_url
    from socksort.dashboard.raw import MqttFeed

    feed = MqttFeed(mqtt_url(tls_mosquitto.tls_url), "sockfound", RawTimeline())
    feed.start()
    try:
        assert wait_until(lambda: "TLS certificate is not trusted" in feed.state), feed.state
        assert not feed.connected
    finally:
        feed.stop()


def test_a_seed_payload_is_timed_by_its_arrival_and_named_by_its_topic():
    timeline = RawTimeline()
    before = int(time.time() * 1000)
    frame = timeline.add_payload(b'{"image": "Mongo", "probability": 91.0}', "sockfound/left")
    assert frame.device == "sockfound/left" and frame.seq is None
    assert before <= frame.ts <= int(time.time() * 1000)


def test_a_payload_s_own_device_and_time_win_over_the_topic_and_the_clock():
    frame = RawTimeline().add_payload(payload(3, 1234), "sockfound")
    assert (frame.ts, frame.device, frame.seq) == (1234, "cam", 3)


def test_current_names_the_model_that_made_the_newest_frame():
    timeline = RawTimeline()
    message = json.loads(payload(0, 1000))
    timeline.add_payload(json.dumps({**message, "model": "3e33a9737e18"}).encode())
    assert timeline.current()["model"] == "3e33a9737e18"


def test_a_frame_from_a_camera_that_names_no_model_has_none():
    timeline = RawTimeline()
    timeline.add_payload(payload(0, 1000))
    assert timeline.current()["model"] is None
