"""PNG pictures of training: loss/accuracy curves and the confusion matrix (matplotlib, Agg)."""

from __future__ import annotations

import io

import numpy as np

# matplotlib (0.2 s to import, and a backend to choose first) is imported inside _pyplot.


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(figure)
    return buffer.getvalue()


def training_curves(history: list[dict]) -> bytes:
    """Loss and accuracy per epoch, training and validation; the phase change is marked."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator
    epochs = np.arange(1, len(history) + 1)
    figure, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, key, title in ((loss_ax, "loss", "loss"), (acc_ax, "acc", "accuracy")):
        ax.plot(epochs, [h[f"train_{key}"] for h in history], "o-", label="training")
        ax.plot(epochs, [h[f"val_{key}"] for h in history], "s-", label="validation")
        phases = [h["phase"] for h in history]
        if "finetune" in phases and phases[0] != "finetune":
            ax.axvline(phases.index("finetune") + 0.5, color="grey", linestyle=":", label="fine-tuning starts")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(title)
        ax.grid(alpha=0.3)
    acc_ax.set_ylim(0, 1.02)
    acc_ax.legend(loc="lower right")
    return _png(figure)


def confusion_matrix(confusion: np.ndarray, classes, title: str = "confusion matrix") -> bytes:
    plt = _pyplot()
    n = len(classes)
    size = max(4.0, 0.55 * n + 2)
    figure, ax = plt.subplots(figsize=(size, size))
    ax.imshow(confusion, cmap="Blues")
    ax.set_xticks(range(n), classes, rotation=60, ha="right")
    ax.set_yticks(range(n), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    peak = confusion.max() or 1
    for i in range(n):
        for j in range(n):
            if confusion[i, j]:
                ax.text(j, i, str(confusion[i, j]), ha="center", va="center",
                        color="white" if confusion[i, j] > peak / 2 else "black", fontsize=8)
    ax.set_title(title)
    return _png(figure)
