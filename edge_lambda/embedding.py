"""A frame's look as a vector, from the same network pass that classifies it.

``socksort edge --match`` compares showings by the pooled features the classifier reads
(the global average pool of the last feature map, what the Dense layer takes). ONNX Runtime
only hands back a graph's outputs, so the model is loaded once with that tensor added as
one more output: the features cost no second pass, only the copy of 1280 numbers a frame.
"""

from __future__ import annotations

from pathlib import Path

from socksort.errors import UserError

# onnx (a second to import) is imported inside the functions that edit the graph.

PASS_THROUGH = ("Flatten", "Dropout", "Reshape", "Identity", "Squeeze")
POOLS = ("GlobalAveragePool", "ReduceMean")


def pooled_feature_name(model) -> str:
    """The name of the pooled-features tensor that the graph's first output's Dense reads.

    Walks back from output 0 to the last Gemm/MatMul before it, then through flattening and
    dropout to the global pool; a graph without that shape is a one-line UserError.
    """
    producers = {out: node for node in model.graph.node for out in node.output}
    name = model.graph.output[0].name
    node = producers.get(name)
    while node is not None and node.op_type not in ("Gemm", "MatMul"):
        node = producers.get(node.input[0]) if node.input else None
    if node is None:
        raise UserError("the ONNX model has no Dense (Gemm) layer before its first output to take features from")
    tensor = node.input[0]
    while tensor in producers and producers[tensor].op_type in PASS_THROUGH:
        tensor = producers[tensor].input[0]
    if tensor not in producers or producers[tensor].op_type not in POOLS:
        raise UserError("the ONNX model's Dense layer does not read globally average-pooled features")
    return tensor


def with_features(path: Path) -> tuple[bytes, str]:
    """The ONNX model at ``path`` with its pooled features added as its last output, and their name."""
    import onnx

    try:
        model = onnx.load(str(path))
    except Exception as exc:  # a truncated or foreign file: onnx raises several kinds
        raise UserError(f"cannot read {path} as an ONNX model: {exc}") from None
    name = pooled_feature_name(model)
    if name not in [o.name for o in model.graph.output]:
        model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    return model.SerializeToString(), name
