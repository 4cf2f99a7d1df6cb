"""``socksort train --images DIR --models STORE``: from a photo folder straight to a stored model.

No im2rec step: the photos are read from ``DIR/<label>/`` (``socksort.examples``), split
into training and validation photos by content (the same photos always split the same
way), trained in one of two modes, and written into the model store as ``STORE/<id>/``
with their lineage. The id is a hash of (dataset version, mode, backbone, params, code
version): a training whose id is already in the store is not run again (DVC's run cache).

- ``quick``: a new head on cached embeddings (``training/quick.py``), seconds. The head
  is fitted on the training photos to measure validation accuracy, then fitted again on
  every photo for the model that is saved: with two photos of a class, both teach it.
- ``full``: the fine-tune of ``training/train.py`` on the training photos. A class with
  fewer than ``SMALL_CLASS`` photos also trains on its validation photo (one photo of two
  teaches too little to leave out); model.json names those classes, whose validation
  figures are then on a photo the model has seen.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from socksort import images as image_files
from socksort import modelstore, progress
from socksort.errors import UserError
from socksort.examples import Example, ExampleStore, check_trainable
from socksort.modelcard import ModelCard
from socksort.modelstore import ModelStore, StoredModel
from socksort.training import artifact, data, plots, quantize, quick
from socksort.training.train_job import full_params
from socksort.training.backbones import info
from socksort.training.box_head import BoxHeadConfig, box_params
from socksort.training.lineage import code_version
from socksort.training.train import Events, TrainConfig, fit_records

MODES = ("quick", "full")
# Quick mode is the teach loop's, where a model is due in seconds; the box head's scenes and
# training take minutes more, so a quick model boxes with the feature-map decoder unless
# the head is asked for (--box-head, --box-scenes N).
QUICK_BOXES = BoxHeadConfig(scenes=0)
WORKING_SIDE = 320      # photos are shrunk (shorter side) before training: camera frames are no larger
VAL_SHARE = 0.2
SMALL_CLASS = 5


@dataclass(frozen=True)
class Outcome:
    model: StoredModel
    reused: bool          # the store already held this exact training's model


def split(examples: list[Example]) -> tuple[list[Example], list[Example]]:
    """(training, validation): a fifth of each class's photos (at least one) to check, chosen
    by content hash so the same photos split the same way; the rest to train."""
    train, val = [], []
    by_label: dict[str, list[Example]] = {}
    for example in sorted(examples, key=lambda e: e.sha256):
        by_label.setdefault(example.label, []).append(example)
    for photos in by_label.values():
        n_val = max(1, int(round(len(photos) * VAL_SHARE)))
        val.extend(photos[:n_val])
        train.extend(photos[n_val:])
    return train, val


def train_from_images(images: Path, models: Path, mode: str, events: Events,
                      backbone: str = "efficientnet_lite0", full: TrainConfig | None = None,
                      fast: quick.QuickConfig | None = None, int8: bool = False,
                      boxes: BoxHeadConfig | None = None) -> Outcome:
    """``boxes`` None: the mode's own choice, a box head in full mode and none in quick mode
    (:data:`QUICK_BOXES`)."""
    if mode not in MODES:
        raise UserError(f"--mode {mode!r}: choose quick or full")
    if boxes is None:
        boxes = QUICK_BOXES if mode == "quick" else BoxHeadConfig()
    photo_store = ExampleStore(images)
    examples = photo_store.examples()
    if not examples:
        raise UserError(f"{images} holds no photos (expected {images}/<label>/*.jpg)")
    classes = sorted({e.label for e in examples})
    check_trainable({label: sum(e.label == label for e in examples) for label in classes})
    version = photo_store.version(examples)
    if mode == "quick":
        cfg = replace(fast or quick.QuickConfig(), backbone=backbone)
        params = {**cfg.params(), **box_params(boxes)}
    else:
        cfg = replace(full or TrainConfig(), backbone=backbone)
        cfg.validate()
        params = {**full_params(cfg), **box_params(boxes)}
    store = ModelStore(models)
    model_id = modelstore.model_id(version, mode, backbone, params, code_version())
    if store.has(model_id):
        progress.step(f"model {model_id} was already trained on this dataset with these settings")
        if int8:
            _int8_for_stored(store.get(model_id), examples, classes)
        return Outcome(store.get(model_id), True)
    lineage = {"id": model_id, "dataset_version": version, "code_version": code_version(),
               "mode": mode, "params": params}
    started = time.monotonic()
    photos = {e.sha256: _read(e) for e in examples}
    train, val = split(examples)
    progress.step(f"{len(examples)} photos of {len(classes)} classes ({len(train)} to train, {len(val)} to "
                  f"check), {mode} mode, model {model_id}")
    if mode == "quick":
        net, card, history, val_batch = _quick(cfg, classes, photos, examples, train, val, models, events)
    else:
        net, card, history, val_batch = _full(cfg, classes, photos, train, val, events)
    card = replace(card, **lineage, source="socksort-train",
                   extra={**card.extra, "train_seconds": round(time.monotonic() - started, 1),
                          "photos": {"train": len(train), "val": len(val)}})
    events({"type": "step", "progress": 0.96, "text": f"exporting model {model_id} (MXNet + ONNX)"})
    finish = quantize.finisher([photos[e.sha256] for e in train], _labels(val, classes)) if int8 else None
    artifact.write_model_folder(net, card, store.root / model_id, val_batch, _files(card, history, params), finish,
                                photos=[(photos[e.sha256], classes.index(e.label)) for e in train], boxes=boxes,
                                report=lambda done, text: events({"type": "step", "progress": round(0.96 + 0.03 * done, 4),
                                                                  "text": text}))
    return Outcome(store.get(model_id), False)


def _labels(subset: list[Example], classes: list[str]) -> np.ndarray:
    return np.asarray([classes.index(e.label) for e in subset], dtype=np.int64)


def _int8_for_stored(model: StoredModel, examples: list[Example], classes: list[str]) -> None:
    """``--int8`` for a model the store already holds without one: the same split's photos
    calibrate and check it, as they would have when it was trained."""
    if (model.folder / quantize.INT8_FILE).is_file():
        return
    train, val = split(examples)
    photos = {e.sha256: _read(e) for e in train + val}
    quantize.add_to_folder(model.folder, [photos[e.sha256] for e in train], [photos[e.sha256] for e in val],
                           _labels(val, classes))


def _read(example: Example) -> np.ndarray:
    try:
        image = image_files.read(example.path)
    except image_files.UnreadableImage as exc:
        raise UserError(str(exc)) from None
    return shrink(image, WORKING_SIDE)


def shrink(image: np.ndarray, side: int) -> np.ndarray:
    """Scale the shorter side down to ``side`` (never up), keeping the aspect."""
    height, width = image.shape[:2]
    if min(height, width) <= side:
        return image
    scale = side / min(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _quick(cfg, classes, photos, examples, train, val, models: Path, events: Events):
    pre = info(cfg.backbone).preprocess(cfg.input_size)
    embedder = quick.Embedder(cfg.backbone, pre, Path(models) / ".cache")
    index = {label: i for i, label in enumerate(classes)}
    wanted = [quick.Photo(e.sha256, photos[e.sha256], index[e.label]) for e in examples]
    vectors = embedder.embed(wanted, cfg, events)

    def views_of(subset):
        x = np.concatenate([vectors[e.sha256] for e in subset])
        y = np.repeat([index[e.label] for e in subset], cfg.views)
        return x, y

    train_x, train_y = views_of(train)
    val_x = np.stack([vectors[e.sha256][0] for e in val])   # the centred view: what the camera sees
    val_y = np.asarray([index[e.label] for e in val])
    checked = quick.fit_head(train_x, train_y, len(classes), cfg, events, val_x, val_y, tuple(classes))
    all_x, all_y = views_of(examples)
    final = quick.fit_head(all_x, all_y, len(classes), cfg, lambda event: None)
    net = quick.network_with_head(cfg.backbone, final)
    scores = checked.val_scores
    best = checked.history[-1]
    card = ModelCard(backbone=cfg.backbone, classes=tuple(classes), preprocess=pre,
                     val_accuracy=round(best.val_acc, 6),
                     extra={"pretrained": True, "per_class_val_accuracy": scores.per_class(),
                            "validation": scores.to_dict(), "embeddings_per_photo": cfg.views,
                            "head_fitted_on": "every photo (validation figures from a fit on the training photos)"})
    val_batch = np.concatenate([embedder.views(quick.Photo(e.sha256, photos[e.sha256], 0),
                                               replace(cfg, views=1)) for e in val])
    return net, card, checked.history, val_batch


def _full(cfg: TrainConfig, classes, photos, train, val, events: Events):
    index = {label: i for i, label in enumerate(classes)}
    counts = {label: sum(e.label == label for e in train + val) for label in classes}
    small = sorted(label for label, count in counts.items() if count < SMALL_CLASS)
    train = train + [e for e in val if e.label in small]

    def records(subset, name):
        encoded = tuple(_jpeg(photos[e.sha256]) for e in subset)
        return data.RecordSet(Path(name), encoded, np.asarray([index[e.label] for e in subset], dtype=np.int64))

    result = fit_records(records(train, "training photos"), records(val, "validation photos"), classes, cfg,
                         lambda event: events({**event, "progress": round(0.95 * event["progress"], 4)})
                         if event.get("type") == "step" else events(event))
    card = ModelCard(backbone=cfg.backbone, classes=result.classes, preprocess=result.preprocess,
                     val_accuracy=round(result.best.val_acc, 6),
                     extra={"pretrained": cfg.pretrained, "best_epoch": result.best.epoch,
                            "epochs_run": len(result.history),
                            "per_class_val_accuracy": result.val_scores.per_class(),
                            "validation": result.val_scores.to_dict(),
                            "validation_photos_also_trained": small})
    return result.net, card, result.history, result.val_batch


def _jpeg(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    if not ok:
        raise UserError("a photo could not be re-encoded for training")
    return encoded.tobytes()


def _files(card: ModelCard, history, params: dict) -> dict[str, bytes]:
    epochs = [h.to_dict() for h in history]
    validation = card.extra.get("validation") or {}
    files = {"training-history.json": (json.dumps({"config": params, "epochs": epochs,
                                                   "validation": validation}, indent=2) + "\n").encode()}
    if epochs:
        files["training-curves.png"] = plots.training_curves(epochs)
    if validation.get("confusion"):
        files["confusion-matrix.png"] = plots.confusion_matrix(np.asarray(validation["confusion"]), card.classes,
                                                               "validation confusion matrix")
    return files
