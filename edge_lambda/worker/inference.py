"""Frames from many cameras through the model in one ONNX Runtime call.

The edge's :class:`Classifier` prepares each frame exactly as training did and decides each
row (threshold, top-k); this adds only the batch: the prepared frames stacked into one
Nx3xHxW array and one session run. A model whose ONNX input has a fixed batch of 1 (older
exports) is run frame by frame. A localising model's objects come back with each
Classification, boxes in the pixels of the picture they were found in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from socksort import images, modelcard
from socksort.edge_lambda import runtimes
from socksort.edge_lambda.classify import Classification, Classifier
from socksort.modelcard import ModelCard


@dataclass(frozen=True)
class LoadedModel:
    folder: Path
    card: ModelCard
    id: str | None          # model.json's id; None for a folder without one
    classifier: Classifier
    max_batch: int          # what one session run takes (1 for a fixed-batch export)


RUNTIMES = ("onnx", "onnx-int8")   # a worker batches frames: ONNX Runtime only


def load(folder: Path, threads: int | None = None, threshold: float = 0.0, top_k: int = 3,
         runtime_kind: str = "onnx") -> LoadedModel:
    card = modelcard.load(folder)
    runtime = runtimes.load(folder, card, runtime_kind, threads)
    return LoadedModel(Path(folder), card, card.id, Classifier(card, runtime, threshold, top_k),
                       runtime.max_batch)


def decode(jpeg: bytes, name: str) -> np.ndarray:
    """The frame as BGR pixels, or ``images.UnreadableImage`` naming ``name``."""
    return images.decode(jpeg, name)


def classify_batch(model: LoadedModel, pictures: list[np.ndarray]) -> list[Classification]:
    """One Classification per picture, in order (with its objects when the model localises)."""
    if not pictures:
        return []
    clf = model.classifier
    prepared = [clf.prepare(p) for p in pictures]
    sizes = [(p.shape[1], p.shape[0]) for p in pictures]
    results: list[Classification] = []
    step = model.max_batch
    for start in range(0, len(prepared), step):
        chunk = np.concatenate(prepared[start:start + step], axis=0)
        results.extend(clf.classify_batch(chunk, sizes[start:start + step]))
    return results
