"""How the API shows a stored model: its lineage and scores, and in detail its training."""

from __future__ import annotations

import json

from socksort.modelstore import StoredModel

HISTORY = "training-history.json"


def summary(model: StoredModel, deployed: str | None) -> dict:
    card = model.card
    extra = card.extra if isinstance(card.extra, dict) else {}
    return {"id": model.id, "created": card.created, "mode": card.mode, "backbone": card.backbone,
            "params": card.params, "dataset_version": card.dataset_version, "parent": card.parent,
            "code_version": card.code_version, "val_accuracy": card.val_accuracy,
            "per_class": extra.get("per_class_val_accuracy"), "classes": list(card.classes),
            "deployed": model.id == deployed}


def detail(model: StoredModel, deployed: str | None) -> dict:
    """The summary plus the validation confusion matrix and the per-epoch history, from the
    model's ``training-history.json`` (absent for a model trained before it was written)."""
    history = _history(model)
    validation = history.get("validation") if isinstance(history.get("validation"), dict) else None
    confusion = None
    if validation and isinstance(validation.get("confusion"), list):
        confusion = {"classes": validation.get("classes") or list(model.card.classes),
                     "matrix": validation["confusion"],
                     "rows": "true class", "columns": "predicted class"}
    epochs = history.get("epochs")
    return {**summary(model, deployed), "confusion": confusion,
            "validation": validation, "history": epochs if isinstance(epochs, list) else [],
            "config": history.get("config")}


def _history(model: StoredModel) -> dict:
    try:
        data = json.loads((model.folder / HISTORY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
