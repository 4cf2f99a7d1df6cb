"""Two inference runtimes behind one interface: MXNet (symbol + params) and ONNX Runtime.

Both take the 1x3xHxW float32 batch from ``socksort.preprocess.prepare`` and return the
network's raw output row (probabilities or logits, as the model card says). Loading checks
that the network's output width matches the card's classes and warms the runtime up, so
the first real frame is not the one that pays for memory planning.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

from socksort.errors import UserError
from socksort.modelcard import ModelCard

RUNTIMES = ("auto", "mxnet", "onnx")
WARMUP_RUNS = 3


class Runtime:
    name = "?"

    def run(self, batch: np.ndarray) -> np.ndarray:
        """One batch in, the first output's row for the first image out (1-D float array)."""
        raise NotImplementedError


class MxnetRuntime(Runtime):
    name = "mxnet"

    def __init__(self, folder: Path, input_name: str):
        import mxnet as mx
        self._mx = mx
        symbol, params = folder / "model-symbol.json", folder / "model-0000.params"
        try:
            block = mx.gluon.SymbolBlock.imports(str(symbol), [input_name], str(params), ctx=mx.cpu())
        except Exception as exc:  # MXNetError, JSON errors, mismatched params: all mean a bad file
            raise UserError(f"cannot load the MXNet model in {folder}: {_first_line(exc)}") from None
        # Static allocation keeps the same buffers frame after frame: fewer allocations per call.
        block.hybridize(static_alloc=True, static_shape=True)
        self._block = block

    def run(self, batch: np.ndarray) -> np.ndarray:
        out = self._block(self._mx.nd.array(batch, dtype="float32"))
        if isinstance(out, (list, tuple)):
            out = out[0]
        return out.asnumpy()[0]


class OnnxRuntime(Runtime):
    name = "onnx"

    def __init__(self, folder: Path, input_name: str, threads: int | None):
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # Spinning worker threads win on an idle machine but starve the capture, encoder
        # and everything else sharing a small device's cores (measured: 2-3x slower here).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = ort.InferenceSession(str(folder / "model.onnx"), options,
                                                 providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise UserError(f"cannot load {folder / 'model.onnx'}: {_first_line(exc)}") from None
        names = [i.name for i in self._session.get_inputs()]
        self._input = input_name if input_name in names else names[0]

    def run(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self._session.run(None, {self._input: batch})[0])[0]


def tune_threads(threads: int | None = None) -> None:
    """Default the math libraries' thread pools to the cores we have (before MXNet loads).

    MXNet reads these once at import; values the user set win. Passive waiting matters: with
    OpenMP's default spin-waiting, two MXNet threads on two busy cores ran EfficientNet-Lite0
    at 1.6 s a frame instead of 0.15 s.
    """
    count = str(threads or os.cpu_count() or 1)
    os.environ.setdefault("OMP_NUM_THREADS", count)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("MXNET_CPU_WORKER_NTHREADS", "1")


def choose(folder: Path, kind: str) -> str:
    """Resolve ``auto``: ONNX Runtime when the folder has model.onnx and it imports."""
    if kind != "auto":
        return kind
    if (folder / "model.onnx").is_file() and importlib.util.find_spec("onnxruntime") is not None:
        return "onnx"
    return "mxnet"


def load(folder: str | Path, card: ModelCard, kind: str = "auto", threads: int | None = None) -> Runtime:
    """Load the model in ``folder`` with the runtime ``kind``, check it and warm it up."""
    folder = Path(folder)
    if kind not in RUNTIMES:
        raise UserError(f"runtime {kind!r} is not one of {', '.join(RUNTIMES)}")
    kind = choose(folder, kind)
    needed = ("model.onnx",) if kind == "onnx" else ("model-symbol.json", "model-0000.params")
    for name in needed:
        if not (folder / name).is_file():
            raise UserError(f"model folder {folder} is missing {name} (needed by --runtime {kind})")
    if kind == "onnx":
        runtime: Runtime = OnnxRuntime(folder, card.input_name, threads)
    else:
        tune_threads(threads)
        runtime = MxnetRuntime(folder, card.input_name)
    warm_up(runtime, card)
    return runtime


def warm_up(runtime: Runtime, card: ModelCard) -> None:
    size = card.preprocess.input_size
    batch = np.zeros((1, 3, size, size), dtype=np.float32)
    for _ in range(WARMUP_RUNS):
        try:
            out = runtime.run(batch)
        except UserError:
            raise
        except Exception as exc:
            raise UserError(f"the {runtime.name} model does not run on a {size}x{size} input: "
                            f"{_first_line(exc)}") from None
    if out.ndim != 1 or out.shape[0] != len(card.classes):
        raise UserError(f"the {runtime.name} model outputs {out.shape[-1] if out.ndim else 1} scores "
                        f"but labels.txt lists {len(card.classes)} classes")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
