"""Box decoding and NMS on constructed feature maps (socksort.localise), and the card's 'localise'."""

from __future__ import annotations

import numpy as np
import pytest

from socksort import localise
from socksort.modelcard import Localise, ModelCard, Preprocess
from socksort.schema import Box, DetectedObject

SQUASH = Preprocess(input_size=224, resize="squash")


def card(classes=("red", "blue"), background=(), pre=SQUASH) -> ModelCard:
    return ModelCard(backbone="efficientnet_lite0", classes=classes, preprocess=pre,
                     localise=Localise(background=background, threshold=0.5, min_area=0.0))


def maps(blobs, classes: int, size: int = 7):
    """Outputs for one image: probabilities, cells (class logit 6 on each blob's cells), objectness
    (1.0 on the blobs' cells, 0 elsewhere); blobs are (class, rows slice, cols slice)."""
    cells = np.zeros((classes, size, size), np.float32)
    objectness = np.zeros((1, size, size), np.float32)
    for c, rows, cols in blobs:
        cells[c, rows, cols] = 6.0
        objectness[0, rows, cols] = 1.0
    return [np.full(classes, 1.0 / classes, np.float32), cells, objectness]


def test_iou_of_a_box_with_itself_is_one_and_with_a_disjoint_box_zero():
    a = Box(10, 10, 20, 20)
    assert localise.iou(a, a) == 1.0
    assert localise.iou(a, Box(40, 40, 5, 5)) == 0.0


def test_iou_of_half_overlapping_boxes_is_a_third():
    assert localise.iou(Box(0, 0, 20, 10), Box(10, 0, 20, 10)) == pytest.approx(1 / 3)


def test_nms_keeps_the_most_probable_of_overlapping_boxes_and_every_separate_one():
    strong = DetectedObject("red", 90.0, Box(0, 0, 100, 100))
    weak = DetectedObject("blue", 60.0, Box(5, 5, 100, 100))
    apart = DetectedObject("blue", 70.0, Box(200, 0, 50, 50))
    assert localise.nms([weak, apart, strong], 0.5) == (strong, apart)


def test_two_blobs_of_different_classes_are_two_objects_in_their_places():
    found = localise.find_objects(maps([(0, slice(1, 3), slice(1, 3)), (1, slice(4, 6), slice(4, 7))], 2),
                                  card(), 224, 224)
    by_label = {o.label: o.box for o in found}
    assert set(by_label) == {"red", "blue"}
    assert localise.iou(by_label["red"], Box(32, 32, 64, 64)) > 0.5
    assert localise.iou(by_label["blue"], Box(128, 128, 96, 64)) > 0.5


def test_objects_come_most_probable_first_with_probability_in_percent():
    outputs = maps([(0, slice(1, 3), slice(1, 3)), (1, slice(4, 6), slice(4, 7))], 2)
    outputs[1][1, 4:6, 4:7] = 2.0       # the blue blob is less sure of its class
    found = localise.find_objects(outputs, card(), 224, 224)
    assert [o.label for o in found] == ["red", "blue"]
    assert 50 < found[1].probability < found[0].probability <= 100


def test_touching_blobs_of_different_classes_are_split():
    found = localise.find_objects(maps([(0, slice(2, 5), slice(0, 3)), (1, slice(2, 5), slice(3, 6))], 2),
                                  card(), 224, 224)
    assert sorted(o.label for o in found) == ["blue", "red"]


def test_a_blob_the_background_class_claims_is_no_object():
    outputs = maps([(0, slice(1, 3), slice(1, 3)), (2, slice(4, 6), slice(4, 6))], 3)
    found = localise.find_objects(outputs, card(("red", "blue", "Blank"), ("Blank",)), 224, 224)
    assert [o.label for o in found] == ["red"]


def test_no_objectness_means_no_objects():
    outputs = maps([], 2)
    assert localise.find_objects(outputs, card(), 640, 480) == ()


def test_boxes_are_in_pixels_of_the_frame_through_a_squash():
    found = localise.find_objects(maps([(0, slice(0, 7), slice(0, 7))], 2), card(), 640, 480)
    assert found[0].box == Box(0, 0, 640, 480)


def test_boxes_of_a_centre_crop_model_lie_in_the_centred_square_of_the_frame():
    pre = Preprocess(input_size=224, resize="shorter_center_crop", resize_shorter=224)
    found = localise.find_objects(maps([(0, slice(0, 7), slice(0, 7))], 2), card(pre=pre), 640, 480)
    assert found[0].box == Box(80, 0, 480, 480)


def test_a_model_without_localisation_outputs_has_no_boxes():
    plain = ModelCard(backbone="efficientnet_lite0", classes=("red", "blue"))
    assert not localise.has_boxes(plain)
    assert localise.find_objects([np.array([0.5, 0.5])], plain, 640, 480) == ()


def test_a_card_with_localise_reads_back_the_same():
    written = card(("red", "Blank"), ("Blank",))
    assert ModelCard.from_dict(written.to_dict()) == written


def test_a_card_written_before_boxes_still_loads_and_writes_no_localise():
    old = ModelCard(backbone="efficientnet_lite0", classes=("red", "blue")).to_dict()
    assert "localise" not in old
    assert ModelCard.from_dict(old).localise is None


def test_a_card_naming_an_unknown_background_class_is_refused():
    data = card().to_dict()
    data["localise"]["background"] = ["Nothing"]
    with pytest.raises(ValueError, match="background"):
        ModelCard.from_dict(data)
