"""The optimised MXNet path (Pads and BatchNorms folded into the convolutions, oneDNN
fusion, one bound executor) says what the plain Gluon path says, on real photographs through the real
ImageNet backbone, and leaves the model folder as training wrote it."""

import hashlib
import json

import cv2
import numpy as np
import pytest

from socksort import modelcard
from socksort.edge_lambda import runtimes
from socksort.edge_lambda.classify import Classifier
from socksort.edge_lambda.fold import fold_batchnorm, fold_pads

PHOTOS = ("chelsea", "coffee")


def photo(name):
    import skimage.data
    return cv2.cvtColor(getattr(skimage.data, name)(), cv2.COLOR_RGB2BGR)


def probabilities(folder, runtime):
    card = modelcard.load(folder)
    classifier = Classifier(card, runtime)
    return [classifier.infer(classifier.prepare(photo(name))) for name in PHOTOS]


@pytest.fixture(scope="module")
def plain(efficientnet):
    card = modelcard.load(efficientnet)
    return probabilities(efficientnet, runtimes.PlainMxnetRuntime(efficientnet, card.input_name))


@pytest.mark.parametrize("backend", ["default", "NONE"])
def test_fast_mxnet_path_matches_the_plain_path_on_photographs(efficientnet, plain, monkeypatch, backend):
    if backend == "NONE":
        monkeypatch.setenv("MXNET_SUBGRAPH_BACKEND", "NONE")   # BatchNorm folding alone
    card = modelcard.load(efficientnet)
    runtime = runtimes.load(efficientnet, card, "mxnet")
    fast = probabilities(efficientnet, runtime)
    assert (runtime.folded_pads, runtime.folded_batchnorms) == (5, 49)
    for got, want in zip(fast, plain):
        assert got.argmax() == want.argmax()
        assert np.abs(got - want).max() < 1e-4


def test_the_plain_path_recognises_the_photographs(efficientnet, plain):
    # Guards the comparison above: two paths agreeing on nonsense would prove nothing.
    classes = modelcard.load(efficientnet).classes
    cat, coffee = (classes[int(p.argmax())] for p in plain)
    assert "cat" in cat and coffee in ("espresso", "tea cup", "coffee mug", "cup")


def test_loading_the_fast_path_leaves_the_model_folder_unchanged(efficientnet):
    def digest():
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(efficientnet.iterdir())}
    before = digest()
    runtimes.load(efficientnet, modelcard.load(efficientnet), "mxnet")
    assert digest() == before


def conv_bn_network(fix_gamma, conv_bias):
    import mxnet as mx
    data = mx.sym.var("data")
    conv = mx.sym.Convolution(data, num_filter=4, kernel=(3, 3), pad=(1, 1), no_bias=not conv_bias, name="c")
    bn = mx.sym.BatchNorm(conv, fix_gamma=fix_gamma, eps=1e-3, name="bn")
    pooled = mx.sym.Pooling(bn, kernel=(2, 2), pool_type="avg", global_pool=True)
    out = mx.sym.broadcast_add(mx.sym.clip(bn, 0, 6), mx.sym.BatchNorm(pooled, fix_gamma=False, name="bn_after_pool"))
    rng = np.random.default_rng(5)
    params = {"c_weight": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
              "bn_gamma": rng.uniform(0.5, 2, 4).astype(np.float32),
              "bn_beta": rng.standard_normal(4).astype(np.float32),
              "bn_moving_mean": rng.standard_normal(4).astype(np.float32),
              "bn_moving_var": rng.uniform(0.1, 3, 4).astype(np.float32),
              "bn_after_pool_gamma": np.full(4, 2, np.float32), "bn_after_pool_beta": np.ones(4, np.float32),
              "bn_after_pool_moving_mean": np.zeros(4, np.float32),
              "bn_after_pool_moving_var": np.ones(4, np.float32)}
    if conv_bias:
        params["c_bias"] = rng.standard_normal(4).astype(np.float32)
    return out, params


def forward(symbol, params, x):
    import mxnet as mx
    names = set(symbol.list_arguments())
    executor = symbol.simple_bind(mx.cpu(), grad_req="null", data=x.shape)
    executor.copy_params_from({k: mx.nd.array(v) for k, v in params.items() if k in names},
                              {k: mx.nd.array(v) for k, v in params.items() if k not in names})
    executor.arg_dict["data"][:] = x
    return executor.forward(is_train=False)[0].asnumpy()


@pytest.mark.parametrize("fix_gamma,conv_bias", [(False, False), (False, True), (True, False)])
def test_folding_batchnorm_into_a_convolution_keeps_its_output(monkeypatch, fix_gamma, conv_bias):
    import mxnet as mx
    monkeypatch.setenv("MXNET_SUBGRAPH_BACKEND", "NONE")   # compare plain operators with plain operators
    symbol, params = conv_bn_network(fix_gamma, conv_bias)
    graph, folded_params, count = fold_batchnorm(symbol.tojson(), params)
    folded = mx.sym.load_json(graph)
    ops = [node["op"] for node in json.loads(graph)["nodes"]]
    x = np.random.default_rng(1).standard_normal((2, 3, 8, 8)).astype(np.float32)
    assert count == 1 and ops.count("BatchNorm") == 1   # the one after pooling has no convolution to go into
    assert np.allclose(forward(folded, folded_params, x), forward(symbol, params, x), atol=1e-5)


def test_a_convolution_whose_output_is_also_used_elsewhere_is_not_folded():
    import mxnet as mx
    data = mx.sym.var("data")
    conv = mx.sym.Convolution(data, num_filter=2, kernel=(1, 1), no_bias=True, name="c")
    symbol = mx.sym.BatchNorm(conv, name="bn") + conv
    params = {"c_weight": np.ones((2, 3, 1, 1), np.float32), "bn_gamma": np.ones(2, np.float32),
              "bn_beta": np.zeros(2, np.float32), "bn_moving_mean": np.zeros(2, np.float32),
              "bn_moving_var": np.ones(2, np.float32)}
    graph, new_params, count = fold_batchnorm(symbol.tojson(), params)
    assert count == 0 and graph == symbol.tojson() and new_params == params


def test_a_graph_the_onednn_partitioner_refuses_still_loads_unpartitioned(colour_model, monkeypatch):
    import mxnet as mx

    refused = []

    def refuse(*args, **kwargs):
        refused.append(True)
        raise mx.base.MXNetError("partitioning failed")
    monkeypatch.setattr(mx.sym.Symbol, "optimize_for", refuse)
    card = modelcard.load(colour_model)
    runtime = runtimes.load(colour_model, card, "mxnet")
    batch = np.zeros((1, 3, card.preprocess.input_size, card.preprocess.input_size), np.float32)
    batch[:, 2] = 1.0   # blue
    assert refused and runtime.backend is None and runtime.run(batch).argmax() == 2


@pytest.mark.parametrize("pad_width,kernel,own_pad,groups", [
    ((0, 1, 0, 1), 3, 0, 1),     # TensorFlow "same" for a stride-2 3x3: one row/column after
    ((1, 2, 1, 2), 5, 0, 4),     # ... for a stride-2 5x5, depthwise
    ((2, 0, 0, 1), 3, 1, 1),     # more before than after, different per axis, plus the conv's own pad
])
def test_folding_a_zero_pad_into_the_convolution_keeps_its_output(monkeypatch, pad_width, kernel, own_pad, groups):
    import mxnet as mx
    monkeypatch.setenv("MXNET_SUBGRAPH_BACKEND", "NONE")
    data = mx.sym.var("data")
    padded = mx.sym.Pad(data, mode="constant", constant_value=0, pad_width=(0, 0, 0, 0, *pad_width))
    symbol = mx.sym.Convolution(padded, num_filter=4, num_group=groups, kernel=(kernel, kernel), stride=(2, 2),
                                pad=(own_pad, own_pad), no_bias=True, name="c")
    rng = np.random.default_rng(2)
    params = {"c_weight": rng.standard_normal((4, 4 // groups, kernel, kernel)).astype(np.float32)}
    graph, folded_params, count = fold_pads(symbol.tojson(), params)
    ops = [node["op"] for node in json.loads(graph)["nodes"]]
    x = rng.standard_normal((1, 4, 14, 13)).astype(np.float32)
    want = forward(symbol, params, x)
    got = forward(mx.sym.load_json(graph), folded_params, x)
    assert count == 1 and "Pad" not in ops
    assert got.shape == want.shape and np.allclose(got, want, atol=1e-5)


def test_a_pad_with_a_nonzero_value_is_not_folded():
    import mxnet as mx
    padded = mx.sym.Pad(mx.sym.var("data"), mode="constant", constant_value=1, pad_width=(0, 0, 0, 0, 0, 1, 0, 1))
    symbol = mx.sym.Convolution(padded, num_filter=2, kernel=(3, 3), stride=(2, 2), no_bias=True, name="c")
    params = {"c_weight": np.ones((2, 3, 3, 3), np.float32)}
    assert fold_pads(symbol.tojson(), params)[2] == 0
