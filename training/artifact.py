"""Write a model folder (see ``docs/model-artifact.md``) from a Gluon network, all or nothing.

Everything is written into a hidden sibling folder first; only when the MXNet files, the
checked ONNX file, ``labels.txt`` and ``model.json`` are all there does the folder take
its real name, so a reader never finds a model folder with some of its files missing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from socksort import atomic
from socksort.contract import MODEL_FILES
from socksort.modelcard import ModelCard
from socksort.training import box_outputs, onnx_export
from socksort.training.box_head import BoxHeadConfig

# MXNet (seconds to import) is imported inside the functions that use it.

PREFIX = "model"


def softmax_head(net):
    """``net`` followed by a softmax, so the saved graph outputs probabilities."""
    from mxnet.gluon import nn

    class WithSoftmax(nn.HybridBlock):
        def __init__(self, inner, **kwargs):
            super().__init__(**kwargs)
            with self.name_scope():
                self.inner = inner

        def hybrid_forward(self, F, x):
            return F.softmax(self.inner(x), axis=-1)

    return WithSoftmax(net, prefix="")


def write_model_folder(net, card: ModelCard, out: Path, check_batch: np.ndarray,
                       extra_files: dict[str, bytes] | None = None, finish=None,
                       photos: Sequence[tuple[np.ndarray, int]] = (),
                       boxes: BoxHeadConfig = BoxHeadConfig(),
                       report: Callable[[float, str], None] | None = None) -> ModelCard:
    """Export ``net`` (logits out) with a softmax on top, convert and check ONNX, save the card.

    ``check_batch`` is a preprocessed N x 3 x S x S batch (validation images) for the ONNX
    check; ``extra_files`` (name -> bytes: plots, history) join the folder; ``finish(folder, card,
    check_batch) -> card`` adds files made from the checked ONNX model (quantize.finisher's INT8
    model) before the folder takes its name; ``photos`` ((BGR image, class index), the
    training photos) teach the box head (``box_outputs``) as ``boxes`` says, telling
    ``report(fraction, text)`` of its steps. Returns the card
    as saved, with the check's figures in ``extra["onnx_check"]``.
    """
    from mxnet import nd

    size = card.preprocess.input_size
    model = softmax_head(net)
    model.hybridize()
    model(nd.zeros((1, 3, size, size)))
    with atomic.replace_folder(out) as folder:
        model.export(str(folder / PREFIX), epoch=0)
        return _complete(folder, card, check_batch, extra_files, finish, photos, boxes, report)


def write_checkpoint_folder(symbol, args: dict, aux: dict, card: ModelCard, out: Path,
                            check_batch: np.ndarray) -> ModelCard:
    """The same folder from a symbol (ending in a softmax) and its parameters."""
    import mxnet as mx

    with atomic.replace_folder(out) as folder:
        mx.model.save_checkpoint(str(folder / PREFIX), 0, symbol, args, aux, remove_amp_cast=False)
        return _complete(folder, card, check_batch, None)


def _complete(folder: Path, card: ModelCard, check_batch: np.ndarray, extra_files, finish=None,
              photos: Sequence[tuple[np.ndarray, int]] = (), boxes: BoxHeadConfig = BoxHeadConfig(),
              report: Callable[[float, str], None] | None = None) -> ModelCard:
    """Box outputs, ONNX, its check, the card and any extra files beside the MXNet checkpoint."""
    size = card.preprocess.input_size
    # Every model that can localise does (docs/model-artifact.md): the graph gains the
    # per-cell outputs after output 0, which stays what it was.
    card = replace(card, localise=box_outputs.add_box_outputs(folder / PREFIX, card.classes, check_batch,
                                                              photos, card.preprocess, boxes, report))
    onnx_export.export(folder / PREFIX, size, folder / "model.onnx")
    checked = onnx_export.check(folder / PREFIX, folder / "model.onnx", check_batch)
    card = replace(card, output="probabilities", input_name="data", created=card.created or utc_now(),
                   extra={**card.extra, "onnx_check": checked.to_dict()})
    if finish is not None:
        card = finish(folder, card, check_batch)
    card.save(folder)
    for name, payload in (extra_files or {}).items():
        (folder / name).write_bytes(payload)
    missing = [name for name in MODEL_FILES if not (folder / name).is_file()]
    if missing:
        raise RuntimeError(f"model export left out {', '.join(missing)}")
    _readable_by_all(folder)
    return card


def _readable_by_all(folder: Path) -> None:
    """Temporary files are private (0600); a model folder is meant to be shared."""
    folder.chmod(0o755)
    for path in folder.iterdir():
        path.chmod(0o644)


def utc_now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
