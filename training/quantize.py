"""``model.int8.onnx``: the model folder's ONNX graph with an INT8 backbone, for weak devices.

ONNX Runtime's static quantization (``quantize_static``) on ``model.onnx``:

- the graph is first optimised the way the tool asks (``quant_pre_process``: batch norm
  folded into the convolutions, shapes inferred), so each convolution and its ReLU6 clip
  quantize as one;
- activation ranges are calibrated (min/max) on the training photos, each through
  ``socksort.preprocess.prepare`` with the card's preprocessing, as the camera's frames go;
- weights are per-channel INT8, activations UINT8, in the QDQ format: on this machine's CPU
  provider it ran EfficientNet-Lite0 as fast as QOperator and keeps the graph readable by
  any ONNX runtime (figures in the module's tests' notes and ``benchmarks/bench_int8.py``);
- everything after the backbone's last feature map (global pooling, the classifier's
  Dense layer, its softmax, and any per-cell outputs the graph has after output 0) stays
  float: it is a sliver of the compute, and a Dense layer quantized to 8 bits flipped the
  top-1 of most photos of a quick-trained model, whose head weights span a wide range.

Output 0 stays the class probabilities, and every graph output is kept.
The result is compared with FP32 on the validation photos: top-1 agreement, accuracy of
each, and the time per photo of each in ONNX Runtime with the edge's session options,
measured interleaved so a busy neighbour slows both alike.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from socksort import atomic, progress
from socksort.errors import UserError, first_line
from socksort.modelcard import ModelCard, Preprocess
from socksort.onnx_session import edge_session
from socksort.preprocess import prepare

# ONNX and ONNX Runtime (seconds to import together) are imported inside the functions
# that use them.

INT8_FILE = "model.int8.onnx"
FORMATS = ("qdq", "qoperator")
DEFAULT_FORMAT = "qdq"
MAX_CALIBRATION = 200         # photos; min/max ranges settle well before this
CALIBRATION_BATCH = 8
KEEP_INTERMEDIATE = 16        # batches of activations held before the ranges are folded in
TIMING_RUNS = 60              # per model, at least: one photo at a time, as the edge runs
FLOAT_HEAD_OPS = ("Gemm", "MatMul", "Softmax")   # kept float when no feature map is found


@dataclass(frozen=True)
class Int8Report:
    """``model.json``'s ``extra.int8``: what quantizing cost and gained on the validation photos."""
    file: str
    format: str
    per_channel: bool
    calibration_photos: int
    validation_photos: int
    top1_agreement: float           # share of validation photos whose INT8 top-1 is FP32's
    fp32_accuracy: float | None     # None when the photos' labels are unknown
    int8_accuracy: float | None
    accuracy_lost_points: float | None
    fp32_ms: float                  # median per photo, batch 1
    int8_ms: float
    speedup: float                  # fp32_ms / int8_ms
    threads: int
    fp32_bytes: int
    int8_bytes: int
    quantize_seconds: float
    # Outputs after 0 (a localising model's per-cell maps): mean |INT8 - FP32| / mean |FP32| each.
    other_outputs_diff: list[float] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        lost = "" if self.accuracy_lost_points is None else (
            f", accuracy {100 * self.fp32_accuracy:.1f}% -> {100 * self.int8_accuracy:.1f}% "
            f"({self.accuracy_lost_points:+.1f} points lost)")
        return (f"INT8 ({self.file}, {self.format}): top-1 agrees with FP32 on {100 * self.top1_agreement:.1f}% "
                f"of {self.validation_photos} validation photos{lost}; {self.fp32_ms:.2f} -> {self.int8_ms:.2f} "
                f"ms a photo ({self.speedup:.2f}x), {self.fp32_bytes / 1e6:.1f} -> {self.int8_bytes / 1e6:.1f} MB")


class RecordImages:
    """The photos of a ``data.RecordSet``, decoded one at a time as calibration asks for them."""

    def __init__(self, records):
        self.records = records

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.records.decode(i)

    def __iter__(self):
        return (self.records.decode(i) for i in range(len(self.records)))


def add_int8(folder: Path, card: ModelCard, calibration: Sequence[np.ndarray], val_batch: np.ndarray,
             val_labels: np.ndarray | None, fmt: str = DEFAULT_FORMAT) -> ModelCard:
    """Write ``folder/model.int8.onnx`` from ``folder/model.onnx`` and return ``card`` with
    ``extra["int8"]`` (the caller saves it). ``calibration``: the training photos (BGR uint8);
    ``val_batch``: the prepared validation photos, ``val_labels`` their class indices."""
    if not len(calibration):
        raise UserError("INT8 quantization needs training photos to calibrate on; there are none")
    if val_batch.ndim != 4 or not len(val_batch):
        raise UserError("INT8 quantization needs validation photos to check against; there are none")
    started = time.monotonic()
    progress.step(f"quantizing {folder / 'model.onnx'} to INT8 ({fmt}, calibrated on "
                  f"{min(len(calibration), MAX_CALIBRATION)} training photos)")
    payload = quantize(folder / "model.onnx", calibration, card.preprocess, card.input_name, fmt)
    atomic.write_bytes(folder / INT8_FILE, payload)
    seconds = time.monotonic() - started
    progress.step(f"comparing INT8 with FP32 on {len(val_batch)} validation photos")
    report = compare(folder / "model.onnx", folder / INT8_FILE, val_batch, val_labels)
    report = replace(report, format=fmt, calibration_photos=min(len(calibration), MAX_CALIBRATION),
                     quantize_seconds=round(seconds, 1))
    return replace(card, extra={**card.extra, "int8": report.to_dict()})


def add_to_folder(folder: Path, calibration: Sequence[np.ndarray], val_images: Sequence[np.ndarray],
                  val_labels: np.ndarray | None, fmt: str = DEFAULT_FORMAT) -> ModelCard:
    """INT8 for a model folder that exists: ``model.int8.onnx`` first, then ``model.json``
    naming it (each replaced atomically), so the card never points at a missing file."""
    from socksort import modelcard

    folder = Path(folder)
    card = modelcard.load(folder, need=("model.json", "labels.txt", "model.onnx"))
    if not len(val_images):
        raise UserError("INT8 quantization needs validation photos to check against; there are none")
    val_batch = np.concatenate([prepare(image, card.preprocess) for image in val_images])
    card = add_int8(folder, card, calibration, val_batch, val_labels, fmt)
    card.save(folder)
    return card


def finisher(calibration: Sequence[np.ndarray], val_labels: np.ndarray | None,
             fmt: str = DEFAULT_FORMAT) -> Callable[[Path, ModelCard, np.ndarray], ModelCard]:
    """``artifact.write_model_folder``'s last step: the INT8 model joins the folder before it
    takes its name, so the folder appears with it or not at all."""
    def finish(folder: Path, card: ModelCard, val_batch: np.ndarray) -> ModelCard:
        return add_int8(folder, card, calibration, val_batch, val_labels, fmt)
    return finish


# --- quantization -------------------------------------------------------------------------

def quantize(onnx_path: Path, calibration: Sequence[np.ndarray], pre: Preprocess, input_name: str,
             fmt: str = DEFAULT_FORMAT) -> bytes:
    """The serialised INT8 model of ``onnx_path``, calibrated on ``calibration`` (BGR photos)."""
    _onnx_names_the_4bit_types()
    import onnx
    import onnxruntime
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if fmt not in FORMATS:
        raise UserError(f"INT8 format {fmt!r} is not one of {', '.join(FORMATS)}")
    # The tool's graph passes warn about each initializer they drop, on stderr, uselessly.
    onnxruntime.set_default_logger_severity(3)
    with tempfile.TemporaryDirectory(prefix="socksort-int8-") as tmp:
        prepared, out = Path(tmp) / "prepared.onnx", Path(tmp) / "int8.onnx"
        try:
            quant_pre_process(str(onnx_path), str(prepared), skip_symbolic_shape=True)
        except Exception as exc:
            raise UserError(f"cannot prepare {onnx_path} for quantization: {first_line(exc)}") from None
        model = onnx.load(str(prepared))
        _name_every_node(model)
        onnx.save(model, str(prepared))
        input_name = _input_of(model, input_name)
        reader = _reader(calibration, pre, input_name, _fixed_batch(model, input_name) or CALIBRATION_BATCH)
        quantize_static(str(prepared), str(out), reader,
                        quant_format=QuantFormat.QDQ if fmt == "qdq" else QuantFormat.QOperator,
                        per_channel=True, weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8,
                        calibrate_method=CalibrationMethod.MinMax, nodes_to_exclude=float_nodes(model),
                        extra_options={"CalibMaxIntermediateOutputs": KEEP_INTERMEDIATE})
        quantized = onnx.load(str(out))
        if [o.name for o in quantized.graph.output] != [o.name for o in model.graph.output]:
            raise RuntimeError("quantization changed the graph's outputs")
        return quantized.SerializeToString()


def float_nodes(model) -> list[str]:
    """Names of the nodes that stay float: all that is not upstream of the backbone's last
    feature map (the input of the graph's global average pool); without one, the head ops."""
    producer = {out: node for node in model.graph.node for out in node.output}
    pools = [node for node in model.graph.node if node.op_type == "GlobalAveragePool"]
    if len(pools) != 1 or pools[0].input[0] not in producer:
        return [node.name for node in model.graph.node if node.op_type in FLOAT_HEAD_OPS]
    backbone, todo = set(), [pools[0].input[0]]
    while todo:
        node = producer.get(todo.pop())
        if node is not None and node.name not in backbone:
            backbone.add(node.name)
            todo.extend(node.input)
    return [node.name for node in model.graph.node if node.name not in backbone]


def _reader(images: Sequence[np.ndarray], pre: Preprocess, input_name: str, batch: int):
    from onnxruntime.quantization import CalibrationDataReader

    picked = _spread(len(images), MAX_CALIBRATION)
    bar = progress.Bar(len(picked), "calibrating INT8")
    bar_closed: list[bool] = []     # the tool asks once more after the last batch

    class TrainingPhotos(CalibrationDataReader):
        """Batches of prepared training photos, read once, in order."""

        def __init__(self):
            self.at = 0

        def get_next(self):
            if self.at >= len(picked):
                if not bar_closed:
                    bar.close()
                    bar_closed.append(True)
                return None
            chunk = picked[self.at:self.at + batch]
            if len(chunk) < batch and self.at:
                chunk = picked[-batch:]   # a graph of a fixed batch size takes no shorter one
            self.at += len(chunk)
            bar.update(len(chunk))
            return {input_name: np.concatenate([prepare(images[int(i)], pre) for i in chunk])}

    return TrainingPhotos()


def _spread(count: int, most: int) -> np.ndarray:
    """Up to ``most`` indices spread evenly over ``count`` (photos come grouped by class)."""
    return np.unique(np.linspace(0, count - 1, min(count, most)).round().astype(int))


def _name_every_node(model) -> None:
    """The tool excludes nodes by name; the converter leaves some unnamed (and one name
    would then stand for all of them)."""
    seen: set[str] = set()
    for i, node in enumerate(model.graph.node):
        if not node.name or node.name in seen:
            node.name = f"{node.op_type}_{i}"
        seen.add(node.name)


def _fixed_batch(model, input_name: str) -> int | None:
    """The input's batch size if the graph fixes it (an exporter without a free batch axis)."""
    for value in model.graph.input:
        if value.name == input_name:
            dims = value.type.tensor_type.shape.dim
            return dims[0].dim_value if dims and dims[0].HasField("dim_value") and dims[0].dim_value > 0 else None
    return None


def _input_of(model, wanted: str) -> str:
    weights = {init.name for init in model.graph.initializer}
    names = [i.name for i in model.graph.input if i.name not in weights]
    return wanted if wanted in names else names[0]


def _onnx_names_the_4bit_types() -> None:
    """ONNX Runtime's quantization tool builds a table that names onnx's INT4 and UINT4,
    which onnx added in 1.16; we hold onnx below 1.16 for MXNet's exporter. Give the two
    their numbers from the ONNX spec: nothing here makes 4-bit tensors."""
    import onnx

    for name, number in (("UINT4", 21), ("INT4", 22)):
        if not hasattr(onnx.TensorProto, name):
            setattr(onnx.TensorProto, name, number)


# --- comparison ---------------------------------------------------------------------------

def session(path: Path, threads: int | None = None):
    """An ONNX Runtime session with the edge's options."""
    return edge_session(path, threads)


def compare(fp32_path: Path, int8_path: Path, batch: np.ndarray, labels: np.ndarray | None,
            threads: int | None = None, runs: int = TIMING_RUNS) -> Int8Report:
    """Top-1 agreement, accuracy and time per photo of the two models on ``batch``."""
    threads = threads or os.cpu_count() or 1
    fp32, int8 = session(fp32_path, threads), session(int8_path, threads)
    name = fp32.get_inputs()[0].name
    batch = batch.astype(np.float32)
    fp32_out, int8_out = _outputs(fp32, name, batch), _outputs(int8, name, batch)
    fp32_top, int8_top = fp32_out[0].argmax(axis=1), int8_out[0].argmax(axis=1)
    fp32_ms, int8_ms = time_per_photo([fp32, int8], name, batch, runs)
    fp32_acc = int8_acc = lost = None
    if labels is not None:
        labels = np.asarray(labels)
        fp32_acc, int8_acc = float((fp32_top == labels).mean()), float((int8_top == labels).mean())
        lost = round(100 * (fp32_acc - int8_acc), 2)
    return Int8Report(file=Path(int8_path).name, format="", per_channel=True, calibration_photos=0,
                      validation_photos=len(batch), top1_agreement=float((fp32_top == int8_top).mean()),
                      fp32_accuracy=fp32_acc, int8_accuracy=int8_acc, accuracy_lost_points=lost,
                      fp32_ms=round(fp32_ms, 3), int8_ms=round(int8_ms, 3), speedup=round(fp32_ms / int8_ms, 3),
                      threads=threads, fp32_bytes=Path(fp32_path).stat().st_size,
                      int8_bytes=Path(int8_path).stat().st_size, quantize_seconds=0.0,
                      other_outputs_diff=[round(float(np.abs(a - b).mean() / max(np.abs(a).mean(), 1e-12)), 4)
                                          for a, b in zip(fp32_out[1:], int8_out[1:])])


def _outputs(sess, name: str, batch: np.ndarray) -> list[np.ndarray]:
    """Every graph output for ``batch``, in chunks the graph takes."""
    first = sess.get_inputs()[0].shape[0]
    step = first if isinstance(first, int) and first > 0 else 16
    padded = np.concatenate([batch, np.repeat(batch[-1:], -len(batch) % step, axis=0)])   # a fixed size
    chunks = [sess.run(None, {name: padded[i:i + step]}) for i in range(0, len(padded), step)]
    return [np.concatenate([np.asarray(c[k]) for c in chunks])[:len(batch)] for k in range(len(chunks[0]))]


def time_per_photo(sessions: list, name: str, batch: np.ndarray, runs: int = TIMING_RUNS) -> list[float]:
    """Median milliseconds a photo for each session, one photo a call, every output computed
    (as the edge runs them). The sessions take turns photo by photo, the first to go
    alternating, so a neighbour's load falls on all of them alike."""
    for sess in sessions:
        for _ in range(3):
            sess.run(None, {name: batch[:1]})
    times: list[list[float]] = [[] for _ in sessions]
    done = 0
    while done < max(runs, len(batch)):
        photo = batch[done % len(batch)][None]
        order = range(len(sessions)) if done % 2 == 0 else reversed(range(len(sessions)))
        for k in order:
            started = time.perf_counter()
            sessions[k].run(None, {name: photo})
            times[k].append(time.perf_counter() - started)
        done += 1
    return [1000 * float(np.median(t)) for t in times]


