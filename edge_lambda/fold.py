"""Fold inference-mode BatchNorm into the convolution before it, on the symbol's JSON graph.

At inference a BatchNorm after a convolution is a per-channel affine map, so it can live in
the convolution's weights and bias instead: one pass over the feature map fewer per layer.
MXNet's oneDNN subgraph backend does this itself when the build has it; builds without it
(and the plain Gluon path) run every BatchNorm as its own operator. The model folder is
training's artifact and is never rewritten: this works on loaded copies only.
"""

from __future__ import annotations

import json

import numpy as np

FOLDED_BIAS = "{}_bnfold_bias"
FOLDED_WEIGHT = "{}_bnfold_weight"


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
    consumers: dict[int, int] = {}
    side_outputs: set[int] = set()   # BatchNorms whose batch mean/var outputs are read
    for src, out, _ in [edge for node in nodes for edge in node["inputs"]] + graph["heads"]:
        consumers[src] = consumers.get(src, 0) + 1
        if out != 0:
            side_outputs.add(src)

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
    kept = {node["name"] for node in graph["nodes"] if node["op"] == "null"}
    return json.dumps(graph), {k: v for k, v in params.items() if k in kept}, len(replace)


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
