"""Fold inference-time layers into the convolutions next to them, on the symbol's JSON graph.

* BatchNorm after a convolution is a per-channel affine map at inference, so it can live in
  the convolution's weights and bias instead: one pass over the feature map fewer per
  layer. MXNet's oneDNN backend does this itself when the build has it; builds without it
  (and the plain Gluon path) run every BatchNorm as its own operator.
* A zero Pad before a convolution (TensorFlow's asymmetric "same" padding, as in
  EfficientNet-Lite's stride-2 layers) becomes the convolution's own padding. MXNet's
  convolution pads symmetrically only, so the kernel grows by the difference with zero
  taps on the short side: the same sums, no separate Pad. The Pad operator is not a oneDNN
  one and cost about a third of EfficientNet-Lite0's time (five Pads against 49 fused
  convolutions, MXNet's profiler).

The model folder is training's artifact and is never rewritten: this works on loaded copies.
"""

from __future__ import annotations

import json

import numpy as np

FOLDED_BIAS = "{}_bnfold_bias"
FOLDED_WEIGHT = "{}_bnfold_weight"
PADDED_WEIGHT = "{}_padfold_weight"


def fold_pads(symbol_json: str, params: dict[str, np.ndarray]) -> tuple[str, dict[str, np.ndarray], int]:
    """(symbol JSON, name -> array) with every zero Pad that feeds only a 2-D convolution
    merged into it; returns the new JSON, params and how many Pads were folded."""
    graph = json.loads(symbol_json)
    nodes = graph["nodes"]
    params = dict(params)
    consumers = _consumers(graph)
    count = 0
    for conv in nodes:
        if conv["op"] != "Convolution" or not conv["inputs"]:
            continue
        pad_index = conv["inputs"][0][0]
        pad = nodes[pad_index]
        if pad["op"] != "Pad" or consumers.get(pad_index) != 1:
            continue
        before_after = _zero_spatial_padding(pad.get("attrs", {}))
        attrs = conv.get("attrs", {})
        weight_name = nodes[conv["inputs"][1][0]]["name"]
        if (before_after is None or weight_name not in params or params[weight_name].ndim != 4
                or attrs.get("layout", "NCHW") != "NCHW" or _pair(attrs.get("dilate"), 1) != (1, 1)):
            continue
        own = _pair(attrs.get("pad"), 0)
        weight = params[weight_name]
        new_pad, widths = [], [(0, 0), (0, 0)]
        for (before, after), extra in zip(before_after, own):
            before, after = before + extra, after + extra
            new_pad.append(max(before, after))
            # Symmetric padding of max(before, after) shifts the window by the difference;
            # zero taps on the short side shift it back.
            widths.append((after - before, 0) if after > before else (0, before - after))
        grown = np.pad(weight, widths)
        name = PADDED_WEIGHT.format(conv["name"])
        params[name] = grown
        conv["inputs"] = [pad["inputs"][0], [_append_variable(nodes, name), 0, 0], *conv["inputs"][2:]]
        attrs = conv.setdefault("attrs", {})
        attrs["kernel"] = str(tuple(grown.shape[2:]))
        attrs["pad"] = str(tuple(new_pad))
        count += 1
    if not count:
        return symbol_json, params, 0
    graph = _drop_unreachable(graph)
    return json.dumps(graph), _kept(graph, params), count


def _zero_spatial_padding(attrs: dict):
    """((top, bottom), (left, right)) of a constant-zero Pad on NCHW's spatial axes only."""
    if attrs.get("mode", "constant") != "constant" or float(attrs.get("constant_value", "0")) != 0.0:
        return None
    widths = _ints(attrs.get("pad_width", "()"))
    if len(widths) != 8 or any(widths[:4]):
        return None
    return (widths[4], widths[5]), (widths[6], widths[7])


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.strip("()[] ").replace(" ", "").split(",") if part)


def _pair(text, default: int) -> tuple[int, int]:
    values = _ints(text) if text else ()
    return (values * 2)[:2] if len(values) == 1 else values if len(values) == 2 else (default, default)


def _edges(graph: dict) -> list:
    """Every (source node, output, version) read: node inputs and the graph's heads."""
    return [edge for node in graph["nodes"] for edge in node["inputs"]] + graph["heads"]


def _consumers(graph: dict) -> dict[int, int]:
    consumers: dict[int, int] = {}
    for src, _, _ in _edges(graph):
        consumers[src] = consumers.get(src, 0) + 1
    return consumers


def _kept(graph: dict, params: dict) -> dict:
    kept = {node["name"] for node in graph["nodes"] if node["op"] == "null"}
    return {k: v for k, v in params.items() if k in kept}


def fold_batchnorm(symbol_json: str, params: dict[str, np.ndarray]) -> tuple[str, dict[str, np.ndarray], int]:
    """(symbol JSON, name -> array) with every foldable Convolution→BatchNorm pair merged.

    Returns the new JSON, the new params (inputs untouched; new names for changed
    arrays) and how many BatchNorms were folded. A pair is folded only when the
    convolution's output feeds nothing but that BatchNorm and all the BatchNorm's
    statistics are known constants.
    """
    graph = json.loads(symbol_json)
    nodes = graph["nodes"]
    params = dict(params)
    consumers = _consumers(graph)
    # BatchNorms whose batch mean/var outputs are read
    side_outputs = {src for src, out, _ in _edges(graph) if out != 0}

    replace: dict[int, int] = {}   # BatchNorm node -> the convolution that now stands for it
    for index, node in enumerate(nodes):
        if node["op"] != "BatchNorm" or index in side_outputs:
            continue
        conv_index = node["inputs"][0][0]
        conv = nodes[conv_index]
        if conv["op"] != "Convolution" or consumers.get(conv_index) != 1:
            continue
        if int(node.get("attrs", {}).get("axis", "1")) != 1:
            continue
        names = [nodes[i]["name"] for i, _, _ in node["inputs"][1:]]
        conv_inputs = [nodes[i]["name"] for i, _, _ in conv["inputs"]]
        if not all(name in params for name in names + conv_inputs[1:]):
            continue
        if params[conv_inputs[1]].shape[0] != params[names[0]].shape[0]:
            continue
        folded = _fold(node.get("attrs", {}), *(params[n] for n in names),
                       weight=params[conv_inputs[1]],
                       bias=params[conv_inputs[2]] if len(conv_inputs) > 2 else None)
        weight_name, bias_name = FOLDED_WEIGHT.format(conv["name"]), FOLDED_BIAS.format(conv["name"])
        params[weight_name], params[bias_name] = folded
        conv["inputs"] = [conv["inputs"][0],
                          [_append_variable(nodes, weight_name), 0, 0],
                          [_append_variable(nodes, bias_name), 0, 0]]
        conv.setdefault("attrs", {})["no_bias"] = "False"
        replace[index] = conv_index

    if not replace:
        return symbol_json, params, 0
    for node in nodes:
        node["inputs"] = [[replace.get(src, src), out, ver] for src, out, ver in node["inputs"]]
    graph["heads"] = [[replace.get(src, src), out, ver] for src, out, ver in graph["heads"]]
    graph = _drop_unreachable(graph)
    return json.dumps(graph), _kept(graph, params), len(replace)


def _fold(bn_attrs: dict, gamma, beta, mean, var, *, weight, bias):
    eps = float(bn_attrs.get("eps", "0.001"))
    if bn_attrs.get("fix_gamma", "True") in ("True", "true", "1"):
        gamma = np.ones_like(gamma)
    # float64 for the arithmetic so the fold itself adds no rounding beyond the final cast.
    scale = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + eps)
    # Output channels lead the weight in every layout MXNet uses, grouped and depthwise too.
    new_weight = weight.astype(np.float64) * scale.reshape((-1,) + (1,) * (weight.ndim - 1))
    old_bias = np.zeros_like(scale) if bias is None else bias.astype(np.float64)
    new_bias = (old_bias - mean.astype(np.float64)) * scale + beta.astype(np.float64)
    return new_weight.astype(np.float32), new_bias.astype(np.float32)


def _append_variable(nodes: list, name: str) -> int:
    nodes.append({"op": "null", "name": name, "inputs": []})
    return len(nodes) - 1


def _drop_unreachable(graph: dict) -> dict:
    """Keep the nodes the heads depend on, renumbered in an order where inputs come first."""
    nodes = graph["nodes"]
    order: list[int] = []
    seen: set[int] = set()
    # Iterative post-order: the inputs of every node are emitted before the node itself.
    for head, _, _ in graph["heads"]:
        stack = [(head, False)]
        while stack:
            index, expanded = stack.pop()
            if expanded:
                order.append(index)
                continue
            if index in seen:
                continue
            seen.add(index)
            stack.append((index, True))
            for src, _, _ in reversed(nodes[index]["inputs"]):
                if src not in seen:
                    stack.append((src, False))
    position = {old: new for new, old in enumerate(order)}
    new_nodes = []
    for old in order:
        node = dict(nodes[old])
        node["inputs"] = [[position[src], out, ver] for src, out, ver in node["inputs"]]
        new_nodes.append(node)
    result = {key: value for key, value in graph.items() if key != "node_row_ptr"}
    result["nodes"] = new_nodes
    result["arg_nodes"] = [i for i, node in enumerate(new_nodes) if node["op"] == "null"]
    result["heads"] = [[position[src], out, ver] for src, out, ver in graph["heads"]]
    return result
