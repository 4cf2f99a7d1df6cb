"""The INT8 model (``socksort quantize``, as ``train --int8`` makes it) against FP32, in one run.

The model: ``socksort train --images`` (the default full fine-tune of EfficientNet-Lite0) on
the issue's synthetic set, ``synth dataset --classes 8 --per-class 30`` (8 designs + Blank).
Training takes minutes and does not change what is measured here, so its FP32 folder is
kept under ``.cache/int8/`` keyed by the data and training flags; every run quantizes it
afresh (calibrated on the training split's photos, as ``--int8`` does) into a temporary copy.

Figures:

- speed-up: median time a photo, FP32 / INT8, batch 1 and every output computed (as the
  edge runs), ONNX Runtime's CPU provider with the edge's session options, the two models
  taking turns photo by photo; at the edge's default threads (all cores) and at one thread
  (a single-core device). Goal >= 1.5x.
- accuracy lost: FP32 minus INT8 accuracy, in points, on the validation split and on an
  unseen set drawn with another seed (270 photos). Goal <= 1 point.
- top-1 agreement of the two on the unseen set.
- boxes (a localising model): on 100 ``synth scene`` photos of 1-3 socks, the share of FP32's
  objects that INT8 finds too (same label, IoU >= 0.5), and of INT8's that FP32 finds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "int8"
CLASSES, PER_CLASS = 8, 30
TRAIN_FLAGS = ("--mode", "full")
RUNS = 300


def socksort(*args) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "socksort", *map(str, args)], capture_output=True, text=True,
                            env={**os.environ, "SOCKSORT_OFFLINE": "1"})
    if result.returncode != 0:
        raise RuntimeError(f"socksort {' '.join(map(str, args))} failed:\n{result.stderr[-2000:]}")
    return result


def photo_set(seed: int) -> Path:
    folder = CACHE / f"photos-{CLASSES}x{PER_CLASS}-s{seed}"
    socksort("synth", "dataset", "--out", folder, "--classes", CLASSES, "--per-class", PER_CLASS, "--seed", seed,
             "--reuse")
    return folder


def fp32_model(photos: Path) -> tuple[Path, bool]:
    """The trained FP32 folder, trained once per (photos, flags); (folder, was it cached)."""
    folder = CACHE / ("model-" + "-".join(f.strip("-") for f in TRAIN_FLAGS) + f"-{photos.name}")
    if (folder / "model.json").is_file():
        return folder, True
    with tempfile.TemporaryDirectory() as tmp:
        answer = json.loads(socksort("train", "--images", photos, "--models", Path(tmp) / "store", *TRAIN_FLAGS,
                                     "--json").stdout)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(answer["folder"], folder.with_suffix(".part"))
        folder.with_suffix(".part").rename(folder)
    return folder, False


def unseen_batch(photos: Path, classes: tuple[str, ...], pre) -> tuple[np.ndarray, np.ndarray]:
    from socksort import images
    from socksort.preprocess import prepare

    paths = sorted(p for p in photos.glob("*/*.jpg") if p.parent.name in classes)
    batch = np.concatenate([prepare(images.read(p), pre) for p in paths])
    return batch, np.asarray([classes.index(p.parent.name) for p in paths])


def scene_photos(photos: Path) -> Path:
    folder = CACHE / f"scenes-{photos.name}-s3"
    if not (folder / "truth.json").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        socksort("synth", "scene", "--classes-from", photos, "--out", folder, "--count", 100, "--seed", 3,
                 "--min-socks", 1, "--max-socks", 3)
    return folder


def box_agreement(folder: Path, scenes: Path) -> tuple[float, float, int, int]:
    """(share of FP32's objects INT8 finds, share of INT8's FP32 finds, FP32 objects, INT8 objects)."""
    from socksort import images, localise, modelcard
    from socksort.preprocess import prepare
    from socksort.training import quantize

    card = modelcard.load(folder)
    sessions = [quantize.session(folder / name) for name in ("model.onnx", quantize.INT8_FILE)]
    name = sessions[0].get_inputs()[0].name
    found: list[list] = [[], []]
    for path in sorted(scenes.glob("*.jpg")):
        frame = images.read(path)
        batch = prepare(frame, card.preprocess)
        for k, sess in enumerate(sessions):
            outputs = [np.asarray(o)[0] for o in sess.run(None, {name: batch})]
            found[k].append(localise.find_objects(outputs, card, frame.shape[1], frame.shape[0]))

    def matched(a, b) -> int:
        return sum(any(o.label == p.label and localise.iou(o.box, p.box) >= 0.5 for p in others)
                   for objects, others in zip(a, b) for o in objects)

    fp32, int8 = sum(map(len, found[0])), sum(map(len, found[1]))
    return matched(found[0], found[1]) / max(fp32, 1), matched(found[1], found[0]) / max(int8, 1), fp32, int8


def run() -> list[dict]:
    from socksort import modelcard
    from socksort.training import quantize

    CACHE.mkdir(parents=True, exist_ok=True)
    photos, unseen = photo_set(1), photo_set(2)
    cached_model, was_cached = fp32_model(photos)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model"
        shutil.copytree(cached_model, folder)
        started = time.monotonic()
        answer = json.loads(socksort("quantize", folder, "--calibration", photos, "--json").stdout)
        quantize_s = time.monotonic() - started
        card = modelcard.load(folder)
        batch, labels = unseen_batch(unseen, card.classes, card.preprocess)
        wide = quantize.compare(folder / "model.onnx", folder / quantize.INT8_FILE, batch, labels, runs=RUNS)
        one = quantize.compare(folder / "model.onnx", folder / quantize.INT8_FILE, batch[:64], None,
                               threads=1, runs=RUNS)
        boxes = box_agreement(folder, scene_photos(photos)) if card.localise is not None else None
    note = (f"synth {CLASSES} designs + Blank x {PER_CLASS}, train --images {' '.join(TRAIN_FLAGS)} "
            f"({'cached' if was_cached else 'trained now'}), {card.preprocess.input_size}px; "
            f"{answer['format']}, per-channel, {answer['calibration_photos']} calibration photos")
    rows = [
        {"metric": f"INT8 speed-up, {wide.threads} threads", "value": wide.speedup, "unit": "x",
         "note": f"goal >= 1.5x; FP32 {wide.fp32_ms:.2f} ms vs INT8 {wide.int8_ms:.2f} ms a photo (median of "
                 f"{max(RUNS, len(batch))}, interleaved), batch 1, all outputs"},
        {"metric": "INT8 speed-up, 1 thread", "value": one.speedup, "unit": "x",
         "note": f"FP32 {one.fp32_ms:.2f} ms vs INT8 {one.int8_ms:.2f} ms a photo"},
        {"metric": "INT8 accuracy lost, unseen photos", "value": wide.accuracy_lost_points, "unit": "points",
         "note": f"goal <= 1; FP32 {100 * wide.fp32_accuracy:.1f}% vs INT8 {100 * wide.int8_accuracy:.1f}% on "
                 f"{len(batch)} photos (synth seed 2)"},
        {"metric": "INT8 accuracy lost, validation photos", "value": answer["accuracy_lost_points"], "unit": "points",
         "note": f"FP32 {100 * answer['fp32_accuracy']:.1f}% vs INT8 {100 * answer['int8_accuracy']:.1f}% on "
                 f"{answer['validation_photos']} photos; {note}"},
        {"metric": "INT8 top-1 agreement with FP32, unseen photos", "value": round(100 * wide.top1_agreement, 2),
         "unit": "%", "note": f"{len(batch)} photos"},
        {"metric": "INT8 model size / FP32", "value": round(wide.int8_bytes / wide.fp32_bytes, 3), "unit": "x",
         "note": f"{wide.int8_bytes / 1e6:.1f} MB vs {wide.fp32_bytes / 1e6:.1f} MB"},
        {"metric": "socksort quantize", "value": round(quantize_s, 1), "unit": "s",
         "note": "calibration, quantization and the comparison on the validation photos"},
    ]
    if boxes is not None:
        rows += [
            {"metric": "FP32 objects INT8 also finds", "value": round(100 * boxes[0], 1), "unit": "%",
             "note": f"same label, IoU >= 0.5; {boxes[2]} FP32 objects on 100 synth scenes of 1-3 socks"},
            {"metric": "INT8 objects FP32 also finds", "value": round(100 * boxes[1], 1), "unit": "%",
             "note": f"{boxes[3]} INT8 objects"},
        ]
    return rows
