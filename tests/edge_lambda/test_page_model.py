"""The live page in a real browser names the model serving, follows a deploy, and shows a
refused model's reason."""

import pytest

from socksort.config import HostPort
from socksort.edge_lambda.loop import EdgeConfig, EdgeLoop
from socksort.modelstore import ModelStore
from socksort.net import free_port

from edge_fixtures import start_in_thread
from store_fixtures import CLASSES_B, ID_A, ID_B, ID_BROKEN, add_broken_model, add_model

pytestmark = pytest.mark.browser


def test_page_names_the_serving_model_follows_a_deploy_and_shows_a_refusal(colour_model, rgb_video, browser_page,
                                                                         tmp_path):
    store = tmp_path / "store"
    add_model(store, ID_A, colour_model)
    add_model(store, ID_B, colour_model, classes=CLASSES_B)
    add_broken_model(store, ID_BROKEN, colour_model)
    ModelStore(store).deploy(ID_A)
    edge = EdgeLoop(EdgeConfig(model=None, models=store, source=str(rgb_video), loop=True,
                               http=HostPort("127.0.0.1", free_port()))).start()
    runner = start_in_thread(edge)
    try:
        page = browser_page
        page.goto(edge.http.url + "/")
        page.wait_for_function(f"document.getElementById('model').textContent === '{ID_A}'", timeout=20_000)
        assert page.get_attribute("#model", "class") == "ok"
        ModelStore(store).deploy(ID_B)
        page.wait_for_function(f"document.getElementById('model').textContent === '{ID_B}'", timeout=30_000)
        ModelStore(store).deploy(ID_BROKEN)
        page.wait_for_function(f"document.getElementById('model').textContent.includes('{ID_BROKEN} refused')",
                               timeout=30_000)
        assert page.text_content("#model").startswith(ID_B) and page.get_attribute("#model", "class") == "bad"
        assert page.script_errors == []
    finally:
        edge.request_stop()
        runner.join(10)
        edge.stop()
