"""Accuracy, per-class accuracy and the confusion matrix, shared by train and evaluate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Scores:
    classes: tuple[str, ...]
    confusion: np.ndarray          # rows: true class, columns: predicted class

    @classmethod
    def of(cls, classes, truth: np.ndarray, predicted: np.ndarray) -> "Scores":
        n = len(classes)
        matrix = np.zeros((n, n), dtype=np.int64)
        np.add.at(matrix, (np.asarray(truth, dtype=np.int64), np.asarray(predicted, dtype=np.int64)), 1)
        return cls(tuple(classes), matrix)

    @property
    def total(self) -> int:
        return int(self.confusion.sum())

    @property
    def accuracy(self) -> float:
        return float(np.trace(self.confusion) / self.total) if self.total else 0.0

    def per_class(self) -> dict[str, float | None]:
        """Recall of each class; None for a class with no examples."""
        counts = self.confusion.sum(axis=1)
        return {name: (float(self.confusion[i, i] / counts[i]) if counts[i] else None)
                for i, name in enumerate(self.classes)}

    def to_dict(self) -> dict:
        return {"accuracy": self.accuracy, "images": self.total, "per_class": self.per_class(),
                "classes": list(self.classes), "confusion": self.confusion.tolist()}
