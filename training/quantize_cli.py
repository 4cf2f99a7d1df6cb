"""``socksort quantize MODEL_DIR --calibration DIR_OR_REC``: INT8 for a model folder that exists.

The calibration photos are the training photos, as ``socksort train --int8`` uses them;
the figures come from validation photos the model did not train on:

- a photo folder ``DIR/<label>/*.jpg`` is split as ``train --images`` splits it (by content),
  the training part calibrates and the validation part checks;
- ``PREFIX_train.rec`` calibrates and ``PREFIX_val.rec`` beside it checks.

``--validation DIR_OR_REC`` names other validation photos (a whole folder or .rec).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from socksort import images as image_files
from socksort import modelcard
from socksort.config import existing_dir, one_of, option
from socksort.errors import UserError
from socksort.examples import ExampleStore
from socksort.training import data, from_images, quantize


def register(commands) -> None:
    parser = commands.add_parser(
        "quantize", help="add an INT8 ONNX model (model.int8.onnx) to a model folder",
        description="Quantize a model folder's model.onnx to INT8 with ONNX Runtime's static quantization, "
                    "calibrated on training photos, and report on validation photos how often its top-1 "
                    "agrees with FP32, the accuracy of both and the time per photo of both. Writes "
                    "model.int8.onnx and records the figures in model.json's extra.int8.")
    parser.add_argument("model", type=existing_dir, metavar="MODEL_DIR")
    option(parser, "--calibration", type=Path, required=True,
           help="the training photos: a photo folder DIR/<label>/*.jpg (split as train --images splits it) "
                "or PREFIX_train.rec (validated on PREFIX_val.rec beside it)")
    option(parser, "--validation", type=Path, help="other validation photos: a photo folder or a .rec file")
    option(parser, "--format", type=one_of(*quantize.FORMATS), default=quantize.DEFAULT_FORMAT,
           help="ONNX quantized graph format")
    parser.add_argument("--json", action="store_true", help="the figures as one JSON object")
    parser.set_defaults(func=_quantize)


def _quantize(args) -> int:
    card = modelcard.load(args.model, need=("model.json", "labels.txt", "model.onnx"))
    calibration, val_images, val_labels = photos(args.calibration, args.validation, card.classes)
    card = quantize.add_to_folder(args.model, calibration, val_images, val_labels, args.format)
    report = card.extra["int8"]
    if args.json:
        print(json.dumps({"folder": str(args.model), **report}))
    else:
        print(f"wrote {Path(args.model) / quantize.INT8_FILE}")
        print(quantize.Int8Report(**report).summary())
    return 0


def photos(calibration: Path, validation: Path | None, classes: tuple[str, ...]):
    """(calibration images, validation images, validation labels) from the paths given."""
    if calibration.is_dir():
        examples = ExampleStore(calibration).examples()
        if not examples:
            raise UserError(f"{calibration} holds no photos (expected {calibration}/<label>/*.jpg)")
        train, val = from_images.split(examples)
        calib = [_read(e) for e in train]
        if validation is None:
            return calib, [_read(e) for e in val], _indices([e.label for e in val], classes, calibration)
    elif calibration.suffix == ".rec" and calibration.is_file():
        calib = quantize.RecordImages(data.read_records(calibration, len(classes)))
        if validation is None:
            validation = calibration.with_name(calibration.name.replace("_train.rec", "_val.rec"))
            if validation == calibration or not validation.is_file():
                raise UserError(f"no validation photos: {validation.name} is not beside {calibration} "
                                f"(give them with --validation)")
    else:
        raise UserError(f"--calibration {calibration}: expected a photo folder or a .rec file")
    return (calib, *_validation(validation, classes))


def _validation(path: Path, classes: tuple[str, ...]):
    if path.is_dir():
        examples = ExampleStore(path).examples()
        if not examples:
            raise UserError(f"{path} holds no photos (expected {path}/<label>/*.jpg)")
        return [_read(e) for e in examples], _indices([e.label for e in examples], classes, path)
    if path.suffix == ".rec" and path.is_file():
        records = data.read_records(path, len(classes))
        return quantize.RecordImages(records), records.labels
    raise UserError(f"--validation {path}: expected a photo folder or a .rec file")


def _indices(labels: list[str], classes: tuple[str, ...], where: Path) -> np.ndarray:
    unknown = sorted(set(labels) - set(classes))
    if unknown:
        raise UserError(f"{where} has photos of {', '.join(unknown)}, which the model does not know")
    return np.asarray([classes.index(label) for label in labels], dtype=np.int64)


def _read(example) -> np.ndarray:
    """A photo as training reads it (shrunk to the side training works at)."""
    try:
        return from_images.shrink(image_files.read(example.path), from_images.WORKING_SIDE)
    except image_files.UnreadableImage as exc:
        raise UserError(str(exc)) from None
