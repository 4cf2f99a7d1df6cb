"""Builders for the thin camera and worker tests: a colour model whose ONNX input takes a
batch of any size (as training exports), colour frames as JPEG, and Kafka helpers."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from edge_fixtures import COLOURS, build_colour_model


def batch_colour_model(folder: Path) -> Path:
    """The edge tests' colour model, its model.onnx exported with a dynamic batch dimension."""
    import mxnet as mx

    build_colour_model(folder)
    from socksort import modelcard
    card = modelcard.load(folder)
    side = card.preprocess.input_size
    sym, args, aux = mx.model.load_checkpoint(str(folder / "model"), 0)
    mx.onnx.export_model(sym, {**args, **aux}, in_shapes=[(1, 3, side, side)], in_types=[np.float32],
                         onnx_file_path=str(folder / "model.onnx"), dynamic=True,
                         dynamic_input_shapes=[(None, 3, side, side)])
    return folder


def with_id(model: Path, folder: Path, model_id: str) -> Path:
    """A copy of ``model`` whose model.json carries ``model_id``."""
    import dataclasses

    from socksort import modelcard
    shutil.copytree(model, folder)
    card = modelcard.load(folder)
    dataclasses.replace(card, id=model_id).save(folder)
    return folder


def colour_jpeg(name: str, size=(64, 48), quality: int = 85) -> bytes:
    import cv2
    width, height = size
    image = np.zeros((height, width, 3), dtype=np.uint8)
    image[:] = COLOURS[name]
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()
