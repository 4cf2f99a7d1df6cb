"""``--runtime onnx-int8``: the edge runs a folder's model.int8.onnx, and refuses a folder
without one in one line."""

import shutil

import cv2
import numpy as np
import pytest

from socksort import modelcard
from socksort.edge_lambda import runtimes
from socksort.edge_lambda.classify import Classifier
from socksort.edge_lambda.worker import inference
from socksort.errors import UserError

from edge_fixtures import CLASSES, COLOURS


def solid(colour, size=(48, 64)):
    image = np.zeros((*size, 3), np.uint8)
    image[:] = colour
    return image


@pytest.fixture(scope="module")
def int8_colour_model(colour_model, tmp_path_factory):
    """The colour model with model.int8.onnx, made by ``socksort quantize`` from colour photos."""
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("int8-colour")
    folder = root / "model"
    shutil.copytree(colour_model, folder)
    rng = np.random.default_rng(3)
    for label in CLASSES:
        (root / "photos" / label).mkdir(parents=True)
        for i in range(4):
            shade = np.clip(np.asarray(COLOURS[label]) + rng.integers(-20, 20, 3), 0, 255)
            cv2.imwrite(str(root / "photos" / label / f"{i}.png"), solid(shade))
    subprocess.run([sys.executable, "-m", "socksort", "quantize", str(folder), "--calibration", str(root / "photos")],
                   check=True, capture_output=True, timeout=300)
    return folder


def test_the_int8_runtime_runs_model_int8_onnx_and_recognises_each_colour(int8_colour_model):
    card = modelcard.load(int8_colour_model)
    runtime = runtimes.load(int8_colour_model, card, "onnx-int8")
    classifier = Classifier(card, runtime)
    assert runtime.name == "onnx-int8"
    assert [classifier.classify(solid(COLOURS[c])).label for c in CLASSES] == list(CLASSES)


def test_a_folder_without_model_int8_onnx_refuses_the_int8_runtime(colour_model):
    card = modelcard.load(colour_model)
    with pytest.raises(UserError, match="has no model.int8.onnx") as refused:
        runtimes.load(colour_model, card, "onnx-int8")
    assert "\n" not in str(refused.value)


def test_the_edge_command_refuses_the_int8_runtime_without_model_int8_onnx_in_one_line(run_cli, colour_model,
                                                                                     rgb_video):
    result = run_cli("edge", "--model", colour_model, "--source", rgb_video, "--runtime", "onnx-int8",
                     "--http", "none", "--mqtt-url", "none", "--frames", "3")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"socksort: error: model folder {colour_model} has no model.int8.onnx (needed by --runtime onnx-int8): "
        f"make it with socksort quantize {colour_model} --calibration PHOTOS, or train with --int8"]


def test_a_fleet_worker_loads_the_int8_model_when_asked(int8_colour_model):
    model = inference.load(int8_colour_model, runtime_kind="onnx-int8")
    assert model.classifier.runtime.name == "onnx-int8"
    decided = inference.classify_batch(model, [solid(COLOURS[c]) for c in CLASSES])
    assert [d.label for d in decided] == list(CLASSES)


def test_a_fleet_worker_refuses_the_int8_runtime_without_model_int8_onnx(colour_model):
    with pytest.raises(UserError, match="has no model.int8.onnx"):
        inference.load(colour_model, runtime_kind="onnx-int8")
