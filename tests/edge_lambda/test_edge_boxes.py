"""The edge with a localising model, end to end: every prediction message carries the
frame's objects (read back from the real Mosquitto), /snapshot.jpg shows each box where the
message says it is, and /status.json and the page list them. A model without localisation
outputs publishes messages without ``objects``, as before."""

import json

import cv2
import numpy as np
import pytest

from socksort.config import HostPort, mqtt_url
from socksort.edge_lambda import annotate
from socksort.edge_lambda.loop import EdgeConfig, EdgeLoop, run_edge
from socksort.localise import iou
from socksort.net import free_port
from socksort.schema import Box

from edge_fixtures import Subscriber, get, patches_frame, start_in_thread, wait_until, write_frames_video

TWO = [("red", (30, 70, 100, 120)), ("blue", (200, 60, 80, 100))]
FRAMES = 12


@pytest.fixture(scope="module")
def two_patches_video(tmp_path_factory):
    return write_frames_video(tmp_path_factory.mktemp("boxes-video") / "two.avi", [patches_frame(TWO)] * FRAMES)


@pytest.fixture
def subscriber(mosquitto):
    sub = Subscriber(mosquitto.url, "sockfound")
    yield sub
    sub.close()


@pytest.fixture
def serving(colour_box_model, two_patches_video):
    edge = EdgeLoop(EdgeConfig(model=colour_box_model, source=str(two_patches_video), loop=True,
                               http=HostPort("127.0.0.1", free_port()))).start()
    thread = start_in_thread(edge)
    assert wait_until(lambda: edge.classified > 0)
    yield edge
    edge.request_stop()
    thread.join(10)
    edge.stop()


def found_the_patches(objects) -> bool:
    truth = {colour: Box(*box) for colour, box in TWO}
    return (sorted(o.label for o in objects) == sorted(truth)
            and all(iou(o.box, truth[o.label]) >= 0.5 for o in objects))


@pytest.mark.broker
def test_each_message_carries_the_frames_objects_read_back_by_a_subscriber(
        mosquitto, subscriber, colour_box_model, two_patches_video):
    edge = run_edge(EdgeConfig(model=colour_box_model, source=str(two_patches_video),
                               mqtt_url=mqtt_url(mosquitto.url), device="cam-boxes", unthrottled=True))
    payloads = subscriber.wait_for(FRAMES, timeout=20)
    assert len(payloads) == edge.classified == FRAMES
    predictions = subscriber.predictions()
    assert all(found_the_patches(p.objects) for p in predictions)
    first = json.loads(payloads[0])["objects"][0]
    assert set(first) == {"label", "probability", "box"} and set(first["box"]) == {"left", "top", "width", "height"}


@pytest.mark.broker
def test_a_model_without_boxes_publishes_messages_without_objects(mosquitto, subscriber, colour_model, rgb_video):
    edge = run_edge(EdgeConfig(model=colour_model, source=str(rgb_video), mqtt_url=mqtt_url(mosquitto.url),
                               unthrottled=True))
    payloads = subscriber.wait_for(edge.classified, timeout=20)
    assert len(payloads) == edge.classified > 0
    assert all("objects" not in json.loads(p) for p in payloads)


def test_the_snapshot_shows_each_box_where_the_message_says(serving):
    code, jpeg = get(serving.http.url + "/snapshot.jpg")
    assert code == 200
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).astype(int)
    objects = serving.latest.objects
    assert found_the_patches(objects)
    for found in objects:
        box, colour = found.box, np.array(annotate.label_colour(found.label))
        rows = slice(box.top + 10, box.top + box.height - 10)
        left_edge = image[rows, box.left].mean(axis=0)
        right_edge = image[rows, box.left + box.width - 1].mean(axis=0)
        middle = image[rows, box.left + box.width // 2].mean(axis=0)
        assert np.abs(left_edge - colour).max() < 40 and np.abs(right_edge - colour).max() < 40
        assert np.abs(middle - colour).max() > 60   # inside, the patch itself, not the box's colour


def test_status_json_carries_the_objects_of_the_latest_frame(serving):
    code, body = get(serving.http.url + "/status.json")
    assert code == 200
    objects = json.loads(body)["latest"]["objects"]
    assert sorted(o["label"] for o in objects) == ["blue", "red"]


@pytest.mark.browser
def test_the_page_lists_the_objects_the_edge_finds(serving, browser_page):
    browser_page.goto(serving.http.url + "/")
    browser_page.wait_for_function("document.querySelectorAll('#objects li.object').length === 2", timeout=20_000)
    items = browser_page.locator("#objects li.object").all_text_contents()
    assert sorted(item.split(" ")[0] for item in items) == ["blue", "red"]
    assert browser_page.script_errors == []
