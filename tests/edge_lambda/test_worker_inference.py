"""A batch of frames through the model in one call gives what one frame at a time gives."""

from __future__ import annotations

import pytest
from fleet_fixtures import batch_colour_model, colour_jpeg, with_id

from socksort.edge_lambda.worker import inference


@pytest.fixture(scope="module")
def batch_model(tmp_path_factory):
    return batch_colour_model(tmp_path_factory.mktemp("batch-model") / "colour")


def pictures(names):
    return [inference.decode(colour_jpeg(n), n) for n in names]


def test_a_batch_across_cameras_decides_each_frame_as_the_edge_classifier_does(batch_model):
    model = inference.load(batch_model)
    names = ["red", "green", "blue", "blue", "red"]
    batched = inference.classify_batch(model, pictures(names))
    one_by_one = [model.classifier.classify(p) for p in pictures(names)]
    assert [r.label for r in batched] == names
    assert batched == one_by_one


def test_a_model_exported_for_one_frame_runs_a_batch_frame_by_frame(colour_model):
    model = inference.load(colour_model)
    assert model.max_batch == 1
    assert [r.label for r in inference.classify_batch(model, pictures(["blue", "red"]))] == ["blue", "red"]


def test_the_loaded_model_carries_its_model_json_id(batch_model, tmp_path):
    assert inference.load(with_id(batch_model, tmp_path / "m", "0123456789ab")).id == "0123456789ab"
