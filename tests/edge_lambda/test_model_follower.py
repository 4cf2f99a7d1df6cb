"""The store follower on its own: which model of a store it hands over (deployed, else
newest), that it loads only when the store changed, and that a model that does not load
is refused with its reason while the serving one stays."""

from pathlib import Path

import pytest

from socksort import modelcard
from socksort.edge_lambda import runtimes
from socksort.edge_lambda.classify import Classifier
from socksort.edge_lambda.models import Loaded, StoreFollower, target
from socksort.modelstore import ModelStore

from edge_fixtures import wait_until
from store_fixtures import CLASSES_B, ID_A, ID_B, ID_BROKEN, add_broken_model, add_model


class Recorder:
    """A real loader (card, ONNX Runtime, warm-up) that counts its calls, and the hand-overs."""

    def __init__(self):
        self.loads: list[Path] = []
        self.handed: list[Loaded] = []

    def load(self, folder: Path) -> Loaded:
        self.loads.append(folder)
        card = modelcard.load(folder)
        return Loaded(folder, Classifier(card, runtimes.load(folder, card, "onnx", threads=1)))

    def follower(self, store: Path, **kw) -> StoreFollower:
        return StoreFollower(store, self.load, self.handed.append, **kw)

    @property
    def ids(self) -> list[str]:
        return [m.id for m in self.handed]


@pytest.fixture
def rec():
    return Recorder()


def test_an_empty_store_is_waited_on_and_its_first_model_handed_over(rec, colour_model, tmp_path):
    store = tmp_path / "store"
    follower = rec.follower(store)
    assert follower.check() is False
    assert rec.handed == [] and "waiting" in follower.waiting and str(store) in follower.waiting
    add_model(store, ID_A, colour_model)
    assert follower.check() is True
    assert rec.ids == [ID_A] and follower.waiting == "" and follower.serving == ID_A


def test_without_a_deploy_the_newest_model_serves_and_a_deploy_wins(rec, colour_model, tmp_path):
    store = tmp_path / "store"
    add_model(store, ID_A, colour_model, created="2026-01-01T00:00:00Z")
    add_model(store, ID_B, colour_model, created="2026-02-01T00:00:00Z")
    follower = rec.follower(store)
    follower.check()
    assert rec.ids == [ID_B]
    ModelStore(store).deploy(ID_A)
    follower.check()
    assert rec.ids == [ID_B, ID_A]


def test_nothing_is_loaded_again_while_the_store_does_not_change(rec, colour_model, tmp_path):
    store = tmp_path / "store"
    add_model(store, ID_A, colour_model)
    ModelStore(store).deploy(ID_A)
    follower = rec.follower(store)
    for _ in range(5):
        follower.check()
    assert len(rec.loads) == 1
    ModelStore(store).deploy(ID_A)   # deployed again: looked at, but it already serves
    follower.check()
    assert len(rec.loads) == 1 and rec.ids == [ID_A]


@pytest.mark.parametrize("how, reason", [("garbled onnx", "model.onnx"),
                                         ("too few labels", "outputs 3 scores but labels.txt lists 2 classes")])
def test_a_model_that_does_not_load_is_refused_and_the_serving_one_stays(rec, colour_model, tmp_path, how, reason):
    store = tmp_path / "store"
    add_model(store, ID_A, colour_model)
    add_broken_model(store, ID_BROKEN, colour_model, how)
    ModelStore(store).deploy(ID_A)
    follower = rec.follower(store)
    follower.check()
    ModelStore(store).deploy(ID_BROKEN)
    assert follower.check() is False
    assert rec.ids == [ID_A] and follower.serving == ID_A
    assert follower.error.startswith(f"model {ID_BROKEN} refused: ") and reason in follower.error


def test_a_later_good_deploy_clears_the_refusal(rec, colour_model, tmp_path):
    store = tmp_path / "store"
    add_model(store, ID_A, colour_model)
    add_model(store, ID_B, colour_model, classes=CLASSES_B)
    add_broken_model(store, ID_BROKEN, colour_model)
    ModelStore(store).deploy(ID_A)
    follower = rec.follower(store)
    follower.check()
    ModelStore(store).deploy(ID_BROKEN)
    follower.check()
    assert follower.error
    ModelStore(store).deploy(ID_B)
    follower.check()
    assert rec.ids == [ID_A, ID_B] and follower.error == ""
    assert rec.handed[-1].card.classes == CLASSES_B


def test_rolling_back_to_the_serving_model_clears_the_refusal_without_a_reload(rec, colour_model, tmp_path):
    store = tmp_path / "store"
    add_model(store, ID_A, colour_model)
    add_broken_model(store, ID_BROKEN, colour_model)
    ModelStore(store).deploy(ID_A)
    follower = rec.follower(store)
    follower.check()
    ModelStore(store).deploy(ID_BROKEN)
    follower.check()
    ModelStore(store).deploy(ID_A)
    follower.check()
    assert follower.error == "" and rec.ids == [ID_A] and len(rec.loads) == 2


def test_a_deployed_folder_missing_a_file_is_a_refused_deploy_not_a_fallback(rec, colour_model, tmp_path):
    store = tmp_path / "store"
    add_model(store, ID_A, colour_model, created="2026-01-01T00:00:00Z")
    add_model(store, ID_B, colour_model, created="2026-02-01T00:00:00Z")
    ModelStore(store).deploy(ID_A)
    follower = rec.follower(store)
    follower.check()
    (store / ID_B / "model.json").unlink()
    (store / "deployed").write_text(f"{ID_B}\n")
    assert target(ModelStore(store)).id == ID_B
    follower.check()
    assert rec.ids == [ID_A] and "model.json" in follower.error


def test_the_follower_thread_picks_up_a_deploy(rec, colour_model, tmp_path):
    store = tmp_path / "store"
    add_model(store, ID_A, colour_model)
    add_model(store, ID_B, colour_model)
    ModelStore(store).deploy(ID_A)
    follower = rec.follower(store, poll=0.05)
    follower.check()
    follower.start()
    try:
        ModelStore(store).deploy(ID_B)
        assert wait_until(lambda: rec.ids == [ID_A, ID_B], timeout=30)
    finally:
        follower.stop()
