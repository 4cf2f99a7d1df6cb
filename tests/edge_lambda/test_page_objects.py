"""The live page lists the objects of the current frame, from the prediction /status.json
carries: each with its label, probability and box; none listed for a camera whose model
finds no boxes, and "no objects" for a frame looked at and found empty."""

import pytest

from socksort.config import HostPort
from socksort.edge_lambda.http import EdgeHttpServer, JpegHub
from socksort.edge_lambda.status import CameraStatus, EdgeStatus
from socksort.net import free_port
from socksort.schema import Box, DetectedObject, Prediction

pytestmark = pytest.mark.browser

TWO = (DetectedObject("Argyle", 91.5, Box(10, 20, 100, 120)), DetectedObject("Google", 64.0, Box(150, 30, 90, 110)))


def serve(latest: Prediction):
    camera = CameraStatus("live", "test", 1, 0, 0, "", True)
    status = lambda: EdgeStatus("cam", "t", "onnx", camera, 10.0, 1.0, 1, latest, ())  # noqa: E731
    return EdgeHttpServer(HostPort("127.0.0.1", free_port()), JpegHub(), status, str).start()


def test_the_page_lists_each_object_with_its_label_probability_and_box(browser_page):
    server = serve(Prediction("Argyle", 91.5, objects=TWO))
    try:
        browser_page.goto(server.url + "/", wait_until="domcontentloaded")   # no stream frames come
        browser_page.wait_for_function("document.querySelectorAll('#objects li.object').length === 2",
                                       timeout=20_000)
        items = browser_page.locator("#objects li.object").all_text_contents()
        assert items == ["Argyle 91.5 % at 10,20 100\u00d7120", "Google 64.0 % at 150,30 90\u00d7110"]
        assert browser_page.script_errors == []
    finally:
        server.stop()


def test_a_camera_that_does_not_look_for_boxes_lists_nothing(browser_page):
    server = serve(Prediction("Argyle", 91.5))
    try:
        browser_page.goto(server.url + "/", wait_until="domcontentloaded")   # no stream frames come
        browser_page.wait_for_function("document.getElementById('label').textContent === 'Argyle'", timeout=20_000)
        assert browser_page.locator("#objects li").count() == 0
        assert not browser_page.is_visible("#objects")
    finally:
        server.stop()


def test_a_frame_looked_at_and_found_empty_says_so(browser_page):
    server = serve(Prediction("Blank", 99.0, objects=()))
    try:
        browser_page.goto(server.url + "/", wait_until="domcontentloaded")   # no stream frames come
        browser_page.wait_for_function("document.getElementById('objects').textContent.length > 0", timeout=20_000)
        assert browser_page.text_content("#objects") == "no objects in the frame"
    finally:
        server.stop()
