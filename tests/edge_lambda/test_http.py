"""The device's web server: a stream of real changing JPEG frames, health that tells the
truth about the camera, and Prometheus metrics."""

import json
import threading

import cv2
import numpy as np
import pytest

from socksort.config import HostPort
from socksort.edge_lambda.loop import EdgeConfig, EdgeLoop
from socksort.net import free_port

from edge_fixtures import NetworkCamera, get, read_mjpeg_parts, start_in_thread, wait_until


@pytest.fixture
def running_edge():
    started = []

    def start(**overrides):
        config = EdgeConfig(http=HostPort("127.0.0.1", free_port()), **overrides)
        edge = EdgeLoop(config).start()
        started.append((edge, start_in_thread(edge)))
        return edge, edge.http.url

    yield start
    for edge, thread in started:
        edge.request_stop()
        thread.join(10)
        edge.stop()


def test_stream_delivers_decodable_jpeg_frames_that_change_over_time(running_edge, colour_model, rgb_video):
    _, url = running_edge(model=colour_model, source=str(rgb_video), loop=True)
    parts = read_mjpeg_parts(url + "/stream.mjpg", count=6)
    images = [cv2.imdecode(np.frombuffer(p, np.uint8), cv2.IMREAD_COLOR) for p in parts]
    assert len(images) == 6 and all(i is not None and i.shape == (64, 96, 3) for i in images)
    assert len({p for p in parts}) == 6


def test_page_links_the_stream_and_status_reports_the_latest_prediction(running_edge, colour_model, rgb_video):
    edge, url = running_edge(model=colour_model, source=str(rgb_video), loop=True)
    status, page = get(url + "/")
    assert status == 200 and b'src="/stream.mjpg"' in page and b"/status.json" in page
    assert wait_until(lambda: edge.classified > 0)
    report = json.loads(get(url + "/status.json")[1])
    assert report["latest"]["image"] in ("red", "green", "blue")
    assert {k: report["model"][k] for k in ("backbone", "runtime", "classes", "folder", "error")} == {
        "backbone": "colour-test-net", "runtime": "onnx", "classes": ["red", "green", "blue"],
        "folder": str(colour_model), "error": ""}


def test_healthz_reports_a_dead_camera_and_its_return(running_edge, colour_model):
    camera = NetworkCamera(free_port()).plug_in()
    edge, url = running_edge(model=colour_model, source=camera.url)
    assert wait_until(lambda: edge.classified > 3)
    assert get(url + "/healthz")[0] == 200
    camera.unplug()
    assert wait_until(lambda: get(url + "/healthz")[0] == 503, timeout=20)
    health = json.loads(get(url + "/healthz")[1])
    assert health["camera"] == "lost" and "camera lost" in health["problems"][0]
    camera.plug_in()
    assert wait_until(lambda: get(url + "/healthz")[0] == 200, timeout=30)
    assert edge.capture.reopens >= 1
    camera.unplug()


def test_metrics_count_classified_frames_and_inference_time(running_edge, colour_model, rgb_video):
    edge, url = running_edge(model=colour_model, source=str(rgb_video), unthrottled=True)
    assert wait_until(lambda: edge.frames_slot.closed and edge.classified == 30)
    status, body = get(url + "/metrics")
    lines = dict(line.rsplit(" ", 1) for line in body.decode().splitlines() if not line.startswith("#"))
    assert status == 200
    assert lines["socksort_edge_frames_classified_total"] == "30"
    assert lines["socksort_edge_inference_ms_count"] == "30"
    assert float(lines["socksort_edge_inference_ms_sum"]) > 0
    assert lines["socksort_edge_frames_dropped_total"] == "0"


def follow_in_thread(hub, stop, pause=0.0, taken=None):
    """A viewer of the hub that takes each frame it is ready for, pausing after each."""
    def view():
        for jpeg in hub.follow(stop, poll=0.05):
            if taken is not None:
                taken.append(jpeg)
            stop.wait(pause)
    thread = threading.Thread(target=view, daemon=True)
    thread.start()
    return thread


def test_the_stream_is_drawn_at_most_at_its_frame_rate_however_fast_the_model_runs(colour_model, rgb_video):
    edge = EdgeLoop(EdgeConfig(model=colour_model, source=str(rgb_video), loop=True, unthrottled=True,
                               max_frames=200, stream_fps=2)).start()
    stop = threading.Event()
    viewer = follow_in_thread(edge.hub, stop)
    try:
        assert wait_until(lambda: edge.hub.watched)
        edge.run()
    finally:
        stop.set()
        edge.stop()
        viewer.join(5)
    assert edge.classified == 200
    assert 1 <= edge.times.count["encode"] < edge.classified / 4


def test_nothing_is_drawn_while_nobody_watches(colour_model, rgb_video):
    edge = EdgeLoop(EdgeConfig(model=colour_model, source=str(rgb_video), loop=True, unthrottled=True,
                               max_frames=100, stream_fps=None)).start()
    try:
        edge.run()
    finally:
        edge.stop()
    assert edge.classified == 100 and edge.times.count["encode"] == 0


def test_a_slow_viewer_has_frames_drawn_only_as_fast_as_it_takes_them(colour_model, rgb_video):
    edge = EdgeLoop(EdgeConfig(model=colour_model, source=str(rgb_video), loop=True, unthrottled=True,
                               max_frames=100_000, stream_fps=None)).start()
    stop, taken = threading.Event(), []
    viewer = follow_in_thread(edge.hub, stop, pause=0.2, taken=taken)
    runner = start_in_thread(edge)
    try:
        assert wait_until(lambda: len(taken) >= 3, timeout=30)
        stop.set()
        viewer.join(5)
        taken_in_all = len(taken)
        edge.request_stop()
        runner.join(10)
    finally:
        stop.set()
        edge.stop()
    # The viewer was ready for a frame this many times; the loop classified far more.
    assert edge.classified > 10 * taken_in_all
    assert taken_in_all <= edge.times.count["encode"] <= taken_in_all + 1


def test_a_snapshot_is_drawn_for_the_request_not_left_over_from_an_earlier_viewer(running_edge, colour_model,
                                                                                  rgb_video):
    edge, url = running_edge(model=colour_model, source=str(rgb_video), loop=True)
    first_status, _ = get(url + "/snapshot.jpg")
    drawn = edge.times.count["encode"]
    second_status, jpeg = get(url + "/snapshot.jpg")
    assert first_status == second_status == 200
    assert cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR) is not None
    assert edge.times.count["encode"] > drawn


def test_a_snapshot_while_the_camera_is_lost_is_a_503_not_an_old_frame(running_edge, colour_model):
    camera = NetworkCamera(free_port()).plug_in()
    edge, url = running_edge(model=colour_model, source=camera.url)
    assert get(url + "/snapshot.jpg")[0] == 200
    camera.unplug()
    assert wait_until(lambda: edge.status().camera.state == "lost", timeout=20)
    status, body = get(url + "/snapshot.jpg")
    assert status == 503 and b"no new frame within" in body
