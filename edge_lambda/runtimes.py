"""Two inference runtimes behind one interface: MXNet (symbol + params) and ONNX Runtime.

Both take the 1x3xHxW float32 batch from ``socksort.preprocess.prepare`` and return the
network's raw output row (probabilities or logits, as the model card says); ``run_outputs``
hands back every output of the graph for a batch (a localising model's maps follow the
class scores). Loading checks that the network's output width matches the card's classes
and warms the runtime up, so the first real frame is not the one that pays for memory
planning.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

from socksort.edge_lambda.embedding import with_features
from socksort.edge_lambda.fold import fold_batchnorm, fold_pads
from socksort.errors import UserError, first_line
from socksort.modelcard import ModelCard
from socksort.mxnet_block import import_block
from socksort.onnx_session import edge_session

# MXNet and ONNX Runtime (seconds to import, and a device may have only one of them) are
# imported inside the runtime that uses each.

RUNTIMES = ("auto", "mxnet", "onnx", "onnx-int8")
INT8_FILE = "model.int8.onnx"   # training/quantize.py writes it (docs/model-artifact.md)
WARMUP_RUNS = 3


class Runtime:
    name = "?"
    max_batch = 1      # images one call takes; a runtime bound to batch 1 runs a batch image by image

    def run(self, batch: np.ndarray) -> np.ndarray:
        """One batch in, the first output's row for the first image out (1-D float array)."""
        raise NotImplementedError

    def run_batch(self, batch: np.ndarray) -> np.ndarray:
        """N images in, N rows of the first output out (N x classes)."""
        return np.stack([self.run(batch[i:i + 1]) for i in range(len(batch))])

    def run_outputs(self, batch: np.ndarray) -> list[np.ndarray]:
        """N images in, every output of the graph out, in graph order, batch axis kept
        (a localising model's maps come after the N x classes probabilities)."""
        raise NotImplementedError


class MxnetRuntime(Runtime):
    """The symbol bound once into an executor for the card's input shape.

    At load, zero Pads and BatchNorms are folded into the convolutions next to them
    (``fold.py``) and, when this MXNet has oneDNN, the graph is partitioned for it so each
    convolution runs fused with its bias and ReLU6 clip. Measured on EfficientNet-Lite0
    here: about 4x less CPU a frame than the plain Gluon path (the Pad fold alone 1.7x).
    The input buffer is bound once and refilled in place. ``MXNET_SUBGRAPH_BACKEND=NONE``
    turns the oneDNN partitioning off.
    """

    name = "mxnet"

    def __init__(self, folder: Path, input_name: str, input_size: int):
        import mxnet as mx

        self._mx = mx
        try:
            symbol, args, aux = mx.model.load_checkpoint(str(folder / "model"), 0)
            if input_name not in symbol.list_arguments():
                raise ValueError(f"the network has no input named {input_name!r}")
            params = {k: v.asnumpy() for k, v in {**args, **aux}.items()}
        except Exception as exc:  # MXNetError, JSON errors, mismatched params: all mean a bad file
            raise UserError(f"cannot load the MXNet model in {folder}: {first_line(exc)}") from None
        graph, params, self.folded_pads = fold_pads(symbol.tojson(), params)
        graph, params, self.folded_batchnorms = fold_batchnorm(graph, params)
        symbol = mx.sym.load_json(graph)
        self._symbol, self._input = symbol, input_name
        names = set(symbol.list_arguments())
        self._args = {k: mx.nd.array(v) for k, v in params.items() if k in names}
        self._aux = {k: mx.nd.array(v) for k, v in params.items() if k not in names}
        self.backend = "MKLDNN" if _onednn_wanted(mx) else None
        shape = (1, 3, input_size, input_size)
        try:
            try:
                self._bind(shape)
            except Exception:
                if not self.backend:
                    raise
                # A graph the oneDNN partitioner cannot take still runs operator by operator.
                self.backend = None
                self._bind(shape)
        except Exception as exc:
            raise UserError(f"the mxnet model does not run on a {input_size}x{input_size} input: "
                            f"{first_line(exc)}") from None

    def _bind(self, shape: tuple) -> None:
        mx, symbol = self._mx, self._symbol
        args = dict(self._args)
        aux = dict(self._aux)
        if self.backend:
            symbol = symbol.optimize_for(self.backend, args, aux, ctx=mx.cpu(),
                                         shape_dict={self._input: shape})
        self._executor = symbol.simple_bind(mx.cpu(), grad_req="null", **{self._input: shape})
        self._executor.copy_params_from(args, aux, allow_extra_params=True)
        self._data = self._executor.arg_dict[self._input]

    def run(self, batch: np.ndarray) -> np.ndarray:
        if batch.shape != self._data.shape:
            self._bind(batch.shape)
        self._data[:] = batch
        return self._executor.forward(is_train=False)[0].asnumpy()[0]

    def run_outputs(self, batch: np.ndarray) -> list[np.ndarray]:
        if batch.shape != self._data.shape:
            self._bind(batch.shape)
        self._data[:] = batch
        return [out.asnumpy() for out in self._executor.forward(is_train=False)]


class PlainMxnetRuntime(Runtime):
    """The unoptimised path (Gluon SymbolBlock on the artifact as saved): the baseline the
    benchmark and the tests compare the fast path with."""

    name = "mxnet-plain"

    def __init__(self, folder: Path, input_name: str):
        import mxnet as mx
        self._mx = mx
        try:
            block = import_block(folder, input_name, ctx=mx.cpu())
        except Exception as exc:
            raise UserError(f"cannot load the MXNet model in {folder}: {first_line(exc)}") from None
        block.hybridize(static_alloc=True, static_shape=True)
        self._block = block

    def run(self, batch: np.ndarray) -> np.ndarray:
        out = self._block(self._mx.nd.array(batch, dtype="float32"))
        if isinstance(out, (list, tuple)):
            out = out[0]
        return out.asnumpy()[0]

    def run_outputs(self, batch: np.ndarray) -> list[np.ndarray]:
        out = self._block(self._mx.nd.array(batch, dtype="float32"))
        return [o.asnumpy() for o in (out if isinstance(out, (list, tuple)) else [out])]


def _onednn_wanted(mx) -> bool:
    if os.environ.get("MXNET_SUBGRAPH_BACKEND", "").upper() == "NONE":
        return False
    return mx.runtime.Features().is_enabled("MKLDNN")


class OnnxRuntime(Runtime):
    name = "onnx"

    def __init__(self, folder: Path, input_name: str, threads: int | None, file: str = "model.onnx",
                 features: bool = False):
        if file == INT8_FILE:
            self.name = "onnx-int8"
        # With ``features`` the pooled features are one more output, after the graph's own.
        self.features = features
        graph = with_features(folder / file)[0] if features else folder / file
        self._session = edge_session(graph, threads, name=folder / file)
        names = [i.name for i in self._session.get_inputs()]
        self._input = input_name if input_name in names else names[0]
        # A graph exported with a free batch axis takes any number of images in one call.
        first = self._session.get_inputs()[0].shape[0]
        self.max_batch = 1 if isinstance(first, int) else 1 << 16

    def run(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self._session.run(None, {self._input: batch})[0])[0]

    def run_batch(self, batch: np.ndarray) -> np.ndarray:
        if self.max_batch == 1:
            return super().run_batch(batch)
        return np.asarray(self._session.run(None, {self._input: batch})[0])

    def run_outputs(self, batch: np.ndarray) -> list[np.ndarray]:
        outputs = self._all_outputs(batch)
        return outputs[:-1] if self.features else outputs

    def run_with_features(self, batch: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """The graph's outputs as :meth:`run_outputs` gives them, and N x D pooled features
        (a runtime loaded with ``features``)."""
        if not self.features:
            raise ValueError("this runtime was loaded without features")
        outputs = self._all_outputs(batch)
        return outputs[:-1], outputs[-1].reshape(len(batch), -1)

    def _all_outputs(self, batch: np.ndarray) -> list[np.ndarray]:
        if self.max_batch == 1 and len(batch) > 1:
            rows = [self._session.run(None, {self._input: batch[i:i + 1]}) for i in range(len(batch))]
            return [np.concatenate([np.asarray(r[k]) for r in rows]) for k in range(len(rows[0]))]
        return [np.asarray(out) for out in self._session.run(None, {self._input: batch})]


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


def load(folder: str | Path, card: ModelCard, kind: str = "auto", threads: int | None = None,
         features: bool = False) -> Runtime:
    """Load the model in ``folder`` with the runtime ``kind``, check it and warm it up;
    ``features``: with the pooled features as an extra output (ONNX runtimes only)."""
    folder = Path(folder)
    if kind not in RUNTIMES:
        raise UserError(f"runtime {kind!r} is not one of {', '.join(RUNTIMES)}")
    kind = choose(folder, kind)
    if features and kind not in ("onnx", "onnx-int8"):
        raise UserError(f"matching by look needs ONNX Runtime and model.onnx; model folder {folder} "
                        f"runs on {kind}")
    if kind == "onnx-int8" and not (folder / INT8_FILE).is_file():
        raise UserError(f"model folder {folder} has no {INT8_FILE} (needed by --runtime onnx-int8): make it with "
                        f"socksort quantize {folder} --calibration PHOTOS, or train with --int8")
    needed = {"onnx": ("model.onnx",), "onnx-int8": (INT8_FILE,)}.get(
        kind, ("model-symbol.json", "model-0000.params"))
    for name in needed:
        if not (folder / name).is_file():
            raise UserError(f"model folder {folder} is missing {name} (needed by --runtime {kind})")
    if kind in ("onnx", "onnx-int8"):
        runtime: Runtime = OnnxRuntime(folder, card.input_name, threads,
                                       INT8_FILE if kind == "onnx-int8" else "model.onnx", features)
    else:
        tune_threads(threads)
        runtime = MxnetRuntime(folder, card.input_name, card.preprocess.input_size)
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
                            f"{first_line(exc)}") from None
    if out.ndim != 1 or out.shape[0] != len(card.classes):
        raise UserError(f"the {runtime.name} model outputs {out.shape[-1] if out.ndim else 1} scores "
                        f"but labels.txt lists {len(card.classes)} classes")


