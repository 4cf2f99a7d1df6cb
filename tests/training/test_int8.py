"""INT8 export (training/quantize.py): ``socksort train --int8`` on both paths and
``socksort quantize`` on a folder that exists."""

import json
import shutil

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from teach_photos import write_photos

from socksort import modelcard
from socksort.training import data
from socksort.training.train import prepare_batch


def top1(path, batch):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return session.run(None, {name: batch})[0].argmax(axis=1)


@pytest.fixture(scope="module")
def quantized_sock_model(sock_model, tmp_path_factory, run_cli):
    """The shared sock model (RecordIO-trained) copied and quantized by ``socksort quantize``."""
    folder = tmp_path_factory.mktemp("int8") / "model"
    shutil.copytree(sock_model, folder)
    records = sock_model.parent / "records"
    result = run_cli("quantize", folder, "--calibration", records / "socks_train.rec", "--json", check=True)
    return folder, records, json.loads(result.stdout)


@pytest.fixture(scope="module")
def run_cli(tmp_path_factory):
    import os
    import subprocess
    import sys

    def run(*args, check=False):
        result = subprocess.run([sys.executable, "-m", "socksort", *map(str, args)], capture_output=True, text=True,
                                env={**os.environ, "SOCKSORT_OFFLINE": "1"}, timeout=600,
                                cwd=tmp_path_factory.getbasetemp())
        if check and result.returncode != 0:
            raise AssertionError(f"socksort {' '.join(map(str, args))} failed:\n{result.stderr[-3000:]}")
        return result
    return run


def test_int8_model_agrees_with_fp32_on_top1_for_98_percent_of_the_validation_photos(quantized_sock_model):
    folder, records, _ = quantized_sock_model
    card = modelcard.load(folder)
    batch = prepare_batch(data.read_records(records / "socks_val.rec", len(card.classes)), card.preprocess)
    agree = (top1(folder / "model.onnx", batch) == top1(folder / "model.int8.onnx", batch)).mean()
    assert agree >= 0.98, f"INT8 top-1 agrees with FP32 on {100 * agree:.1f}% of {len(batch)} validation photos"


def test_quantize_records_its_figures_in_model_json(quantized_sock_model):
    folder, _, printed = quantized_sock_model
    int8 = json.loads((folder / "model.json").read_text())["extra"]["int8"]
    assert int8["file"] == "model.int8.onnx" and (folder / int8["file"]).is_file()
    assert int8["validation_photos"] > 0 and int8["calibration_photos"] > 0
    assert int8["accuracy_lost_points"] == pytest.approx(100 * (int8["fp32_accuracy"] - int8["int8_accuracy"]))
    assert int8["speedup"] == pytest.approx(int8["fp32_ms"] / int8["int8_ms"], rel=0.01)
    assert printed["top1_agreement"] == int8["top1_agreement"]


def test_int8_model_keeps_every_graph_output_and_output_0_is_class_probabilities(quantized_sock_model):
    folder, records, _ = quantized_sock_model
    fp32, int8 = onnx.load(str(folder / "model.onnx")), onnx.load(str(folder / "model.int8.onnx"))
    assert [o.name for o in int8.graph.output] == [o.name for o in fp32.graph.output]
    card = modelcard.load(folder)
    batch = prepare_batch(data.read_records(records / "socks_val.rec", len(card.classes)), card.preprocess)
    session = ort.InferenceSession(str(folder / "model.int8.onnx"), providers=["CPUExecutionProvider"])
    probabilities = session.run(None, {session.get_inputs()[0].name: batch})[0]
    assert probabilities.shape == (len(batch), len(card.classes))
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-3)


def test_train_from_photos_with_int8_writes_the_int8_model_with_the_folder(tmp_path, run_cli):
    photos = write_photos(tmp_path / "photos", per_class=4)
    result = run_cli("train", "--images", photos, "--models", tmp_path / "store", "--quick", "--int8", "--json",
                     check=True)
    answer = json.loads(result.stdout)
    folder = tmp_path / "store" / answer["model"]
    assert (folder / "model.int8.onnx").is_file()
    assert json.loads((folder / "model.json").read_text())["extra"]["int8"] == answer["int8"]


def test_training_again_with_int8_adds_it_to_a_stored_model_made_without(tmp_path, run_cli):
    photos = write_photos(tmp_path / "photos", per_class=4)
    first = json.loads(run_cli("train", "--images", photos, "--models", tmp_path / "store", "--quick", "--json",
                               check=True).stdout)
    assert not (tmp_path / "store" / first["model"] / "model.int8.onnx").exists()
    again = json.loads(run_cli("train", "--images", photos, "--models", tmp_path / "store", "--quick", "--int8",
                               "--json", check=True).stdout)
    assert again["reused"] and again["model"] == first["model"]
    assert (tmp_path / "store" / first["model"] / "model.int8.onnx").is_file()
    assert again["int8"]["top1_agreement"] >= 0.98


def test_train_from_records_with_int8_records_it_in_model_json(tiny_dataset, tmp_path, run_cli):
    out = tmp_path / "model"
    run_cli("train", "--train", tiny_dataset / "tiny_train.rec", "--val", tiny_dataset / "tiny_val.rec",
            "--out", out, "--epochs", 0, "--warmup-epochs", 1, "--input-size", 64, "--batch-size", 8,
            "--workers", 1, "--int8", "--box-scenes", 0, check=True)   # quantized_sock_model has a head
    int8 = json.loads((out / "model.json").read_text())["extra"]["int8"]
    assert (out / "model.int8.onnx").is_file()
    assert int8["validation_photos"] == len(data.read_records(tiny_dataset / "tiny_val.rec", 3))


def test_quantize_refuses_a_calibration_path_that_is_no_photos_in_one_line(quantized_sock_model, tmp_path, run_cli):
    folder, _, _ = quantized_sock_model
    (tmp_path / "notes.txt").write_text("not photos")
    result = run_cli("quantize", folder, "--calibration", tmp_path / "notes.txt")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("socksort: error: --calibration")
