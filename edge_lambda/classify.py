"""From a frame to a decision: preprocess exactly as in training, run the model, pick top-k,
and, when the model localises (``socksort.localise.has_boxes``), find the objects in the
frame.

The stages are separate methods so the loop can time each one. A model without localising
outputs runs exactly as before: output 0 only, ``objects`` None.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from socksort import localise, preprocess
from socksort.contract import BLANK_LABEL
from socksort.modelcard import ModelCard
from socksort.schema import DetectedObject, Guess


@dataclass(frozen=True)
class Classification:
    label: str                 # the best class, or Blank when it is below the threshold
    probability: float         # the best class's probability in percent
    top: tuple[Guess, ...]     # the k best classes, best first
    objects: tuple[DetectedObject, ...] | None = None   # in frame pixels; None: the model finds no boxes


class Classifier:
    def __init__(self, card: ModelCard, runtime, threshold: float = 0.0, top_k: int = 3):
        self.card = card
        self.runtime = runtime
        self.threshold = threshold
        self.top_k = max(1, min(top_k, len(card.classes)))
        self.boxes = localise.has_boxes(card)

    def prepare(self, image_bgr: np.ndarray) -> np.ndarray:
        return preprocess.prepare(image_bgr, self.card.preprocess)

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """Class probabilities (summing to 1) for one prepared batch."""
        return self._probabilities(self.runtime.run(batch)[None])[0]

    def infer_batch(self, batch: np.ndarray) -> np.ndarray:
        """Class probabilities, one row per image of a prepared N-image batch."""
        return self._probabilities(self.runtime.run_batch(batch))

    def _probabilities(self, rows: np.ndarray) -> np.ndarray:
        scores = np.asarray(rows, dtype=np.float64).reshape(len(rows), -1)
        if self.card.output == "logits":
            scores = np.exp(scores - scores.max(axis=1, keepdims=True))
            scores /= scores.sum(axis=1, keepdims=True)
        return scores

    def decide(self, probabilities: np.ndarray) -> Classification:
        best = np.argsort(-probabilities, kind="stable")[: self.top_k]
        top = tuple(Guess(self.card.classes[i], percent(probabilities[i])) for i in best)
        label = top[0].label if top[0].probability >= self.threshold else BLANK_LABEL
        return Classification(label, top[0].probability, top)

    def classify_frame(self, batch: np.ndarray, width: int, height: int) -> Classification:
        """One prepared frame that was ``width`` x ``height`` pixels: its decision, and from a
        model that localises, the objects in it, boxes in that frame's pixels."""
        if not self.boxes:
            return self.decide(self.infer(batch))
        return self.classify_batch(batch, [(width, height)])[0]

    def classify_batch(self, batch: np.ndarray, sizes: list[tuple[int, int]]) -> list[Classification]:
        """A prepared N-image batch and each image's (width, height): one Classification each.
        A localising model runs once for its class scores and its maps together."""
        if not self.boxes:
            return [self.decide(row) for row in self.infer_batch(batch)]
        outputs = self.runtime.run_outputs(batch)
        rows = self._probabilities(outputs[0])
        if len(rows) != len(sizes):  # zip(strict=) is Python 3.10; the device runs 3.7
            raise ValueError(f"{len(rows)} classified images but {len(sizes)} sizes")
        return [replace(self.decide(row),
                        objects=localise.find_objects([out[i] for out in outputs], self.card, width, height))
                for i, (row, (width, height)) in enumerate(zip(rows, sizes))]

    def classify(self, image_bgr: np.ndarray) -> Classification:
        height, width = image_bgr.shape[:2]
        return self.classify_frame(self.prepare(image_bgr), width, height)


def percent(p: float) -> float:
    """A probability as the seed published it: percent with two decimals, within 0-100."""
    return round(min(max(float(p), 0.0), 1.0) * 100.0, 2)
