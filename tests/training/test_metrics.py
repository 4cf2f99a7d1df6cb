"""Scores: accuracy, per-class accuracy and the confusion matrix (rows true, columns predicted)."""

import numpy as np

from socksort.training.metrics import Scores


def test_the_confusion_matrix_counts_true_rows_against_predicted_columns():
    scores = Scores.of(["a", "b", "c"], np.array([0, 0, 1, 2]), np.array([0, 1, 1, 2]))
    assert scores.confusion.tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    assert scores.accuracy == 0.75


def test_per_class_accuracy_is_none_for_a_class_without_photos():
    scores = Scores.of(["a", "b", "c"], np.array([0, 0]), np.array([0, 1]))
    assert scores.per_class() == {"a": 0.5, "b": None, "c": None}
