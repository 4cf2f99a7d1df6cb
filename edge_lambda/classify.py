"""From a frame to a decision: preprocess exactly as in training, run the model, pick top-k.

The stages are separate methods so the loop can time each one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from socksort import preprocess
from socksort.contract import BLANK_LABEL
from socksort.modelcard import ModelCard
from socksort.schema import Guess


@dataclass(frozen=True)
class Classification:
    label: str                 # the best class, or Blank when it is below the threshold
    probability: float         # the best class's probability in percent
    top: tuple[Guess, ...]     # the k best classes, best first


class Classifier:
    def __init__(self, card: ModelCard, runtime, threshold: float = 0.0, top_k: int = 3):
        self.card = card
        self.runtime = runtime
        self.threshold = threshold
        self.top_k = max(1, min(top_k, len(card.classes)))

    def prepare(self, image_bgr: np.ndarray) -> np.ndarray:
        return preprocess.prepare(image_bgr, self.card.preprocess)

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """Class probabilities (summing to 1) for one prepared batch."""
        scores = np.asarray(self.runtime.run(batch), dtype=np.float64)
        if self.card.output == "logits":
            scores = np.exp(scores - scores.max())
            scores /= scores.sum()
        return scores

    def infer_batch(self, batch: np.ndarray) -> np.ndarray:
        """Class probabilities, one row per image of a prepared N-image batch."""
        scores = np.asarray(self.runtime.run_batch(batch), dtype=np.float64).reshape(len(batch), -1)
        if self.card.output == "logits":
            scores = np.exp(scores - scores.max(axis=1, keepdims=True))
            scores /= scores.sum(axis=1, keepdims=True)
        return scores

    def decide(self, probabilities: np.ndarray) -> Classification:
        best = np.argsort(-probabilities, kind="stable")[: self.top_k]
        top = tuple(Guess(self.card.classes[i], percent(probabilities[i])) for i in best)
        label = top[0].label if top[0].probability >= self.threshold else BLANK_LABEL
        return Classification(label, top[0].probability, top)

    def classify(self, image_bgr: np.ndarray) -> Classification:
        return self.decide(self.infer(self.prepare(image_bgr)))


def percent(p: float) -> float:
    """A probability as the seed published it: percent with two decimals, within 0-100."""
    return round(min(max(float(p), 0.0), 1.0) * 100.0, 2)
