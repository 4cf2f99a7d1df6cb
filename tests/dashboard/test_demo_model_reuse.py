"""The demo reuses a trained model exactly when its training data is the data at hand."""

import json

from socksort.demo import Demo, DemoConfig
from socksort.modelcard import ModelCard
from socksort.modelcard import data_hash as records_hash


def test_records_hash_is_what_training_writes_as_train_data_hash(sock_model):
    records = sock_model.parent / "records"
    card = json.loads((sock_model / "model.json").read_text())
    assert card["train_data_hash"] == records_hash(records / "socks_train.rec", records / "socks_val.rec")


def test_a_model_trained_on_the_same_records_is_reused_without_training(tmp_path, capsys):
    train, val = tmp_path / "t.rec", tmp_path / "v.rec"
    train.write_bytes(b"train records")
    val.write_bytes(b"validation records")
    demo = Demo(DemoConfig(workdir=tmp_path / "demo", source=None))
    model = tmp_path / "demo" / "model"
    ModelCard(backbone="t", classes=("a", "b"), train_data_hash=records_hash(train, val)).save(model)
    assert demo.model(train, val) == model
    assert "reusing the model" in capsys.readouterr().err


def test_the_hash_covers_every_byte_and_the_order_of_the_files(tmp_path):
    a, b = tmp_path / "a.rec", tmp_path / "b.rec"
    a.write_bytes(b"one")
    b.write_bytes(b"two")
    before = records_hash(a, b)
    assert records_hash(b, a) != before
    b.write_bytes(b"twO")
    assert records_hash(a, b) != before
