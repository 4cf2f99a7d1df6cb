"""The localisation outputs a model folder's graph gains after output 0 (docs/model-artifact.md).

The classifier is global average pooling followed by a Dense layer, both linear, so the
Dense weights applied as a 1x1 convolution to the last feature map give the class logits
of every cell, whose mean is exactly the whole image's logits: a sliding window computed
once per frame. Objectness is the L2 norm of each cell's features: an ImageNet backbone's
last features are strong where there is a thing and weak on plain surfaces (floors, walls,
cloth). It is divided by a reference measured on the model's own validation photos (the
75th percentile of each photo's strongest cell; the photos are socks filling the frame),
so 1.0 means "as strong as a sock in the training photos" whichever backbone or fine-tune
made the features.

Both outputs reuse the classifier's parameters. Given the training photos, a third output
is a box head trained on scenes made from them (``training/box_head.py``): its parameters
join the checkpoint, and output 0 stays exactly what it was.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from socksort import progress
from socksort.contract import BLANK_LABEL
from socksort.modelcard import Localise, Preprocess
from socksort.training import box_head

# MXNet (seconds to import) is imported inside the functions that use it.

REFERENCE_PERCENTILE = 75
PASS_THROUGH = ("Flatten", "Dropout", "Reshape", "reshape", "flatten")
RESIDUAL_ADDS = ("elemwise_add", "_plus", "_Plus", "broadcast_add")
HEAD_NMS_IOU = 0.3      # the head's boxes of one thing overlap much; two things held together, less
FEATURE_BATCH = 16


def add_box_outputs(prefix: Path, classes: tuple[str, ...], check_batch: np.ndarray,
                    photos: Sequence[tuple[np.ndarray, int]] = (), pre: Preprocess | None = None,
                    head_cfg: box_head.BoxHeadConfig = box_head.BoxHeadConfig(),
                    report: Callable[[float, str], None] | None = None) -> Localise | None:
    """Rewrite ``prefix-symbol.json`` as Group(output 0, cell logits, objectness[, box head]).

    ``photos`` ((BGR image, class index) pairs, the training photos) and ``pre`` teach the
    box head (``report(fraction, text)`` hears of its steps); without them, or when no head
    can be taught, the graph has three outputs.
    Returns the card's ``localise``, or None (and leaves the files alone) when the graph is
    not pooled features into one Dense layer, e.g. an imported SageMaker network.
    """
    import mxnet as mx

    symbol, args, aux = mx.model.load_checkpoint(str(prefix), 0)
    found = _head(symbol)
    if found is None:
        return None
    fmap_name, weight_name, bias_name = found
    weight = args[weight_name]
    if weight.shape[0] != len(classes):
        return None
    internals = symbol.get_internals()
    fmap = internals[fmap_name]
    norm = mx.sym.sqrt(mx.sym.sum(mx.sym.square(fmap), axis=1, keepdims=True))
    reference = _reference(norm, args, aux, check_batch)
    offset = _cell_offset(fmap, args, aux, check_batch.shape[2])
    # The Dense layer's own parameter nodes, not new variables of the same names: one node
    # per parameter keeps the graph a tree the ONNX converter reads.
    cells = mx.sym.Convolution(fmap, weight=mx.sym.reshape(internals[weight_name], shape=(*weight.shape, 1, 1)),
                               bias=internals[bias_name], kernel=(1, 1), num_filter=weight.shape[0],
                               name="box_cells")
    objectness = norm * (1.0 / reference)
    outputs = [symbol, cells, objectness]
    background = (BLANK_LABEL,) if BLANK_LABEL in classes else ()
    localise = Localise(reference=round(reference, 6), background=background, cell_offset=round(offset, 2))
    fine = _finer_map(internals, fmap_name, check_batch.shape[2])
    if photos and pre is not None and fine is not None:
        taught = _teach_head(internals[fine], fmap, args, aux, photos, classes, background, pre, head_cfg, report)
        if taught is not None:
            boxes = box_head.output(taught.head, internals[fine], fmap)
            args = {**args, **{name: param.data() for name, param in taught.head.collect_params().items()}}
            outputs.append(boxes)
            localise = replace(localise, boxes_output=3, nms_iou=HEAD_NMS_IOU)
            progress.step(f"box head: {taught.scenes} scenes of {taught.things} cut-out things, "
                          f"loss {taught.loss}, {taught.seconds} s")
    mx.model.save_checkpoint(str(prefix), 0, mx.sym.Group(outputs), args, aux, remove_amp_cast=False)
    return localise


def _finer_map(internals, fmap_name: str, size: int) -> str | None:
    """The last residual block's output at twice the feature map's resolution, if any."""
    graph = json.loads(internals.tojson())
    adds = {f"{n['name']}_output" for n in graph["nodes"] if n["op"] in RESIDUAL_ADDS}
    _, shapes, _ = internals.infer_shape_partial(data=(1, 3, size, size))
    sizes = dict(zip(internals.list_outputs(), shapes))
    coarse = sizes.get(fmap_name)
    if not coarse or len(coarse) != 4:
        return None
    finer = [name for name in internals.list_outputs() if name in adds and sizes.get(name)
             and len(sizes[name]) == 4 and tuple(sizes[name][2:]) == (2 * coarse[2], 2 * coarse[3])]
    return finer[-1] if finer else None


def _teach_head(fine, fmap, args, aux, photos, classes, background, pre, cfg, report) -> box_head.Taught | None:
    import mxnet as mx

    module = mx.mod.Module(mx.sym.Group([fine, fmap]), data_names=("data",), label_names=None, context=mx.cpu())
    size = pre.input_size
    module.bind(data_shapes=[("data", (FEATURE_BATCH, 3, size, size))], for_training=False)
    module.set_params(args, aux, allow_missing=False, allow_extra=True)

    def features(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        fine_maps, coarse_maps = [], []
        for start in range(0, len(batch), FEATURE_BATCH):
            part = batch[start:start + FEATURE_BATCH]
            padded = np.zeros((FEATURE_BATCH, *batch.shape[1:]), np.float32)
            padded[:len(part)] = part
            module.forward(mx.io.DataBatch([mx.nd.array(padded)]), is_train=False)
            fine_out, coarse_out = (o.asnumpy()[:len(part)] for o in module.get_outputs())
            fine_maps.append(fine_out)
            coarse_maps.append(coarse_out)
        return np.concatenate(fine_maps), np.concatenate(coarse_maps)

    progress.step(f"teaching the box head on scenes made from {len(photos)} photos")
    background_ids = {classes.index(name) for name in background}
    return box_head.teach(features, photos, len(classes), background_ids, pre, cfg, report)


def _head(symbol) -> tuple[str, str, str] | None:
    """(feature map output, Dense weight, Dense bias) names, if output 0 is softmax/identity of
    Dense(pass-through(global average pool(feature map)))."""
    graph = json.loads(symbol.tojson())
    nodes, heads = graph["nodes"], graph["heads"]
    if len(heads) != 1:
        return None
    node = nodes[heads[0][0]]
    if node["op"] in ("softmax", "SoftmaxActivation"):
        node = nodes[node["inputs"][0][0]]
    return pooled_dense(nodes, node)


def pooled_dense(nodes: list[dict], node: dict) -> tuple[str, str, str] | None:
    """(feature map output, Dense weight, Dense bias) names, if ``node`` of the graph's
    ``nodes`` is Dense(pass-through(global average pool(feature map)))."""
    if node["op"] != "FullyConnected" or len(node["inputs"]) != 3:
        return None
    weight, bias = (nodes[i[0]]["name"] for i in node["inputs"][1:])
    data = nodes[node["inputs"][0][0]]
    while data["op"] in PASS_THROUGH:
        data = nodes[data["inputs"][0][0]]
    attrs = data.get("attrs", {})
    if data["op"] != "Pooling" or attrs.get("global_pool") != "True" or attrs.get("pool_type", "max") != "avg":
        return None
    fmap = nodes[data["inputs"][0][0]]
    return f"{fmap['name']}_output", weight, bias


def _reference(norm, args, aux, batch: np.ndarray) -> float:
    import mxnet as mx

    module = mx.mod.Module(norm, data_names=("data",), label_names=None, context=mx.cpu())
    module.bind(data_shapes=[("data", batch.shape)], for_training=False)
    module.set_params(args, aux, allow_missing=False, allow_extra=True)
    module.forward(mx.io.DataBatch([mx.nd.array(batch)]), is_train=False)
    strongest = module.get_outputs()[0].asnumpy().reshape(len(batch), -1).max(axis=1)
    reference = float(np.percentile(strongest, REFERENCE_PERCENTILE))
    return reference if reference > 0 else 1.0


def _cell_offset(fmap, args, aux, size: int) -> float:
    """How far (input pixels) the middle cell's receptive field centre lies from the centre of
    the input square the cell covers: the centroid of the input gradient of that cell's
    features, over a few noise images, averaged over both axes."""
    import mxnet as mx

    total = mx.sym.sum(fmap, axis=1)
    module = mx.mod.Module(total, data_names=("data",), label_names=None, context=mx.cpu(),
                           fixed_param_names=[n for n in total.list_arguments() if n != "data"])
    module.bind(data_shapes=[("data", (1, 3, size, size))], for_training=True, inputs_need_grad=True)
    module.set_params(args, aux, allow_missing=False, allow_extra=True)
    rng = np.random.default_rng(0)
    weight = np.zeros((size, size))
    for _ in range(4):
        module.forward(mx.io.DataBatch([mx.nd.array(rng.normal(0, 1, (1, 3, size, size)))]), is_train=False)
        rows, cols = module.get_outputs()[0].shape[1:]
        pick = np.zeros((1, rows, cols), np.float32)
        pick[0, rows // 2, cols // 2] = 1.0
        module.backward([mx.nd.array(pick)])
        weight += np.abs(module.get_input_grads()[0].asnumpy()[0]).sum(axis=0)
    if weight.sum() <= 0:
        return 0.0
    centre = np.arange(size) + 0.5
    found_y = float((weight.sum(axis=1) * centre).sum() / weight.sum())
    found_x = float((weight.sum(axis=0) * centre).sum() / weight.sum())
    return ((found_y - (rows // 2 + 0.5) * size / rows) + (found_x - (cols // 2 + 0.5) * size / cols)) / 2
