"""A localising model's classification carries the objects of the frame, boxes in the frame's
pixels; a model without localisation outputs classifies exactly as before, with no objects."""

import numpy as np
import pytest

from socksort import modelcard
from socksort.edge_lambda import runtimes
from socksort.edge_lambda.classify import Classifier
from socksort.edge_lambda.worker import inference
from socksort.localise import iou
from socksort.schema import Box

from edge_fixtures import patches_frame

TWO = [("red", (20, 40, 100, 120)), ("blue", (200, 60, 80, 100))]


def classifier(folder, kind="onnx"):
    card = modelcard.load(folder)
    return Classifier(card, runtimes.load(folder, card, kind))


def matches(objects, patches, scale=1.0):
    """Each object's label is its patch's colour and its box covers the patch (IoU >= 0.5, the issue's match)."""
    truth = {colour: Box(*(round(v * scale) for v in box)) for colour, box in patches}
    return (sorted(o.label for o in objects) == sorted(truth)
            and all(iou(o.box, truth[o.label]) >= 0.5 for o in objects))


@pytest.mark.parametrize("kind", ["onnx", "mxnet"])
def test_each_object_is_found_with_its_label_and_its_box_in_frame_pixels(colour_box_model, kind):
    result = classifier(colour_box_model, kind).classify(patches_frame(TWO))
    assert matches(result.objects, TWO)


def test_boxes_are_in_the_pixels_of_the_frame_whatever_its_size(colour_box_model):
    big = [(colour, tuple(2 * v for v in box)) for colour, box in TWO]
    result = classifier(colour_box_model).classify(patches_frame(big, size=(640, 480)))
    assert matches(result.objects, TWO, scale=2.0)


def test_objects_come_most_probable_first(colour_box_model):
    objects = classifier(colour_box_model).classify(patches_frame(TWO)).objects
    assert [o.probability for o in objects] == sorted((o.probability for o in objects), reverse=True)


def test_a_frame_with_nothing_in_it_has_no_objects_but_says_it_looked(colour_box_model):
    assert classifier(colour_box_model).classify(patches_frame([])).objects == ()


def test_a_model_without_localisation_outputs_has_no_objects(colour_model):
    clf = classifier(colour_model)
    assert clf.boxes is False and clf.classify(patches_frame(TWO)).objects is None


def test_the_whole_frame_decision_of_a_localising_model_is_its_output_0(colour_box_model):
    clf = classifier(colour_box_model)
    frame = patches_frame(TWO)
    result = clf.classify(frame)
    probabilities = np.asarray(clf.runtime.run(clf.prepare(frame)), dtype=np.float64)
    assert result.top == clf.decide(probabilities).top


def test_the_worker_finds_each_pictures_objects_in_that_pictures_pixels(colour_box_model):
    model = inference.load(colour_box_model)
    small = patches_frame(TWO)
    big = patches_frame([(colour, tuple(2 * v for v in box)) for colour, box in TWO], size=(640, 480))
    results = inference.classify_batch(model, [small, big, patches_frame([])])
    assert matches(results[0].objects, TWO) and matches(results[1].objects, TWO, scale=2.0)
    assert results[2].objects == ()
