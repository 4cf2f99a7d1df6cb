"""``socksort train``: a complete, self-describing model folder from two .rec files."""

import json


from socksort import modelcard
from socksort.contract import MODEL_FILES
from socksort.training import data
from socksort.training.predict import Classifier

from_conftest_input = 64


def test_training_writes_a_complete_model_folder_with_plots(tiny_training):
    names = {p.name for p in tiny_training.model.iterdir()}
    assert set(MODEL_FILES) <= names
    assert {"training-curves.png", "confusion-matrix.png", "training-history.json"} <= names
    for png in ("training-curves.png", "confusion-matrix.png"):
        assert (tiny_training.model / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in tiny_training.dir.iterdir() if p.name.startswith(".model.")]  # no staging left


def test_the_card_describes_backbone_preprocessing_accuracy_and_data(tiny_training):
    card = modelcard.load(tiny_training.model, need=MODEL_FILES)
    d = tiny_training.dir
    assert card.backbone == "efficientnet_lite0"
    assert card.classes == tuple(data.read_classes(d / "tiny_classes.txt"))
    assert card.preprocess.input_size == from_conftest_input
    assert card.preprocess.resize == "shorter_center_crop"
    assert 0.0 <= card.val_accuracy <= 1.0
    assert card.train_data_hash == modelcard.data_hash(d / "tiny_train.rec", d / "tiny_val.rec")
    assert card.created and card.created.endswith("Z")
    assert card.output == "probabilities"


def test_validation_accuracy_is_what_the_saved_model_scores_on_the_validation_records(tiny_training):
    """Training's validation path and the reference preprocessing are the same path."""
    card = modelcard.load(tiny_training.model)
    records = data.read_records(tiny_training.dir / "tiny_val.rec", len(card.classes))
    classifier = Classifier(tiny_training.model)
    predicted = classifier.probabilities([records.decode(i) for i in range(len(records))]).argmax(axis=1)
    assert card.val_accuracy == round(float((predicted == records.labels).mean()), 6)


def test_history_has_a_head_warm_up_then_fine_tuning(tiny_training):
    history = json.loads((tiny_training.model / "training-history.json").read_text())
    assert [e["phase"] for e in history["epochs"]] == ["warmup", "finetune"]
    assert all(e["images_per_s"] > 0 for e in history["epochs"])


def test_progress_shows_loss_accuracy_and_images_per_second(tiny_training):
    epoch_lines = [line for line in tiny_training.stderr.splitlines() if line.startswith("epoch ")]
    assert epoch_lines
    assert all("loss" in line and "acc" in line and "img/s" in line for line in epoch_lines)


def test_the_summary_table_lists_every_epoch(tiny_training):
    rows = [line for line in tiny_training.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert len(rows) == 2
    assert "best epoch" in tiny_training.stdout


def test_the_onnx_model_agrees_with_mxnet_on_the_validation_images(tiny_training):
    check = modelcard.load(tiny_training.model).extra["onnx_check"]
    assert check["images"] > 0 and check["top1_agree"] == check["images"]
