"""``socksort backbones``: what can be started from, and the ImageNet classifier as a model folder."""

import json

import numpy as np
import pytest

from socksort import modelcard
from socksort.contract import MODEL_FILES
from socksort.errors import UserError
from socksort.preprocess import prepare


def test_the_list_names_every_backbone_and_whether_its_weights_are_here(run_cli, tmp_path):
    result = run_cli("backbones", "--json", env={"MXNET_HOME": str(tmp_path / "mxnet")}, check=True)
    rows = {row["name"]: row for row in map(json.loads, result.stdout.splitlines())}
    assert set(rows) == {"efficientnet_lite0", "resnet18_v1", "mobilenetv2_1.0"}
    assert rows["efficientnet_lite0"]["weights_here"] is True
    assert rows["resnet18_v1"]["weights_here"] is False
    assert 4_000_000 < rows["efficientnet_lite0"]["parameters"] < 5_000_000
    assert all(row["input_size"] == 224 for row in rows.values())


@pytest.mark.parametrize("name", ["resnet18_v1", "mobilenetv2_1.0"])
def test_zoo_backbones_offline_point_at_efficientnet_lite0(name, tmp_path, monkeypatch):
    from socksort.training.backbones import build
    monkeypatch.setenv("SOCKSORT_OFFLINE", "1")
    monkeypatch.setenv("MXNET_HOME", str(tmp_path / "mxnet"))
    with pytest.raises(UserError, match="efficientnet_lite0"):
        build(name, 3, pretrained=True)


def test_unknown_backbones_are_named(run_cli):
    result = run_cli("backbones", "export", "vgg99", "--out", "m")
    assert result.returncode == 2
    assert "unknown backbone 'vgg99'" in result.stderr


@pytest.fixture(scope="module")
def imagenet_model(tmp_path_factory):
    import subprocess, sys
    out = tmp_path_factory.mktemp("imagenet") / "lite0"
    subprocess.run([sys.executable, "-m", "socksort", "backbones", "export", "efficientnet_lite0",
                    "--out", str(out)], check=True, capture_output=True, text=True)
    return out


def test_export_writes_every_file_of_a_model_folder(imagenet_model):
    assert all((imagenet_model / name).is_file() for name in MODEL_FILES)
    card = modelcard.load(imagenet_model, need=MODEL_FILES)
    assert len(card.classes) == 1000 and card.output == "probabilities"
    assert card.extra["onnx_check"]["top1_agree"] == card.extra["onnx_check"]["images"]


def test_the_exported_onnx_model_names_the_cat(imagenet_model, known_photos):
    import onnxruntime as ort
    card = modelcard.load(imagenet_model)
    session = ort.InferenceSession(str(imagenet_model / "model.onnx"), providers=["CPUExecutionProvider"])
    image, classes = known_photos["chelsea"]
    probabilities = session.run(None, {card.input_name: prepare(image, card.preprocess)})[0][0]
    assert int(np.argmax(probabilities)) in classes
    assert abs(float(probabilities.sum()) - 1.0) < 1e-4
    assert "cat" in card.classes[int(np.argmax(probabilities))]


def test_the_exported_mxnet_checkpoint_loads_without_our_code(imagenet_model, known_photos):
    import mxnet as mx
    card = modelcard.load(imagenet_model)
    sym, args, aux = mx.model.load_checkpoint(str(imagenet_model / "model"), 0)
    module = mx.mod.Module(sym, data_names=("data",), label_names=None)
    module.bind(data_shapes=[("data", (1, 3, 224, 224))], for_training=False)
    module.set_params(args, aux)
    image, classes = known_photos["coffee"]
    module.forward(mx.io.DataBatch([mx.nd.array(prepare(image, card.preprocess))]), is_train=False)
    assert int(module.get_outputs()[0].asnumpy().argmax()) in classes
