"""Run a model folder on images: the MXNet checkpoint and the card's exact preprocessing."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from socksort import images, modelcard
from socksort.errors import UserError
from socksort.mxnet_block import import_block
from socksort.preprocess import prepare
from socksort.training.data import mxnet_reason

# MXNet (seconds to import) is imported inside the methods that use it.

NEEDED = ("model-symbol.json", "model-0000.params", "labels.txt", "model.json")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def read_image(path: Path) -> np.ndarray:
    """A photo to classify; an unreadable one (a truncated JPEG too) stops with its name."""
    return images.read(path)


class Classifier:
    """A loaded model folder; ``probabilities`` takes BGR images as OpenCV reads them."""

    def __init__(self, folder: str | Path, batch_size: int = 16):
        import mxnet as mx

        self.folder = Path(folder)
        self.card = modelcard.load(self.folder, need=NEEDED)
        self.batch_size = batch_size
        try:
            self.net = import_block(self.folder, self.card.input_name, ctx=mx.cpu())
        except (mx.base.MXNetError, ValueError, AssertionError) as exc:
            raise UserError(f"model folder {self.folder}: the MXNet files do not load: {mxnet_reason(exc)}") from None
        self.net.hybridize(static_alloc=True)

    @property
    def classes(self) -> tuple[str, ...]:
        return self.card.classes

    def probabilities(self, images: list[np.ndarray]) -> np.ndarray:
        """N x classes probabilities (0-1) for N images."""
        from mxnet import nd

        outputs = []
        for start in range(0, len(images), self.batch_size):
            batch = np.concatenate([prepare(image, self.card.preprocess) for image in images[start:start + self.batch_size]])
            out = self.net(nd.array(batch))
            if self.card.output == "logits":
                out = nd.softmax(out, axis=-1)
            outputs.append(out.asnumpy())
        if outputs and outputs[0].shape[1] != len(self.classes):
            raise UserError(f"model folder {self.folder}: the network has {outputs[0].shape[1]} outputs "
                            f"but labels.txt names {len(self.classes)} classes")
        return np.concatenate(outputs) if outputs else np.zeros((0, len(self.classes)), np.float32)


def top_k(probabilities: np.ndarray, classes, k: int) -> list[dict]:
    """The ``k`` most likely classes, probability in percent as the camera publishes it."""
    order = np.argsort(-probabilities)[:k]
    return [{"label": classes[i], "probability": round(float(probabilities[i]) * 100, 2)} for i in order]
