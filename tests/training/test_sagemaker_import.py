"""``socksort import-sagemaker``: the algorithm's model.tar.gz becomes an ordinary model folder."""

import tarfile

import numpy as np
import pytest

from socksort import modelcard
from socksort.contract import MODEL_FILES
from socksort.errors import UserError
from socksort.preprocess import prepare
from socksort.training.predict import Classifier
from socksort.training.sagemaker_import import import_sagemaker


def labels(tmp_path, names):
    path = tmp_path / "labels.txt"
    path.write_text("".join(f"{n}\n" for n in names))
    return path


def test_the_archive_becomes_a_complete_model_folder(run_cli, tmp_path, sagemaker_archive):
    archive, _ = sagemaker_archive(3)
    run_cli("import-sagemaker", archive, "--labels", labels(tmp_path, ["Blank", "red", "blue"]),
            "--out", tmp_path / "model", check=True)
    card = modelcard.load(tmp_path / "model", need=MODEL_FILES)
    assert card.classes == ("Blank", "red", "blue")
    assert card.preprocess.input_size == 32            # from model-shapes.json
    assert card.preprocess.pixel_scale == 1.0 and card.preprocess.mean == (0.0, 0.0, 0.0)
    assert card.source == "sagemaker-image-classification"


def test_the_imported_model_answers_as_the_original_network(tmp_path, sagemaker_archive, small_images):
    import mxnet as mx
    archive, original = sagemaker_archive(3)
    import_sagemaker(archive, labels(tmp_path, ["a", "b", "c"]), tmp_path / "model")
    classifier = Classifier(tmp_path / "model")
    ours = classifier.probabilities(small_images[:1])[0]
    original.forward(mx.io.DataBatch([mx.nd.array(prepare(small_images[0], classifier.card.preprocess))]),
                     is_train=False)
    np.testing.assert_allclose(ours, original.get_outputs()[0].asnumpy()[0], rtol=1e-4, atol=1e-6)


def test_a_class_count_that_differs_from_the_labels_is_named(tmp_path, sagemaker_archive):
    archive, _ = sagemaker_archive(2)
    with pytest.raises(UserError, match="the model has 2 classes but .* names 3"):
        import_sagemaker(archive, labels(tmp_path, ["a", "b", "c"]), tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_an_archive_without_the_symbol_is_named(tmp_path):
    (tmp_path / "model-shapes.json").write_text("[]")
    with tarfile.open(tmp_path / "other.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "model-shapes.json", arcname="model-shapes.json")
    with pytest.raises(UserError, match="has no image-classification-symbol.json"):
        import_sagemaker(tmp_path / "other.tar.gz", labels(tmp_path, ["a"]), tmp_path / "model")


def test_a_file_that_is_not_an_archive_is_named(tmp_path):
    (tmp_path / "model.tar.gz").write_bytes(b"not a tarball")
    with pytest.raises(UserError, match="is not a readable .tar.gz"):
        import_sagemaker(tmp_path / "model.tar.gz", labels(tmp_path, ["a"]), tmp_path / "model")
