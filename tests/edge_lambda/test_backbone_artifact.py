"""The contract with training: the model folder `socksort backbones export` writes (the
real 1000-class EfficientNet-Lite0) loads in both of the edge's runtimes, which agree."""

import cv2
import numpy as np

from socksort import modelcard
from socksort.edge_lambda import runtimes
from socksort.edge_lambda.classify import Classifier


def camera_like_frame():
    rng = np.random.default_rng(3)
    frame = cv2.GaussianBlur(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8), (0, 0), 4)
    cv2.circle(frame, (320, 240), 120, (30, 40, 200), -1)
    return frame


def test_both_runtimes_run_the_exported_backbone_and_agree_on_the_top_guesses(efficientnet):
    card = modelcard.load(efficientnet)
    assert len(card.classes) == 1000
    decisions = [Classifier(card, runtimes.load(efficientnet, card, kind), top_k=3).classify(camera_like_frame())
                 for kind in ("onnx", "mxnet")]
    onnx, mxnet = decisions
    assert [g.label for g in onnx.top] == [g.label for g in mxnet.top]
    assert all(abs(a.probability - b.probability) <= 0.1 for a, b in zip(onnx.top, mxnet.top))
