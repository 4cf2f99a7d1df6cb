"""Every output of the graph, for a batch: what a localising model's decoder reads.

``run`` and ``run_batch`` keep handing back the class scores only; ``run_outputs`` hands back
all outputs in graph order with the batch axis kept, on both runtimes.
"""

import numpy as np
import pytest

from socksort import modelcard, preprocess
from socksort.edge_lambda import runtimes

from edge_fixtures import BOX_CELL, BOX_INPUT, COLOURS


def two_frames(card):
    left = np.zeros((48, 64, 3), np.uint8)
    left[:] = COLOURS["red"]
    right = np.zeros((48, 64, 3), np.uint8)
    right[:] = COLOURS["blue"]
    return np.concatenate([preprocess.prepare(image, card.preprocess) for image in (left, right)])


@pytest.mark.parametrize("kind", ["mxnet", "onnx"])
def test_run_outputs_gives_every_output_in_graph_order_with_the_batch_kept(colour_box_model, kind):
    card = modelcard.load(colour_box_model)
    runtime = runtimes.load(colour_box_model, card, kind)
    outputs = runtime.run_outputs(two_frames(card))
    side = BOX_INPUT // BOX_CELL
    assert [o.shape for o in outputs] == [(2, 3), (2, 3, side, side), (2, 1, side, side)]
    # the cells say red all over the red frame and blue all over the blue one
    assert (outputs[1][0].argmax(axis=0) == 0).all() and (outputs[1][1].argmax(axis=0) == 2).all()


@pytest.mark.parametrize("kind", ["mxnet", "onnx"])
def test_run_still_gives_the_class_scores_of_a_model_with_more_outputs(colour_box_model, kind):
    card = modelcard.load(colour_box_model)
    runtime = runtimes.load(colour_box_model, card, kind)
    batch = two_frames(card)
    assert np.allclose(runtime.run(batch[:1]), runtime.run_outputs(batch)[0][0], atol=1e-5)
    assert np.allclose(runtime.run_batch(batch), runtime.run_outputs(batch)[0], atol=1e-5)


def test_both_runtimes_agree_on_every_output(colour_box_model):
    card = modelcard.load(colour_box_model)
    batch = two_frames(card)
    mx_out = runtimes.load(colour_box_model, card, "mxnet").run_outputs(batch)
    onnx_out = runtimes.load(colour_box_model, card, "onnx").run_outputs(batch)
    assert all(np.allclose(a, b, atol=1e-4) for a, b in zip(mx_out, onnx_out, strict=True))
