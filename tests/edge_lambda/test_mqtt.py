"""Predictions over MQTT against the project's real Mosquitto: schema, one message per
classified frame, and nothing lost across a broker restart beyond the buffer bound."""

import pytest

from socksort.config import mqtt_url
from socksort.edge_lambda.loop import EdgeConfig, EdgeLoop, run_edge
from socksort.net import free_port
from socksort.schema import Prediction

from edge_fixtures import CLASSES, COLOURS, Subscriber, start_in_thread, wait_until, write_video

pytestmark = pytest.mark.broker


@pytest.fixture
def subscriber(mosquitto):
    sub = Subscriber(mosquitto.url, "sockfound")
    yield sub
    sub.close()


def test_each_classified_frame_arrives_as_a_valid_prediction_in_order(mosquitto, subscriber, colour_model, rgb_video):
    edge = run_edge(EdgeConfig(model=colour_model, source=str(rgb_video), mqtt_url=mqtt_url(mosquitto.url),
                               device="cam-1", unthrottled=True))
    received = subscriber.wait_for(30, timeout=20)
    predictions = subscriber.predictions()
    assert len(received) == edge.classified == 30
    assert [p.seq for p in predictions] == list(range(30))
    assert [p.image for p in predictions] == [c for c in CLASSES for _ in range(10)]
    assert all(p.device == "cam-1" and len(p.top) == 3 and 33 < p.probability < 100 for p in predictions)
    # A replay's timestamps are start + position: 10 fps means 100 ms apart, load or not.
    assert [b.ts - a.ts for a, b in zip(predictions, predictions[1:])] == [100] * 29


def test_a_throttled_replay_publishes_one_message_per_classified_frame(mosquitto, subscriber, colour_model, rgb_video):
    edge = run_edge(EdgeConfig(model=colour_model, source=str(rgb_video), mqtt_url=mqtt_url(mosquitto.url)))
    received = subscriber.wait_for(edge.classified, timeout=20)
    assert len(received) == edge.classified
    assert edge.classified + edge.dropped == 30


def outage(mosquitto, edge, publisher, frames_during_outage: int):
    """Stop the broker, let the edge classify some frames meanwhile, start it again.
    Returns the frame counts when the broker went away and when it came back."""
    mosquitto.stop()
    assert wait_until(lambda: not publisher.connected, timeout=10)
    went = edge.classified
    assert wait_until(lambda: edge.classified >= went + frames_during_outage, timeout=30)
    came = edge.classified
    assert publisher.pending > 0   # really buffered while the broker was away
    mosquitto.start()
    return went, came


def replaying_edge(mosquitto, model, folder, **config):
    """An edge replaying a 20 fps video forever to the broker, running on its own thread."""
    video = write_video(folder / "long.avi", [COLOURS[c] for c in CLASSES], frames_each=20, fps=20)
    edge = EdgeLoop(EdgeConfig(model=model, source=str(video), mqtt_url=mqtt_url(mosquitto.url),
                               loop=True, **config)).start()
    return edge, start_in_thread(edge), edge.publishers[0]


def test_messages_published_during_a_broker_restart_are_delivered_afterwards(mosquitto, subscriber, colour_model, tmp_path):
    edge, runner, publisher = replaying_edge(mosquitto, colour_model, tmp_path, max_frames=120)
    try:
        subscriber.wait_for(10)
        outage(mosquitto, edge, publisher, frames_during_outage=20)
        runner.join(60)
    finally:
        edge.stop(flush_timeout=20)
    seqs = {p.seq for p in subscriber.predictions()}
    assert seqs == set(range(edge.classified))
    assert publisher.connects >= 2 and publisher.dropped == 0


def test_a_full_offline_buffer_drops_the_oldest_messages_and_counts_them(mosquitto, subscriber, colour_model, tmp_path):
    edge, runner, publisher = replaying_edge(mosquitto, colour_model, tmp_path, buffer=5)
    try:
        subscriber.wait_for(10)
        went, came = outage(mosquitto, edge, publisher, frames_during_outage=25)
        assert wait_until(lambda: publisher.connected and publisher.idle(), timeout=30)
        edge.request_stop()
        runner.join(30)
    finally:
        edge.stop(flush_timeout=20)
    subscriber.wait_for(edge.classified - publisher.dropped, timeout=10)
    seqs = {p.seq for p in subscriber.predictions()}
    missing = set(range(edge.classified)) - seqs
    assert len(missing) == publisher.dropped > 0
    # Whatever paho already held stays with paho; the buffer lost its oldest, in one run,
    # and kept the newest.
    assert max(missing) - min(missing) + 1 == len(missing)
    assert went - publisher.max_inflight <= min(missing) and max(missing) < edge.classified - 5


def test_an_unreachable_broker_at_start_is_reported_and_the_backlog_delivered_once_it_appears(colour_model, rgb_video, tmp_path):
    from socksort.stack.mosquitto import Mosquitto
    broker = Mosquitto(tmp_path / "late-broker", port=free_port()).start()
    # The subscriber's session outlives the outage on the broker's disk, so whichever of it
    # and the edge reconnects first, nothing published meanwhile passes it by.
    sub = Subscriber(broker.url, "sockfound")
    broker.stop()
    edge = EdgeLoop(EdgeConfig(model=colour_model, source=str(rgb_video), mqtt_url=mqtt_url(broker.url),
                               unthrottled=True, max_frames=30)).start()
    try:
        edge.run()
        status = edge.status()
        assert not status.ok
        assert any("cannot reach the broker" in p for p in status.problems)
        assert edge.publishers[0].pending == 30
        broker.start()
        assert len(sub.wait_for(30, timeout=30)) == 30
    finally:
        sub.close()
        edge.stop()
        broker.stop()


def test_a_burst_far_beyond_the_inflight_window_is_fully_acknowledged(mosquitto, subscriber):
    from socksort.edge_lambda.publish import MqttPublisher
    publisher = MqttPublisher(mqtt_url(mosquitto.url), "sockfound", buffer_size=10_000).start()
    try:
        assert publisher.wait_connected(10)
        for seq in range(10_000):
            publisher.publish(Prediction("red", 50.0, 1, "burst", seq).to_json())
        assert publisher.flush(60)
    finally:
        publisher.stop()
    assert publisher.published == 10_000 and publisher.dropped == 0
    assert len(subscriber.wait_for(10_000, timeout=30)) == 10_000


def test_wrong_credentials_are_reported_as_refused_by_the_broker(mosquitto, colour_model, rgb_video):
    url = mqtt_url(f"mqtt://{mosquitto.username}:wrong@{mosquitto.host}:{mosquitto.port}")
    edge = EdgeLoop(EdgeConfig(model=colour_model, source=str(rgb_video), mqtt_url=url, max_frames=5,
                               unthrottled=True)).start()
    try:
        edge.run()
        assert wait_until(lambda: edge.publishers[0].state == "refused", timeout=15)
        problems = edge.status().problems
        assert any(p.startswith("mqtt refused: broker refused the connection: Not authorized") for p in problems)
    finally:
        edge.stop(flush_timeout=0)


def test_a_tls_ca_file_that_is_not_a_certificate_is_a_one_line_error(tmp_path):
    from socksort.edge_lambda.publish import MqttPublisher, TlsOptions
    from socksort.errors import UserError
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    with pytest.raises(UserError, match="cannot use the MQTT TLS files"):
        MqttPublisher(mqtt_url("mqtts://u:p@127.0.0.1:8883"), "sockfound", tls=TlsOptions(ca_file=str(bad)))


def test_tls_against_a_plain_broker_is_a_reported_connection_failure(mosquitto):
    from socksort.edge_lambda.publish import MqttPublisher
    url = mqtt_url(mosquitto.url.replace("mqtt://", "mqtts://"))
    publisher = MqttPublisher(url, "sockfound").start()
    try:
        publisher.publish(b"{}")
        assert wait_until(lambda: "over TLS" in publisher.last_error, timeout=15)
        assert not publisher.connected and publisher.pending + publisher.inflight == 1
    finally:
        publisher.stop(flush_timeout=0)


def test_flush_waits_for_a_message_the_sender_has_taken_but_not_yet_handed_to_paho(mosquitto):
    import threading

    from socksort.edge_lambda.publish import MqttPublisher
    publisher = MqttPublisher(mqtt_url(mosquitto.url), "sockfound").start()
    release = threading.Event()
    hand_over = publisher._client.publish

    def slow_publish(*args, **kwargs):
        release.wait(10)
        return hand_over(*args, **kwargs)

    publisher._client.publish = slow_publish
    try:
        assert publisher.wait_connected(10)
        publisher.publish(b"{}")
        assert wait_until(lambda: publisher.pending == 0)   # out of the buffer, not in flight yet
        assert not publisher.flush(0.2)
        release.set()
        assert publisher.flush(10) and publisher.published == 1
    finally:
        release.set()
        publisher.stop(flush_timeout=0)
