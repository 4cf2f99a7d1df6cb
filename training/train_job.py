"""``socksort train``: fit, then write the model folder with its plots and a summary."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from socksort import modelcard, progress
from socksort.modelcard import ModelCard
from socksort.modelstore import model_id
from socksort.training import artifact, data, plots, quantize
from socksort.training.box_head import BoxHeadConfig, box_params
from socksort.training.lineage import code_version
from socksort.training.train import TrainConfig, TrainResult, fit


def full_params(cfg: TrainConfig) -> dict:
    """The settings that decide a fine-tune's result (the worker count decides only its speed)."""
    params = json.loads(json.dumps(asdict(cfg)))
    params.pop("workers", None)
    return params


def run(train_rec: Path, val_rec: Path, labels: Path | None, out: Path, cfg: TrainConfig,
        int8: bool = False, boxes: BoxHeadConfig = BoxHeadConfig()) -> tuple[ModelCard, TrainResult]:
    labels = labels or data.default_labels_path(Path(train_rec))
    classes = data.read_classes(labels)
    result = fit(train_rec, val_rec, classes, cfg)
    records_hash = modelcard.data_hash(Path(train_rec), Path(val_rec))
    params = {**full_params(cfg), **box_params(boxes)}
    # The records' hash stands in for the dataset version: the same .rec files, settings
    # and code give the same id, as a photo folder's training does.
    card = ModelCard(backbone=cfg.backbone, classes=result.classes, preprocess=result.preprocess,
                     source="socksort-train", val_accuracy=round(result.best.val_acc, 6),
                     train_data_hash=records_hash,
                     id=model_id(records_hash, "full", cfg.backbone, params, code_version()),
                     dataset_version=records_hash, code_version=code_version(), mode="full", params=params,
                     extra={"pretrained": cfg.pretrained, "best_epoch": result.best.epoch,
                            "epochs_run": len(result.history), "train_seconds": round(result.seconds, 1),
                            "per_class_val_accuracy": result.val_scores.per_class()})
    history = [h.to_dict() for h in result.history]
    files = {
        "training-curves.png": plots.training_curves(history),
        "confusion-matrix.png": plots.confusion_matrix(result.val_scores.confusion, result.classes,
                                                       "validation confusion matrix"),
        "training-history.json": (json.dumps({"config": asdict(cfg), "epochs": history,
                                              "validation": result.val_scores.to_dict()}, indent=2) + "\n").encode(),
    }
    progress.step(f"exporting {out} (MXNet + ONNX, checking ONNX against MXNet on {len(result.val_batch)} images)")
    finish = _int8_step(train_rec, val_rec, len(classes)) if int8 else None
    card = artifact.write_model_folder(result.net, card, Path(out), result.val_batch, files, finish,
                                       photos=_photos(data.read_records(Path(train_rec), len(classes))),
                                       boxes=boxes)
    return card, result


def _photos(records: data.RecordSet) -> list[tuple[np.ndarray, int]]:
    """The training records as (BGR image, class index) pairs, for the box head."""
    return [(records.decode(i), int(label)) for i, label in enumerate(records.labels)]


def _int8_step(train_rec: Path, val_rec: Path, num_classes: int):
    """``--int8``: calibrated on the training records, checked on the validation records
    (in file order, as ``result.val_batch`` is)."""
    calibration = quantize.RecordImages(data.read_records(Path(train_rec), num_classes))
    return quantize.finisher(calibration, data.read_records(Path(val_rec), num_classes).labels)


def summary_table(result: TrainResult) -> str:
    lines = [f"{'epoch':>5} {'phase':<9}{'loss':>8}{'acc':>8}{'val loss':>10}{'val acc':>9}{'img/s':>8}{'s':>7}"]
    for h in result.history:
        mark = " *" if h is result.best else ""
        lines.append(f"{h.epoch:>5} {h.phase:<9}{h.train_loss:>8.3f}{100 * h.train_acc:>7.1f}%"
                     f"{h.val_loss:>10.3f}{100 * h.val_acc:>8.1f}%{h.images_per_s:>8.1f}{h.seconds:>7.1f}{mark}")
    lines.append(f"best epoch {result.best.epoch} (*): validation accuracy {100 * result.best.val_acc:.1f}%, "
                 f"{result.seconds:.0f} s in all")
    return "\n".join(lines)
