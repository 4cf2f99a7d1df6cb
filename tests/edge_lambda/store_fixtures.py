"""Model stores for the hot-swap tests: real model folders (copies of the colour net) at
``STORE/<id>/`` with the id in their model.json, and ways to break one."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from socksort.modelcard import load

# Two ids that tell the models apart at a glance, and the class names of the second model:
# the same net under other names, so a prediction's label also says which model made it.
ID_A = "aaaaaaaaaaaa"
ID_B = "bbbbbbbbbbbb"
ID_BROKEN = "badbadbadbad"
CLASSES_B = ("crimson", "lime", "navy")


def add_model(store: Path, model_id: str, source: Path, classes: tuple[str, ...] | None = None,
              created: str | None = None, spoil=None) -> Path:
    """Copy the model folder ``source`` into ``store/<model_id>/`` with that id (and other
    class names when given), the way a training writes a store's model: whole, then renamed in."""
    store.mkdir(parents=True, exist_ok=True)
    staging = store / f".{model_id}.tmp"
    shutil.copytree(source, staging)
    card = load(staging)
    card = dataclasses.replace(card, id=model_id, classes=tuple(classes or card.classes),
                               created=created or card.created)
    card.save(staging)
    if spoil is not None:
        spoil(staging)
    staging.rename(store / model_id)
    return store / model_id


def add_broken_model(store: Path, model_id: str, source: Path, how: str = "garbled onnx") -> Path:
    """A model folder that looks complete (every file there, a valid model.json, so
    ``ModelStore.deploy`` takes it) but does not load: ``garbled onnx`` or ``too few labels``."""
    def spoil(folder: Path) -> None:
        if how == "garbled onnx":
            (folder / "model.onnx").write_bytes(b"this is not an ONNX graph" * 10)
        elif how == "too few labels":
            card = load(folder)
            dataclasses.replace(card, classes=card.classes[:2]).save(folder)
        else:
            raise ValueError(how)
    return add_model(store, model_id, source, spoil=spoil)
