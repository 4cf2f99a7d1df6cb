"""``model.onnx`` from the exported MXNet symbol, checked against MXNet before it is kept.

The export uses MXNet's own converter (``mx.onnx.export_model``). The check runs the
same images through ONNX Runtime and through the saved MXNet checkpoint and requires
the same top-1 for every image: the artifact's two runtimes must agree on what they say.
A localising graph's further outputs (docs/model-artifact.md) must come out of ONNX in the
same number, order and shapes, and their largest difference is recorded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from socksort.errors import UserError

# MXNet, ONNX and ONNX Runtime (seconds to import, together) are imported inside the
# functions that use them.


@dataclass(frozen=True)
class OnnxCheck:
    images: int
    top1_agree: int
    max_abs_diff: float             # output 0
    outputs: int = 1
    box_max_abs_diff: float | None = None   # the outputs after output 0, if any

    def to_dict(self) -> dict:
        return asdict(self)


def export(prefix: Path, input_size: int, onnx_path: Path) -> None:
    """Convert ``prefix-symbol.json`` + ``prefix-0000.params`` to ONNX with a free batch axis."""
    import mxnet as mx

    shape = (1, 3, input_size, input_size)
    mx.onnx.export_model(f"{prefix}-symbol.json", f"{prefix}-0000.params", in_shapes=[shape],
                         in_types=[np.float32], onnx_file_path=str(onnx_path),
                         dynamic=True, dynamic_input_shapes=[(None, 3, input_size, input_size)])
    _weights_out_of_inputs(onnx_path)


def _weights_out_of_inputs(onnx_path: Path) -> None:
    """MXNet lists every weight as a graph input too; ONNX Runtime then cannot fold constants
    and warns about each one on every load. Weights are initializers only."""
    import onnx

    model = onnx.load(str(onnx_path))
    weights = {init.name for init in model.graph.initializer}
    inputs = [value for value in model.graph.input if value.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    onnx.checker.check_model(model)
    onnx.save(model, str(onnx_path))


def mxnet_outputs(prefix: Path, batch: np.ndarray) -> np.ndarray:
    """Output 0 of the saved checkpoint (not the in-memory net), as any MXNet program runs it."""
    return mxnet_all_outputs(prefix, batch)[0]


def mxnet_all_outputs(prefix: Path, batch: np.ndarray) -> list[np.ndarray]:
    import mxnet as mx

    sym, args, aux = mx.model.load_checkpoint(str(prefix), 0)
    module = mx.mod.Module(sym, data_names=("data",), label_names=None, context=mx.cpu())
    module.bind(data_shapes=[("data", batch.shape)], for_training=False)
    try:
        module.set_params(args, aux, allow_missing=False)
    except (RuntimeError, mx.base.MXNetError, AssertionError) as exc:
        raise UserError(f"the network's parameters do not fit its graph: {str(exc).splitlines()[0][:200]}") from None
    module.forward(mx.io.DataBatch([mx.nd.array(batch)]), is_train=False)
    return [out.asnumpy() for out in module.get_outputs()]


def onnx_outputs(onnx_path: Path, batch: np.ndarray) -> np.ndarray:
    return onnx_all_outputs(onnx_path, batch)[0]


def onnx_all_outputs(onnx_path: Path, batch: np.ndarray) -> list[np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    options.log_severity_level = 3
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return list(session.run(None, {name: batch.astype(np.float32)}))


def check(prefix: Path, onnx_path: Path, batch: np.ndarray) -> OnnxCheck:
    """Compare ONNX Runtime with MXNet on ``batch`` (N x 3 x S x S); raise if any top-1 differs."""
    if batch.ndim != 4 or not len(batch):
        raise ValueError("the ONNX check needs a non-empty N x 3 x S x S batch")
    references = mxnet_all_outputs(prefix, batch)
    converted_all = onnx_all_outputs(onnx_path, batch)
    reference, converted = references[0], converted_all[0]
    agree = int((reference.argmax(axis=1) == converted.argmax(axis=1)).sum())
    if agree != len(batch):
        raise UserError(f"ONNX export check failed: ONNX Runtime's top-1 differs from MXNet's on "
                        f"{len(batch) - agree} of {len(batch)} images")
    if [r.shape for r in references] != [c.shape for c in converted_all]:
        raise UserError(f"ONNX export check failed: ONNX Runtime gives outputs of shapes "
                        f"{[c.shape for c in converted_all]}, MXNet {[r.shape for r in references]}")
    box_diff = max((float(np.abs(r - c).max()) for r, c in zip(references[1:], converted_all[1:])), default=None)
    return OnnxCheck(len(batch), agree, float(np.abs(reference - converted).max()), len(references), box_diff)
