"""Teaching from a photo folder: quick training (cold and warm) against the full fine-tune.

The issue's set: ``synth dataset --classes 8 --per-class 30`` (8 designs + Blank, 270
photos), trained with ``socksort train --images DIR --models STORE`` as a user runs it:

- quick, cold: an empty store, so every photo is embedded (goal <= 30 s);
- quick, warm: the embeddings cached, the model not (goal <= 10 s);
- quick, one photo added: the usual case while teaching (a new dataset version);
- full: the fine-tune on the same split (the baseline of the ratios). It takes minutes,
  so its model and figures are kept under ``.cache/teach/`` keyed by the dataset version
  and code version (the store's own run cache), and rerun only when those change.

Validation accuracy is on the same split for both (the split is by content hash), with
the goal that quick is within 2 points of full; both models are also scored with
``socksort evaluate`` on a second set drawn with another seed. CPU use is the
process's and its workers' CPU time over wall time, as a share of all cores.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "teach"
CLASSES, PER_CLASS = 8, 30


def socksort(*args) -> subprocess.CompletedProcess:
    started, before = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run([sys.executable, "-m", "socksort", *map(str, args)], capture_output=True, text=True,
                            env={**os.environ, "SOCKSORT_OFFLINE": "1"})
    if result.returncode != 0:
        raise RuntimeError(f"socksort {' '.join(map(str, args))} failed:\n{result.stderr[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result.seconds = time.monotonic() - started
    result.cpu_seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


def photo_sets() -> tuple[Path, Path]:
    photos, unseen = CACHE / f"photos-{CLASSES}x{PER_CLASS}-s1", CACHE / f"photos-{CLASSES}x{PER_CLASS}-s2"
    for folder, seed in ((photos, 1), (unseen, 2)):
        if not (folder / "synth.json").is_file():
            shutil.rmtree(folder, ignore_errors=True)
            socksort("synth", "dataset", "--out", folder, "--classes", CLASSES, "--per-class", PER_CLASS,
                     "--seed", seed)
    return photos, unseen


def quick(photos: Path, store: Path) -> dict:
    run = socksort("train", "--images", photos, "--models", store, "--quick", "--json")
    return {**json.loads(run.stdout), "seconds": run.seconds, "cpu": run.cpu_seconds / run.seconds / os.cpu_count()}


def full(photos: Path) -> dict:
    """The fine-tune's answer and figures; kept beside its model in the cached store."""
    store = CACHE / "models"
    run = socksort("train", "--images", photos, "--models", store, "--mode", "full", "--json")
    answer = json.loads(run.stdout)
    figures = CACHE / f"full-{answer['model']}.json"
    if not answer["reused"] or not figures.is_file():
        history = json.loads((store / answer["model"] / "training-history.json").read_text())["epochs"]
        tuned = [e for e in history if e["phase"] == "finetune"] or history
        figures.write_text(json.dumps({
            "seconds": run.seconds, "cpu": run.cpu_seconds / run.seconds / os.cpu_count(),
            "images_per_s": sum(e["images_per_s"] for e in tuned) / len(tuned)}))
    return {**answer, **json.loads(figures.read_text()), "folder": store / answer["model"]}


def unseen_accuracy(model: Path, unseen: Path) -> float:
    return json.loads(socksort("evaluate", "--model", model, unseen, "--json").stdout)["accuracy"]


def run() -> list[dict]:
    CACHE.mkdir(parents=True, exist_ok=True)
    photos, unseen = photo_sets()
    baseline = full(photos)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "photos"
        shutil.copytree(photos, work, ignore=shutil.ignore_patterns("synth.json"))
        store = Path(tmp) / "models"
        cold = quick(work, store)
        shutil.rmtree(store / cold["model"])
        warm = quick(work, store)
        extra = next(iter(sorted((unseen / "Blank").glob("*.jpg"))))
        shutil.copy(extra, work / "Blank" / "added-photo.jpg")
        added = quick(work, store)
        quick_unseen = unseen_accuracy(store / warm["model"], unseen)
    full_unseen = unseen_accuracy(baseline["folder"], unseen)
    note = f"synth {CLASSES} designs + Blank x {PER_CLASS}, the same content-hash split for both"
    gap = 100 * (warm["val_accuracy"] - baseline["val_accuracy"])
    return [
        {"metric": "quick training, cold (no embeddings cached)", "value": round(cold["seconds"], 1), "unit": "s",
         "note": f"goal <= 30 s; CPU use {100 * cold['cpu']:.0f}% of {os.cpu_count()} cores"},
        {"metric": "quick training, warm (embeddings cached)", "value": round(warm["seconds"], 1), "unit": "s",
         "note": "goal <= 10 s"},
        {"metric": "quick training, one photo added", "value": round(added["seconds"], 1), "unit": "s",
         "note": "one new embedding, a new dataset version"},
        {"metric": "full fine-tune from the same photos", "value": round(baseline["seconds"], 1), "unit": "s",
         "note": f"baseline; {'cached result' if baseline['reused'] else 'run now'}"},
        {"metric": "quick cold / full fine-tune time", "value": round(cold["seconds"] / baseline["seconds"], 3),
         "unit": "x", "note": "lower is better"},
        {"metric": "full fine-tune images/s", "value": round(baseline["images_per_s"], 1), "unit": "img/s",
         "note": f"mean of the fine-tuning epochs; CPU use {100 * baseline['cpu']:.0f}% of {os.cpu_count()} cores"},
        {"metric": "quick validation accuracy", "value": round(100 * warm["val_accuracy"], 1), "unit": "%",
         "note": note},
        {"metric": "full validation accuracy", "value": round(100 * baseline["val_accuracy"], 1), "unit": "%",
         "note": note},
        {"metric": "quick minus full validation accuracy", "value": round(gap, 1), "unit": "points",
         "note": "goal >= -2"},
        {"metric": "quick accuracy on an unseen set", "value": round(100 * quick_unseen, 1), "unit": "%",
         "note": "synth seed 2"},
        {"metric": "full accuracy on an unseen set", "value": round(100 * full_unseen, 1), "unit": "%",
         "note": "synth seed 2"},
    ]
