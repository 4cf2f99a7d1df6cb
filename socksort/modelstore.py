"""A store of model folders with lineage: ``MODELS/<id>/`` each, and ``MODELS/deployed``.

Each model is a normal model folder (``docs/model-artifact.md``) whose ``model.json``
carries its lineage: ``id``, ``dataset_version``, ``parent``, ``code_version``, ``mode``
and ``params``. The id is 12 hex digits of a hash over (dataset version, mode, backbone,
params, code version), so the same inputs give the same id and a training already done
is found instead of redone (DVC's run cache).

``MODELS/deployed`` holds the deployed id on one line and is replaced atomically: the
teach API writes it, ``socksort edge --models`` follows it, and a rollback is a deploy
of an older id.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from socksort import atomic, modelcard
from socksort.contract import MODEL_FILES
from socksort.errors import UserError
from socksort.modelcard import ModelCard

DEPLOYED = "deployed"
HISTORY = "training-history.json"   # per-epoch figures and the validation scores
ID_PATTERN = re.compile(r"[0-9a-f]{12}")


class NoSuchModel(UserError):
    """An id that names no model of the store."""


def model_id(dataset_version: str, mode: str, backbone: str, params: dict, code_version: str) -> str:
    """12 hex digits naming what a training run is made of; equal inputs, equal ids."""
    key = json.dumps({"dataset_version": dataset_version, "mode": mode, "backbone": backbone,
                      "params": params, "code_version": code_version}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def valid_id(text: str) -> str:
    if not isinstance(text, str) or not ID_PATTERN.fullmatch(text):
        raise NoSuchModel(f"{text!r} is not a model id (12 hex digits)")
    return text


@dataclass(frozen=True)
class StoredModel:
    id: str
    folder: Path
    card: ModelCard

    @property
    def created(self) -> str:
        return self.card.created or ""


class ModelStore:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def folder(self, model: str) -> Path:
        return self.root / valid_id(model)

    def has(self, model: str) -> bool:
        try:
            folder = self.folder(model)
        except NoSuchModel:
            return False
        return all((folder / name).is_file() for name in MODEL_FILES)

    def get(self, model: str) -> StoredModel:
        folder = self.folder(model)
        if not self.has(model):
            raise NoSuchModel(f"no model {model} in {self.root}")
        return StoredModel(model, folder, modelcard.load(folder, need=MODEL_FILES))

    def models(self) -> list[StoredModel]:
        """Every complete model, oldest first (a folder still being written is not one yet)."""
        if not self.root.is_dir():
            return []
        found = []
        for folder in self.root.iterdir():
            if folder.is_dir() and ID_PATTERN.fullmatch(folder.name) and self.has(folder.name):
                try:
                    found.append(StoredModel(folder.name, folder, modelcard.load(folder, need=MODEL_FILES)))
                except UserError:
                    continue   # a damaged folder is not offered; `models show` names what is wrong
        return sorted(found, key=lambda m: (m.created, m.id))

    def deployed(self) -> str | None:
        """The deployed id, or None when nothing was deployed (or it was since removed)."""
        try:
            text = (self.root / DEPLOYED).read_text(encoding="utf-8").strip()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return text if ID_PATTERN.fullmatch(text) and self.has(text) else None

    def current(self) -> StoredModel | None:
        """What serves by default: the deployed model, else the newest."""
        deployed = self.deployed()
        if deployed is not None:
            return self.get(deployed)
        models = self.models()
        return models[-1] if models else None

    def deploy(self, model: str) -> StoredModel:
        stored = self.get(model)
        atomic.write_text(self.root / DEPLOYED, f"{stored.id}\n")
        return stored


def summary(model: StoredModel, deployed: str | None) -> dict:
    """One model as `GET /api/models` and `socksort models list` give it."""
    card = model.card
    extra = card.extra if isinstance(card.extra, dict) else {}
    return {"id": model.id, "created": card.created, "mode": card.mode, "backbone": card.backbone,
            "params": card.params, "dataset_version": card.dataset_version, "parent": card.parent,
            "code_version": card.code_version, "val_accuracy": card.val_accuracy,
            "per_class": extra.get("per_class_val_accuracy"), "classes": list(card.classes),
            "deployed": model.id == deployed}


def details(model: StoredModel, deployed: str | None) -> dict:
    """The summary plus the validation confusion matrix and the per-epoch history, from the
    model's ``training-history.json`` (absent for a model trained before it was written):
    `GET /api/models/{id}` and `socksort models show`."""
    history = _history(model)
    validation = history.get("validation") if isinstance(history.get("validation"), dict) else None
    confusion = None
    if validation and isinstance(validation.get("confusion"), list):
        confusion = {"classes": validation.get("classes") or list(model.card.classes),
                     "matrix": validation["confusion"], "rows": "true class", "columns": "predicted class"}
    epochs = history.get("epochs")
    return {**summary(model, deployed), "confusion": confusion, "validation": validation,
            "history": epochs if isinstance(epochs, list) else [], "config": history.get("config")}


def _history(model: StoredModel) -> dict:
    try:
        data = json.loads((model.folder / HISTORY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
