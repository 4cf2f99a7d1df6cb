"""Decisions: top-k in percent, Blank below the confidence threshold."""

import numpy as np

from socksort.contract import BLANK_LABEL
from socksort.edge_lambda.classify import Classifier
from socksort.modelcard import ModelCard


def classifier(threshold=0.0, top_k=3):
    card = ModelCard(backbone="t", classes=("a", "b", "c", "d"))
    return Classifier(card, runtime=None, threshold=threshold, top_k=top_k)


def test_top_k_lists_the_best_classes_in_percent_best_first():
    decision = classifier(top_k=2).decide(np.array([0.1, 0.6, 0.05, 0.25]))
    assert [(g.label, g.probability) for g in decision.top] == [("b", 60.0), ("d", 25.0)]
    assert (decision.label, decision.probability) == ("b", 60.0)


def test_a_frame_below_the_threshold_counts_as_blank_with_its_best_guess_kept():
    decision = classifier(threshold=70).decide(np.array([0.1, 0.6, 0.05, 0.25]))
    assert decision.label == BLANK_LABEL
    assert decision.probability == 60.0 and decision.top[0].label == "b"


def test_a_frame_at_the_threshold_keeps_its_label():
    assert classifier(threshold=60).decide(np.array([0.1, 0.6, 0.05, 0.25])).label == "b"


def test_top_k_is_capped_by_the_number_of_classes():
    assert len(classifier(top_k=10).decide(np.array([0.1, 0.6, 0.05, 0.25])).top) == 4
