"""Scoring found objects against truth, and the sliding window's crops (training/boxes.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from socksort.errors import UserError
from socksort.schema import Box, DetectedObject
from socksort.training import boxes


def thing(label, probability, left, top, width=100, height=100):
    return DetectedObject(label, probability, Box(left, top, width, height))


def scene(*objects):
    return boxes.Scene(path=None, width=640, height=480, objects=objects)


def test_a_found_object_matches_a_true_one_only_at_iou_one_half_or_more():
    truth = [scene(thing("a", 100, 0, 0), thing("b", 100, 300, 0))]
    found = [[thing("a", 90, 10, 10), thing("b", 80, 360, 0)]]    # IoU 0.68 and 0.25
    scores = boxes.score(found, truth)
    assert (scores.found, scores.truth, scores.matched) == (2, 2, 1)
    assert scores.precision == scores.recall == 0.5


def test_one_true_object_matches_at_most_one_found_object():
    scores = boxes.score([[thing("a", 90, 0, 0), thing("a", 80, 2, 2)]], [scene(thing("a", 100, 0, 0))])
    assert scores.matched == 1 and scores.found == 2


def test_label_accuracy_counts_the_matched_objects_with_the_true_label():
    truth = [scene(thing("a", 100, 0, 0), thing("b", 100, 300, 0))]
    scores = boxes.score([[thing("a", 90, 0, 0), thing("a", 90, 300, 0)]], truth)
    assert scores.matched == 2 and scores.label_accuracy == 0.5


def test_truth_files_of_another_format_are_refused_in_one_line(tmp_path):
    path = tmp_path / "truth.json"
    path.write_text(json.dumps({"format": "something-else", "scenes": []}))
    with pytest.raises(UserError, match="socksort-scenes/1"):
        boxes.load_truth(path)


def test_truth_paths_are_relative_to_the_truth_file(tmp_path):
    path = tmp_path / "scenes" / "truth.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"format": "socksort-scenes/1", "scenes": [
        {"path": "scene-00000.jpg", "width": 64, "height": 48,
         "objects": [{"label": "a", "box": {"left": 1, "top": 2, "width": 3, "height": 4}}]}]}))
    (loaded,) = boxes.load_truth(path)
    assert loaded.path == tmp_path / "scenes" / "scene-00000.jpg"
    assert loaded.objects[0].box == Box(1, 2, 3, 4)


def test_sliding_windows_cover_every_pixel_of_the_frame_at_every_scale():
    for scale in boxes.WINDOW_SCALES:
        covered = np.zeros((480, 640), bool)
        for w in boxes.windows(640, 480, scales=(scale,)):
            assert w.left + w.width <= 640 and w.top + w.height <= 480
            covered[w.top:w.top + w.height, w.left:w.left + w.width] = True
        assert covered.all()
