"""``socksort import-sagemaker``: SageMaker's image-classification output as our model folder.

The built-in algorithm's ``model.tar.gz`` holds ``image-classification-symbol.json``,
``image-classification-NNNN.params`` (NNNN: the epoch it saved) and ``model-shapes.json``
(``[{"name": "data", "shape": [1, 3, H, W]}]``). Its graph ends in ``SoftmaxOutput``,
a training operator that wants a label input; we cut it off and end the graph in a plain
softmax, so the folder loads with ``data`` as its only input, in MXNet and in ONNX.

The algorithm's ResNet normalises inside the graph (a batch norm on the input), so it
takes RGB pixels 0-255 resized to the training shape: that is what the card states.
"""

from __future__ import annotations

import json
import re
import tarfile
import tempfile
from pathlib import Path

import numpy as np

from socksort.errors import UserError
from socksort.modelcard import ModelCard, Preprocess
from socksort.preprocess import prepare
from socksort.training import artifact
from socksort.training.data import mxnet_reason, read_classes
from socksort.training.imagenet_export import sample_images

# MXNet (seconds to import) is imported inside the functions that use it.

SYMBOL = "image-classification-symbol.json"
SHAPES = "model-shapes.json"
PARAMS = re.compile(r"^image-classification-(\d{4})\.params$")


def sagemaker_preprocess(input_size: int) -> Preprocess:
    return Preprocess(input_size=input_size, resize="squash", resize_shorter=input_size, interpolation="area",
                      channel_order="RGB", pixel_scale=1.0, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))


def _members(archive: Path, folder: Path) -> tuple[Path, Path, Path]:
    """Extract the three files (nothing else, no paths outside ``folder``)."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            wanted = {}
            for member in tar.getmembers():
                name = Path(member.name).name
                if member.isfile() and (name in (SYMBOL, SHAPES) or PARAMS.match(name)):
                    wanted.setdefault(name, member)
            params = sorted(n for n in wanted if PARAMS.match(n))
            for name in (SYMBOL, SHAPES):
                if name not in wanted:
                    raise UserError(f"{archive} has no {name}; is it the output of SageMaker's "
                                    "image-classification algorithm?")
            if not params:
                raise UserError(f"{archive} has no image-classification-NNNN.params")
            for name in (SYMBOL, SHAPES, params[-1]):
                source = tar.extractfile(wanted[name])
                (folder / name).write_bytes(source.read())
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise UserError(f"{archive} is not a readable .tar.gz: {exc}") from None
    return folder / SYMBOL, folder / params[-1], folder / SHAPES


def _input_size(shapes_path: Path) -> int:
    try:
        shapes = json.loads(shapes_path.read_text())
        shape = next(s["shape"] for s in shapes if s.get("name") == "data")
        _, channels, height, width = shape
    except (ValueError, KeyError, StopIteration, TypeError):
        raise UserError(f"{SHAPES} does not give the data shape as [N, 3, H, W]") from None
    if channels != 3 or height != width:
        raise UserError(f"{SHAPES}: data shape {shape} is not a square colour image")
    return int(height)


def _inference_symbol(symbol_path: Path):
    """The trained graph with its SoftmaxOutput replaced by softmax, input ``data`` only."""
    import mxnet as mx

    symbol = mx.sym.load(str(symbol_path))
    top = json.loads(symbol.tojson())["nodes"][-1]
    if top["op"] == "SoftmaxOutput":
        symbol = mx.sym.softmax(symbol.get_children()[0], axis=-1, name="prob")
    elif top["op"] not in ("softmax", "SoftmaxActivation"):
        raise UserError(f"{SYMBOL} ends in {top['op']}, not a softmax: not an image-classification model")
    extra = [name for name in symbol.list_inputs() if name == "softmax_label"]
    if extra:
        raise UserError(f"{SYMBOL} still needs a label input after removing SoftmaxOutput")
    return symbol


def import_sagemaker(archive: Path, labels_path: Path, out: Path, check_batch: np.ndarray | None = None) -> ModelCard:
    import mxnet as mx

    archive, out = Path(archive), Path(out)
    if not archive.is_file():
        raise UserError(f"{archive} does not exist")
    classes = read_classes(Path(labels_path))
    with tempfile.TemporaryDirectory() as tmp:
        symbol_path, params_path, shapes_path = _members(archive, Path(tmp))
        size = _input_size(shapes_path)
        symbol = _inference_symbol(symbol_path)
        try:
            saved = mx.nd.load(str(params_path))
        except mx.base.MXNetError as exc:
            raise UserError(f"{params_path.name} does not load: {mxnet_reason(exc)}") from None
        args = {k.split(":", 1)[1]: v for k, v in saved.items() if k.startswith("arg:")}
        aux = {k.split(":", 1)[1]: v for k, v in saved.items() if k.startswith("aux:")}
        outputs = _output_count(symbol, size)
        if outputs != len(classes):
            raise UserError(f"the model has {outputs} classes but {labels_path} names {len(classes)}")
        card = ModelCard(backbone="sagemaker-image-classification", classes=tuple(classes),
                         preprocess=sagemaker_preprocess(size), source="sagemaker-image-classification",
                         extra={"archive": archive.name, "params": params_path.name})
        if check_batch is None:
            check_batch = np.concatenate([prepare(image, card.preprocess) for image in sample_images()])
        return artifact.write_checkpoint_folder(symbol, args, aux, card, out, check_batch)


def _output_count(symbol, size: int) -> int:
    _, out_shapes, _ = symbol.infer_shape(data=(1, 3, size, size))
    return int(out_shapes[0][-1])
