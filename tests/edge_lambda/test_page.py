"""The live page in a real browser: the annotated picture plays, and the header shows the
current label, probability, frame rate and the camera's state, including a lost camera."""

import pytest

from socksort.config import HostPort
from socksort.edge_lambda.loop import EdgeConfig, EdgeLoop
from socksort.net import free_port

from edge_fixtures import NetworkCamera, start_in_thread

pytestmark = pytest.mark.browser


def test_page_shows_the_stream_label_rate_and_a_lost_camera(colour_model, browser_page):
    camera = NetworkCamera(free_port()).plug_in()   # a red network camera
    edge = EdgeLoop(EdgeConfig(model=colour_model, source=camera.url,
                               http=HostPort("127.0.0.1", free_port()))).start()
    runner = start_in_thread(edge)
    try:
        page = browser_page
        page.goto(edge.http.url + "/")
        page.wait_for_function("document.getElementById('label').textContent === 'red'", timeout=20_000)
        page.wait_for_function("document.getElementById('live').naturalWidth === 64", timeout=20_000)
        assert page.text_content("#camera") == "live"
        assert page.text_content("#fps").endswith(" fps") and page.text_content("#prob").endswith(" %")
        camera.unplug()
        page.wait_for_function("document.getElementById('camera').textContent.startsWith('lost')",
                               timeout=20_000)
        assert "bad" in page.get_attribute("#camera", "class")
        assert page.script_errors == []
    finally:
        edge.request_stop()
        runner.join(10)
        edge.stop()
