"""Run a model folder on images: the MXNet checkpoint and the card's exact preprocessing."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from socksort import images, localise, modelcard
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
        if not images:
            return np.zeros((0, len(self.classes)), np.float32)
        return np.concatenate([outputs[0] for outputs in self._batches(images)])

    def outputs(self, images: list[np.ndarray]) -> list[list[np.ndarray]]:
        """Every graph output per image, batch axis removed, in graph order (output 0 as
        probabilities): what :func:`socksort.localise.find_objects` decodes."""
        per_image = []
        for outputs in self._batches(images):
            per_image += [[out[i] for out in outputs] for i in range(len(outputs[0]))]
        return per_image

    def objects(self, images: list[np.ndarray]) -> list[tuple]:
        """The objects found in each image, boxes in that image's pixels; a model folder
        without localisation outputs has none to give."""
        if not localise.has_boxes(self.card):
            raise UserError(f"model folder {self.folder} cannot find boxes (its model.json has no "
                            "'localise'); train it again with this socksort")
        return [localise.find_objects(outputs, self.card, image.shape[1], image.shape[0])
                for image, outputs in zip(images, self.outputs(images))]

    def _batches(self, images: list[np.ndarray]):
        from mxnet import nd

        for start in range(0, len(images), self.batch_size):
            batch = np.concatenate([prepare(image, self.card.preprocess) for image in images[start:start + self.batch_size]])
            out = self.net(nd.array(batch))
            # A localising graph gives several outputs; output 0 is the class scores.
            outs = [o.asnumpy() for o in out] if isinstance(out, (list, tuple)) else [out.asnumpy()]
            if self.card.output == "logits":
                outs[0] = _softmax(outs[0])
            if outs[0].shape[1] != len(self.classes):
                raise UserError(f"model folder {self.folder}: the network has {outs[0].shape[1]} outputs "
                                f"but labels.txt names {len(self.classes)} classes")
            yield outs


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def top_k(probabilities: np.ndarray, classes, k: int) -> list[dict]:
    """The ``k`` most likely classes, probability in percent as the camera publishes it."""
    order = np.argsort(-probabilities)[:k]
    return [{"label": classes[i], "probability": round(float(probabilities[i]) * 100, 2)} for i in order]
