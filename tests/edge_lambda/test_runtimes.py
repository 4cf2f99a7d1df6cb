"""Both runtimes load the same model folder, agree, and refuse broken folders clearly."""

import shutil

import numpy as np
import pytest

from socksort import modelcard
from socksort.edge_lambda import runtimes
from socksort.edge_lambda.classify import Classifier
from socksort.errors import UserError

from edge_fixtures import CLASSES, COLOURS, build_colour_model


def solid(colour, size=(48, 64)):
    image = np.zeros((*size, 3), np.uint8)
    image[:] = colour
    return image


@pytest.mark.parametrize("kind", ["mxnet", "onnx"])
def test_runtime_recognises_each_colour(colour_model, kind):
    card = modelcard.load(colour_model)
    classifier = Classifier(card, runtimes.load(colour_model, card, kind))
    assert [classifier.classify(solid(COLOURS[c])).label for c in CLASSES] == list(CLASSES)


def test_mxnet_and_onnx_give_the_same_probabilities(colour_model):
    card = modelcard.load(colour_model)
    mx_clf = Classifier(card, runtimes.load(colour_model, card, "mxnet"))
    onnx_clf = Classifier(card, runtimes.load(colour_model, card, "onnx"))
    batch = mx_clf.prepare(solid((40, 90, 200)))
    assert np.allclose(mx_clf.infer(batch), onnx_clf.infer(batch), atol=1e-4)


def test_auto_prefers_onnx_when_the_folder_has_model_onnx(colour_model):
    assert runtimes.choose(colour_model, "auto") == "onnx"


def test_auto_falls_back_to_mxnet_without_model_onnx(colour_model, tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(colour_model, folder)
    (folder / "model.onnx").unlink()
    card = modelcard.load(folder)
    assert runtimes.load(folder, card, "auto").name == "mxnet"


def test_missing_model_file_names_the_file_and_runtime(colour_model, tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(colour_model, folder)
    (folder / "model-0000.params").unlink()
    with pytest.raises(UserError, match="missing model-0000.params .needed by --runtime mxnet"):
        runtimes.load(folder, modelcard.load(folder), "mxnet")


def test_corrupt_onnx_file_is_a_one_line_error(colour_model, tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(colour_model, folder)
    (folder / "model.onnx").write_bytes(b"garbage")
    with pytest.raises(UserError, match="cannot load .*model.onnx"):
        runtimes.load(folder, modelcard.load(folder), "onnx")


@pytest.mark.parametrize("kind", ["mxnet", "onnx"])
def test_labels_that_do_not_match_the_network_output_are_refused(colour_model, tmp_path, kind):
    from socksort.modelcard import ModelCard
    folder = tmp_path / "m"
    shutil.copytree(colour_model, folder)
    card = modelcard.load(folder)
    ModelCard(backbone=card.backbone, classes=(*CLASSES, "purple"), preprocess=card.preprocess).save(folder)
    with pytest.raises(UserError, match="outputs 3 scores but labels.txt lists 4 classes"):
        runtimes.load(folder, modelcard.load(folder), kind)


def test_logits_models_are_turned_into_probabilities(tmp_path):
    folder = build_colour_model(tmp_path / "logits", output="logits")
    card = modelcard.load(folder)
    classifier = Classifier(card, runtimes.load(folder, card, "onnx"))
    probabilities = classifier.infer(classifier.prepare(solid(COLOURS["green"])))
    assert probabilities.sum() == pytest.approx(1.0) and probabilities.argmax() == 1


def test_the_plain_mxnet_runtime_loads_without_a_warning_and_as_gluon_imports_it(colour_model):
    import warnings

    import mxnet as mx

    card = modelcard.load(colour_model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plain = runtimes.PlainMxnetRuntime(colour_model, card.input_name)
    assert [str(w.message) for w in caught if issubclass(w.category, UserWarning)] == []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = mx.gluon.SymbolBlock.imports(str(colour_model / "model-symbol.json"), [card.input_name],
                                                 str(colour_model / "model-0000.params"))
    batch = Classifier(card, plain).prepare(solid((40, 90, 200)))
    assert np.array_equal(plain.run(batch), reference(mx.nd.array(batch)).asnumpy()[0])
