"""``/snapshot.jpg?raw=1``: the newest camera frame as the camera gave it, for the teach
service to keep as a training photo; ``/snapshot.jpg`` stays the annotated frame."""

import cv2
import numpy as np
import pytest

from socksort.config import HostPort
from socksort.edge_lambda.http import EdgeHttpServer, JpegHub
from socksort.edge_lambda.loop import EdgeConfig, EdgeLoop
from socksort.net import free_port

from edge_fixtures import COLOURS, get, start_in_thread, wait_until, write_video


@pytest.fixture
def edge(colour_model, tmp_path):
    # One colour only, so whichever frame is newest, its pixels are known.
    video = write_video(tmp_path / "red.avi", [COLOURS["red"]], frames_each=20)
    running = EdgeLoop(EdgeConfig(model=colour_model, source=str(video), loop=True,
                                  http=HostPort("127.0.0.1", free_port()))).start()
    thread = start_in_thread(running)
    assert wait_until(lambda: running.classified > 0)
    yield running
    running.request_stop()
    thread.join(10)
    running.stop()


def decode(jpeg: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def test_the_raw_snapshot_is_the_camera_frame_with_nothing_drawn_on_it(edge):
    code, jpeg = get(edge.http.url + "/snapshot.jpg?raw=1")
    assert code == 200
    image = decode(jpeg)
    assert image.shape == (64, 96, 3)
    # Where the annotated frame has its black label banner, the raw one is the camera's red.
    corner = image[2:10, 2:10].reshape(-1, 3).mean(axis=0)
    assert corner[2] > 150   # red (BGR), even where the video's moving grey mark passes


def test_the_plain_snapshot_still_carries_the_label_banner(edge):
    code, jpeg = get(edge.http.url + "/snapshot.jpg")
    assert code == 200
    corner = decode(jpeg)[2:10, 2:10].reshape(-1, 3).mean(axis=0)
    assert corner.max() < 40   # the banner's black, not the frame's red


def test_drawing_a_frame_for_viewers_leaves_the_raw_frame_untouched(edge):
    handed = []
    put = edge.draw_slot.put
    edge.draw_slot.put = lambda item, **kw: (handed.append(item), put(item, **kw))
    assert get(edge.http.url + "/snapshot.jpg")[0] == 200   # a frame was drawn ...
    assert handed
    for item in handed:
        corner = item.frame.image[2:10, 2:10].reshape(-1, 3).mean(axis=0)
        assert corner[2] > 150   # ... on a copy: still the camera's red, no black banner


def test_a_raw_snapshot_before_any_frame_answers_503(tmp_path):
    server = EdgeHttpServer(HostPort("127.0.0.1", free_port()), JpegHub(), dict, str, lambda: None).start()
    try:
        code, body = get(server.url + "/snapshot.jpg?raw=1", timeout=20)
    finally:
        server.stop()
    assert code == 503 and b"no camera frame" in body
