"""The model store (socksort/modelstore.py): ids from lineage, the deployed pointer."""

from __future__ import annotations

from dataclasses import replace

import pytest

from socksort.contract import MODEL_FILES
from socksort.modelcard import ModelCard
from socksort.modelstore import ModelStore, NoSuchModel, model_id


def fake_model(store: ModelStore, mid: str, created: str) -> None:
    folder = store.root / mid
    folder.mkdir(parents=True)
    for name in MODEL_FILES:
        (folder / name).write_bytes(b"x")
    replace(ModelCard(backbone="t", classes=("a", "b")), id=mid, created=created).save(folder)


def test_the_same_lineage_gives_the_same_id_and_any_change_another():
    base = ("sha256:" + "0" * 64, "quick", "efficientnet_lite0", {"views": 4}, "0.1.0+abc")
    assert model_id(*base) == model_id(*base)
    assert model_id(*base) != model_id(*base[:3], {"views": 5}, base[4])
    assert len(model_id(*base)) == 12


def test_nothing_deployed_serves_the_newest(tmp_path):
    store = ModelStore(tmp_path)
    fake_model(store, "aaaaaaaaaaaa", "2026-01-02T00:00:00Z")
    fake_model(store, "bbbbbbbbbbbb", "2026-01-01T00:00:00Z")
    assert store.deployed() is None and store.current().id == "aaaaaaaaaaaa"


def test_a_deploy_wins_over_the_newest_and_a_rollback_is_a_deploy(tmp_path):
    store = ModelStore(tmp_path)
    fake_model(store, "aaaaaaaaaaaa", "2026-01-02T00:00:00Z")
    fake_model(store, "bbbbbbbbbbbb", "2026-01-01T00:00:00Z")
    store.deploy("bbbbbbbbbbbb")
    assert store.current().id == "bbbbbbbbbbbb"
    store.deploy("aaaaaaaaaaaa")
    assert (tmp_path / "deployed").read_text() == "aaaaaaaaaaaa\n"


def test_a_folder_missing_a_file_is_not_a_model(tmp_path):
    store = ModelStore(tmp_path)
    fake_model(store, "aaaaaaaaaaaa", "2026-01-01T00:00:00Z")
    (tmp_path / "aaaaaaaaaaaa" / "model.onnx").unlink()
    assert store.models() == []
    with pytest.raises(NoSuchModel):
        store.deploy("aaaaaaaaaaaa")


def test_an_id_that_is_not_12_hex_digits_is_refused(tmp_path):
    with pytest.raises(NoSuchModel, match="not a model id"):
        ModelStore(tmp_path).get("../etc")
