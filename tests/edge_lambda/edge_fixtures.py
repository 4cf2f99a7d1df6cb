"""Builders for the edge tests: a small real model folder and real test videos.

The model is a real MXNet network exported the way training exports (symbol + params,
``mx.onnx`` for model.onnx, a ModelCard): a 1x1 convolution and a dense layer whose weights
make it tell red, green and blue frames apart, so tests can check what it says.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

CLASSES = ("red", "green", "blue")
INPUT_SIZE = 32
# BGR colours of the frames in the test videos, in the order of CLASSES.
COLOURS = {"red": (0, 0, 230), "green": (0, 230, 0), "blue": (230, 0, 0)}


def build_colour_model(folder: Path, classes=CLASSES, output: str = "probabilities") -> Path:
    import mxnet as mx
    from mxnet.gluon import nn

    from socksort.modelcard import ModelCard, Preprocess

    net = nn.HybridSequential()
    net.add(nn.Conv2D(3, kernel_size=1, in_channels=3),
            nn.GlobalAvgPool2D(), nn.Flatten(), nn.Dense(len(classes), in_units=3))
    net.initialize(ctx=mx.cpu())
    conv, dense = net[0], net[3]
    conv.weight.set_data(mx.nd.eye(3).reshape((3, 3, 1, 1)))
    conv.bias.set_data(mx.nd.zeros(3))
    weights = np.zeros((len(classes), 3), dtype=np.float32)
    for i in range(min(3, len(classes))):
        weights[i, i] = 0.5   # RGB channel i votes for class i; mild, so probabilities stay below 100
    dense.weight.set_data(mx.nd.array(weights))
    dense.bias.set_data(mx.nd.zeros(len(classes)))

    class WithSoftmax(nn.HybridBlock):
        def __init__(self, body):
            super().__init__()
            self.body = body

        def hybrid_forward(self, F, x):
            return F.softmax(self.body(x))

    model = WithSoftmax(net) if output == "probabilities" else net
    model.hybridize()
    model(mx.nd.zeros((1, 3, INPUT_SIZE, INPUT_SIZE)))
    folder.mkdir(parents=True, exist_ok=True)
    model.export(str(folder / "model"), epoch=0)
    sym, arg_params, aux_params = mx.model.load_checkpoint(str(folder / "model"), 0)
    params = {**arg_params, **aux_params}
    mx.onnx.export_model(sym, params, in_shapes=[(1, 3, INPUT_SIZE, INPUT_SIZE)],
                         in_types=[np.float32], onnx_file_path=str(folder / "model.onnx"))
    ModelCard(backbone="colour-test-net", classes=tuple(classes),
              preprocess=Preprocess(input_size=INPUT_SIZE), output=output).save(folder)
    return folder


def write_video(path: Path, colours: list[tuple[int, int, int]], frames_each: int,
                fps: float = 10.0, size: tuple[int, int] = (96, 64)) -> Path:
    """A video whose frames are solid colours, ``frames_each`` frames per colour."""
    import cv2
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened(), "OpenCV cannot write MJPG videos here"
    width, height = size
    for n, colour in enumerate(colours):
        for k in range(frames_each):
            image = np.zeros((height, width, 3), dtype=np.uint8)
            image[:] = colour
            # A moving mark, so consecutive frames differ even within one colour.
            x = (n * frames_each + k) * 3 % width
            image[:, x:x + 2] = (128, 128, 128)
            writer.write(image)
    writer.release()
    return path


