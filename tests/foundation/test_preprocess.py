"""The reference preprocessing that training, predict/evaluate and the edge share."""

import numpy as np

from socksort import preprocess
from socksort.modelcard import Preprocess


def image(h=48, w=64, seed=0):
    return (np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)


def test_normalize_matches_the_formula_in_the_model_card():
    pre = Preprocess(input_size=16)
    resized = image(16, 16)
    rgb = resized[:, :, ::-1].astype(np.float64)
    expected = ((rgb / 255.0 - np.array(pre.mean)) / np.array(pre.std)).transpose(2, 0, 1)
    assert np.allclose(preprocess.normalize(resized, pre), expected, atol=1e-5)


def test_bgr_channel_order_keeps_opencv_order():
    pre = Preprocess(input_size=16, channel_order="BGR", mean=(0, 0, 0), std=(1, 1, 1), pixel_scale=1.0)
    resized = image(16, 16)
    assert np.array_equal(preprocess.normalize(resized, pre), resized.transpose(2, 0, 1).astype(np.float32))


def test_prepare_gives_a_float32_nchw_batch_of_one():
    batch = preprocess.prepare(image(), Preprocess(input_size=32))
    assert batch.shape == (1, 3, 32, 32) and batch.dtype == np.float32


def test_shorter_center_crop_keeps_the_middle():
    pre = Preprocess(input_size=8, resize="shorter_center_crop", resize_shorter=8, interpolation="nearest")
    wide = np.zeros((8, 24, 3), np.uint8)
    wide[:, 8:16] = 255  # only the middle third is white
    assert preprocess.resize(wide, pre).min() == 255
