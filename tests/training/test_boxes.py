"""A trained model localises: its box outputs in MXNet and ONNX, predict --boxes, evaluate --boxes.

Uses the session's ``sock_model`` (trained the way a user trains, synth dataset -> im2rec ->
train) and ``sock_dataset``; scenes come from tests/support/scenes.py and ``socksort synth scene``.
"""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest
from scenes import dataset_designs, side_by_side

from socksort import localise, modelcard
from socksort.schema import Box
from socksort.training.onnx_export import onnx_all_outputs


@pytest.fixture(scope="module")
def classifier(sock_model):
    from socksort.training.predict import Classifier
    return Classifier(sock_model)


@pytest.fixture(scope="module")
def two_socks(sock_dataset):
    designs = dataset_designs(sock_dataset)
    return side_by_side([designs[0], designs[1]])


def test_a_trained_model_folder_says_it_localises(sock_model):
    card = modelcard.load(sock_model)
    assert localise.has_boxes(card)
    assert card.localise.background == ("Blank",)
    assert card.localise.boxes_output == 3
    assert card.extra["onnx_check"]["outputs"] == 4


def test_the_mean_of_the_cell_logits_is_the_whole_image_classification(classifier, two_socks):
    probabilities, cells = classifier.outputs([two_socks[0]])[0][:2]
    pooled = cells.reshape(len(cells), -1).mean(axis=1)
    softmax = np.exp(pooled - pooled.max()) / np.exp(pooled - pooled.max()).sum()
    np.testing.assert_allclose(softmax, probabilities, atol=1e-4)


def test_onnx_runtime_loads_the_localising_model_and_gives_every_output(sock_model, classifier, two_socks):
    from socksort.preprocess import prepare
    batch = prepare(two_socks[0], classifier.card.preprocess)
    converted = onnx_all_outputs(sock_model / "model.onnx", batch)
    reference = classifier.outputs([two_socks[0]])[0]
    assert [c.shape[1:] for c in converted] == [r.shape for r in reference]
    for c, r in zip(converted, reference):
        np.testing.assert_allclose(c[0], r, atol=1e-3 * max(1.0, float(np.abs(r).max())))


def test_a_trained_model_finds_two_socks_side_by_side_with_their_labels(classifier, two_socks):
    image, truth = two_socks
    found = classifier.objects([image])[0]
    assert sorted(o.label for o in found) == sorted(t["label"] for t in truth)
    # The session's model sees 128 pixels, 4 x 4 cells (8 x 8 for its box head): its boxes are coarse, but each
    # must be on its own sock.
    for t in truth:
        same = [o for o in found if o.label == t["label"]][0]
        centre_x = t["box"]["left"] + t["box"]["width"] / 2
        centre_y = t["box"]["top"] + t["box"]["height"] / 2
        assert same.box.left <= centre_x <= same.box.left + same.box.width, (same, t)
        assert same.box.top <= centre_y <= same.box.top + same.box.height, (same, t)
        assert localise.iou(same.box, Box(**t["box"])) > 0.1, (same, t)


def test_two_socks_of_one_design_side_by_side_are_two_objects(classifier, sock_dataset):
    design = dataset_designs(sock_dataset)[0]
    # A hand's width apart: the session's small model boxes each sock a third too big, and
    # two boxes of one design overlapping by a quarter are taken for one sock's parts.
    image, truth = side_by_side([design, design], apart=0.24)
    found = classifier.objects([image])[0]
    assert [o.label for o in found] == [design.name, design.name]
    # Left to right, each box holds its own sock's middle (the session's small model's boxes
    # are coarse, as in the test above).
    boxes = sorted((o.box for o in found), key=lambda b: b.left + b.width / 2)
    socks = sorted((t["box"] for t in truth), key=lambda b: b["left"] + b["width"] / 2)
    for box, sock in zip(boxes, socks):
        x, y = sock["left"] + sock["width"] / 2, sock["top"] + sock["height"] / 2
        assert box.left <= x <= box.left + box.width and box.top <= y <= box.top + box.height, (boxes, socks)


def test_predict_boxes_json_prints_each_image_path_as_passed_and_its_objects(sock_model, two_socks, run_cli, tmp_path):
    (tmp_path / "photos").mkdir()
    cv2.imwrite(str(tmp_path / "photos" / "two.jpg"), two_socks[0])
    result = run_cli("predict", "--model", sock_model, "--boxes", "--json", "photos/two.jpg", cwd=tmp_path,
                     check=True)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["path"] for line in lines] == ["photos/two.jpg"]
    height, width = two_socks[0].shape[:2]
    assert len(lines[0]["objects"]) >= 1
    for found in lines[0]["objects"]:
        box = found["box"]
        assert 0 <= box["left"] < box["left"] + box["width"] <= width
        assert 0 <= box["top"] < box["top"] + box["height"] <= height
        assert 0 <= found["probability"] <= 100
    probabilities = [o["probability"] for o in lines[0]["objects"]]
    assert probabilities == sorted(probabilities, reverse=True)


def test_evaluate_boxes_counts_the_objects_of_the_truth_file(sock_model, sock_dataset, run_cli, tmp_path):
    run_cli("synth", "scene", "--classes-from", sock_dataset, "--out", tmp_path / "scenes", "--count", 4,
            "--min-socks", 1, "--max-socks", 2, "--size", "320x240", "--seed", 9, check=True)
    truth = json.loads((tmp_path / "scenes" / "truth.json").read_text())
    result = run_cli("evaluate", "--model", sock_model, "--boxes", "--truth", tmp_path / "scenes" / "truth.json",
                     "--json", check=True)
    figures = json.loads(result.stdout)
    assert figures["scenes"] == 4
    assert figures["truth"] == sum(len(s["objects"]) for s in truth["scenes"])
    assert figures["matched"] <= min(figures["found"], figures["truth"])
    assert figures["precision"] == pytest.approx(figures["matched"] / figures["found"], abs=1e-4)


def test_evaluate_boxes_without_truth_says_what_it_needs(sock_model, run_cli):
    result = run_cli("evaluate", "--model", sock_model, "--boxes")
    assert result.returncode == 2
    assert "--truth" in result.stderr


@pytest.fixture(scope="module")
def plain_model(sock_model, tmp_path_factory):
    """The same model as a folder from before boxes: output 0 only, no 'localise' in model.json."""
    import mxnet as mx
    folder = tmp_path_factory.mktemp("plain") / "model"
    shutil.copytree(sock_model, folder)
    symbol = mx.sym.load(str(folder / "model-symbol.json"))
    symbol[0].save(str(folder / "model-symbol.json"))
    used = set(symbol[0].list_arguments()) | set(symbol[0].list_auxiliary_states())
    params = mx.nd.load(str(folder / "model-0000.params"))
    mx.nd.save(str(folder / "model-0000.params"), {k: v for k, v in params.items() if k.split(":", 1)[1] in used})
    data = json.loads((folder / "model.json").read_text())
    del data["localise"]
    (folder / "model.json").write_text(json.dumps(data))
    return folder


def test_a_model_folder_without_box_outputs_still_classifies(plain_model, two_socks, run_cli, tmp_path):
    cv2.imwrite(str(tmp_path / "two.jpg"), two_socks[0])
    result = run_cli("predict", "--model", plain_model, "--json", tmp_path / "two.jpg", check=True)
    assert json.loads(result.stdout)["top"]


def test_predict_boxes_on_a_model_without_box_outputs_says_so_in_one_line(plain_model, two_socks, run_cli, tmp_path):
    cv2.imwrite(str(tmp_path / "two.jpg"), two_socks[0])
    result = run_cli("predict", "--model", plain_model, "--boxes", tmp_path / "two.jpg")
    assert result.returncode == 2
    assert "cannot find boxes" in result.stderr and "Traceback" not in result.stderr
