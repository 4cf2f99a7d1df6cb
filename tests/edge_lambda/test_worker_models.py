"""`socksort worker --models STORE`: the deployed model (else the newest), and a new deploy
taken up between transactions."""

from __future__ import annotations

import pytest
from fleet_fixtures import batch_colour_model, with_id

from socksort.edge_lambda.worker.consumer import Worker, WorkerConfig
from socksort.errors import UserError
from socksort.modelstore import ModelStore

FIRST, SECOND = "aaaaaaaaaaaa", "bbbbbbbbbbbb"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("worker-store")
    model = batch_colour_model(tmp_path_factory.mktemp("worker-store-model") / "colour")
    for model_id in (FIRST, SECOND):
        with_id(model, root / model_id, model_id)
    return root


def worker_on(store) -> Worker:
    worker = Worker(WorkerConfig(bootstrap="127.0.0.1:9", models=store, http=None), log=lambda text: None)
    worker.model = worker._load_model()
    return worker


def test_the_worker_serves_the_deployed_model(store):
    ModelStore(store).deploy(FIRST)
    assert worker_on(store).model.id == FIRST


def test_a_new_deploy_is_taken_up_at_the_next_check(store):
    ModelStore(store).deploy(FIRST)
    worker = worker_on(store)
    ModelStore(store).deploy(SECOND)
    worker._next_deploy_check = 0
    worker._maybe_follow_deploy()
    assert worker.model.id == SECOND
    assert worker.metrics.snapshot()["model"] == SECOND


def test_an_empty_store_is_a_one_line_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="holds no model yet"):
        Worker(WorkerConfig(bootstrap="127.0.0.1:9", models=tmp_path / "empty", http=None))._load_model()
