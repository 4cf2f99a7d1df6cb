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


# --- a trained box head's output (boxes_output) ---------------------------------------

def head_card(classes=("red", "blue"), background=(), pre=SQUASH) -> ModelCard:
    return ModelCard(backbone="efficientnet_lite0", classes=classes, preprocess=pre,
                     localise=Localise(background=background, boxes_output=3, box_threshold=0.5, nms_iou=0.3))


def head_outputs(things, classes: int, size: int = 14):
    """Outputs for one image whose box head says: each thing (class, row, col, (x0, y0, x1, y1)
    as fractions of the input) has its middle at that cell, sure (logit 4), and that box."""
    head = np.zeros((5 + classes, size, size), np.float32)
    head[0] = -6.0
    head[1:5] = np.log(0.05)
    for c, row, col, (x0, y0, x1, y1) in things:
        x, y = (col + 0.5) / size, (row + 0.5) / size
        head[0, row, col] = 4.0
        head[1:5, row, col] = np.log([x - x0, y - y0, x1 - x, y1 - y])
        head[5 + c, row, col] = 6.0
    cells = np.zeros((classes, size // 2, size // 2), np.float32)
    return [np.full(classes, 1.0 / classes, np.float32), cells, np.zeros((1, size // 2, size // 2), np.float32), head]


def test_a_head_cell_sure_of_a_middle_gives_the_box_it_regresses_and_its_class():
    found = localise.find_objects(head_outputs([(1, 3, 4, (0.1, 0.1, 0.5, 0.4))], 2), head_card(), 640, 480)
    assert [o.label for o in found] == ["blue"]
    assert found[0].box == Box(64, 48, 256, 144)
    assert found[0].probability > 99


def test_two_things_of_one_class_side_by_side_are_two_objects():
    things = [(0, 7, 3, (0.05, 0.3, 0.45, 0.8)), (0, 7, 10, (0.5, 0.3, 0.95, 0.8))]
    found = localise.find_objects(head_outputs(things, 2), head_card(), 224, 224)
    assert [o.label for o in found] == ["red", "red"]
    assert sorted(o.box.left for o in found) == [11, 112]


def test_of_neighbouring_cells_boxing_one_thing_one_object_stays():
    outputs = head_outputs([(0, 5, 5, (0.2, 0.2, 0.6, 0.6)), (0, 5, 6, (0.22, 0.2, 0.62, 0.6))], 2)
    outputs[3][0, 5, 6] = 2.0
    found = localise.find_objects(outputs, head_card(), 224, 224)
    assert [o.label for o in found] == ["red"]


def test_boxes_of_one_thing_vote_on_its_box_by_middle_probability():
    outputs = head_outputs([(0, 5, 5, (0.2, 0.2, 0.6, 0.6)), (0, 5, 6, (0.25, 0.2, 0.65, 0.6))], 2)
    outputs[3][0, 5, 6] = 2.0           # IoU 0.78 with the surer box
    sure, less = 1 / (1 + np.exp(-4.0)), 1 / (1 + np.exp(-2.0))
    found = localise.find_objects(outputs, head_card(), 1000, 1000)
    assert len(found) == 1
    assert found[0].box.left == round((200 * sure + 250 * less) / (sure + less))
    assert found[0].box.width == 400


def test_a_box_overlapping_a_thing_too_little_has_no_vote_on_it():
    outputs = head_outputs([(0, 5, 5, (0.2, 0.2, 0.6, 0.6)), (0, 5, 6, (0.35, 0.2, 0.75, 0.6))], 2)
    outputs[3][0, 5, 6] = 2.0           # IoU 0.45: dropped as inside the surer box, and no vote
    found = localise.find_objects(outputs, head_card(), 1000, 1000)
    assert [o.box for o in found] == [Box(200, 200, 400, 400)]


def test_a_box_of_another_label_has_no_vote_on_a_thing():
    outputs = head_outputs([(0, 5, 5, (0.2, 0.2, 0.6, 0.6)), (1, 5, 6, (0.25, 0.2, 0.65, 0.6))], 2)
    outputs[3][0, 5, 6] = 2.0           # IoU 0.78, suppressed as the same thing
    found = localise.find_objects(outputs, head_card(), 1000, 1000)
    assert [(o.label, o.box) for o in found] == [("red", Box(200, 200, 400, 400))]


def test_two_overlapping_boxes_of_one_label_are_parts_of_one_thing_in_one_box():
    # 30 % of the smaller box lies inside the other; IoU 0.17, under the card's nms_iou
    outputs = head_outputs([(0, 5, 5, (0.1, 0.1, 0.65, 0.7)), (0, 9, 9, (0.35, 0.4, 0.95, 0.9))], 2)
    outputs[3][0, 9, 9] = 2.0
    found = localise.find_objects(outputs, head_card(), 224, 224)
    assert len(found) == 1
    assert found[0].box == Box(round(0.1 * 224), round(0.1 * 224), round(0.95 * 224) - round(0.1 * 224),
                               round(0.9 * 224) - round(0.1 * 224))


def test_two_small_overlapping_boxes_of_one_label_are_two_things_lying_over_each_other():
    # the parts test's boxes at half the size: together 0.43 of the frame, under PART_REACH
    outputs = head_outputs([(0, 3, 3, (0.05, 0.05, 0.325, 0.35)), (0, 5, 5, (0.175, 0.2, 0.475, 0.45))], 2)
    outputs[3][0, 5, 5] = 2.0
    found = localise.find_objects(outputs, head_card(), 224, 224)
    assert [o.label for o in found] == ["red", "red"]
    assert sorted(o.box.left for o in found) == [round(0.05 * 224), round(0.175 * 224)]


def test_a_box_half_inside_a_surer_one_of_another_label_is_dropped():
    outputs = head_outputs([(0, 7, 7, (0.1, 0.1, 0.9, 0.9)), (1, 3, 7, (0.3, 0.0, 0.9, 0.4))], 2)
    outputs[3][0, 3, 7] = 2.0           # 75 % of it inside the surer box, IoU 0.26
    found = localise.find_objects(outputs, head_card(), 224, 224)
    assert [o.label for o in found] == ["red"]


def test_two_overlapping_boxes_of_different_labels_are_two_things():
    outputs = head_outputs([(0, 5, 5, (0.1, 0.1, 0.65, 0.7)), (1, 9, 9, (0.35, 0.4, 0.95, 0.9))], 2)
    found = localise.find_objects(outputs, head_card(), 224, 224)
    assert sorted(o.label for o in found) == ["blue", "red"]


def test_cells_unsure_of_a_middle_give_no_boxes():
    outputs = head_outputs([(0, 5, 5, (0.2, 0.2, 0.6, 0.6))], 2)
    outputs[3][0, 5, 5] = -1.0          # 27 %, under the card's 50 %
    assert localise.find_objects(outputs, head_card(), 224, 224) == ()


def test_a_middle_the_head_calls_background_is_no_object():
    outputs = head_outputs([(2, 5, 5, (0.2, 0.2, 0.6, 0.6)), (0, 10, 10, (0.6, 0.6, 0.9, 0.9))], 3)
    outputs[3][5 + 0, 5, 5] = 3.0       # red, far behind Blank
    found = localise.find_objects(outputs, head_card(("red", "blue", "Blank"), ("Blank",)), 224, 224)
    assert [(o.label, o.box.left) for o in found] == [("red", round(0.6 * 224))]


def test_a_centre_crop_heads_box_reaches_past_the_square_into_the_frame():
    pre = Preprocess(input_size=224, resize="shorter_center_crop", resize_shorter=224)
    found = localise.find_objects(head_outputs([(0, 7, 0, (-0.1, 0.2, 0.3, 0.6))], 2), head_card(pre=pre), 640, 480)
    assert found[0].box == Box(32, 96, 192, 192)


def test_a_frame_the_classifier_reads_as_background_has_no_head_objects():
    outputs = head_outputs([(0, 7, 1, (0.0, 0.3, 0.2, 0.7))], 3)
    outputs[0] = np.array([0.1, 0.1, 0.8], np.float32)      # Blank, 80 %
    assert localise.find_objects(outputs, head_card(("red", "blue", "Blank"), ("Blank",)), 224, 224) == ()


def test_a_frame_the_classifier_reads_as_a_thing_keeps_its_head_objects():
    outputs = head_outputs([(0, 7, 7, (0.3, 0.3, 0.7, 0.7))], 3)
    outputs[0] = np.array([0.6, 0.1, 0.3], np.float32)
    found = localise.find_objects(outputs, head_card(("red", "blue", "Blank"), ("Blank",)), 224, 224)
    assert [o.label for o in found] == ["red"]


def test_a_head_object_is_no_surer_than_the_classifier_is_that_the_frame_is_not_empty():
    outputs = head_outputs([(0, 7, 7, (0.3, 0.3, 0.7, 0.7))], 3)
    outputs[0] = np.array([0.5, 0.1, 0.4], np.float32)      # Blank, 40 %
    found = localise.find_objects(outputs, head_card(("red", "blue", "Blank"), ("Blank",)), 224, 224)
    assert [(o.label, o.probability) for o in found] == [("red", 60.0)]


def test_a_head_output_of_the_wrong_shape_is_refused_naming_the_output():
    outputs = head_outputs([], 2)
    outputs[3] = outputs[3][:4]
    with pytest.raises(ValueError, match="output 3"):
        localise.find_objects(outputs, head_card(), 224, 224)


def test_a_card_whose_box_head_shares_an_output_is_refused():
    data = head_card().to_dict()
    data["localise"]["boxes_output"] = 2
    with pytest.raises(ValueError, match="distinct"):
        ModelCard.from_dict(data)


def test_a_card_with_a_box_head_reads_back_the_same():
    written = head_card(("red", "Blank"), ("Blank",))
    assert ModelCard.from_dict(written.to_dict()) == written
