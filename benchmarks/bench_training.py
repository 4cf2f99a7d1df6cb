"""Transfer learning against training from scratch, on the issue's synthetic sock set.

Two runs of ``socksort train`` with default settings on ``synth dataset --classes 8
--per-class 30`` packed 80/20 (``--resize 512 --center-crop``): one from the ImageNet
backbone, one from random weights (``--from-scratch``), same data and epochs. For each:
the seconds until validation accuracy first reached 97 % (goal: <= 120 s with ImageNet
weights), the best validation accuracy, and ``socksort evaluate`` on a second synthetic
set with another ``--seed`` (goal: >= 95 %). Everything runs as a user would run it
(separate processes, the real CLI), under ``tempfile``; set SOCKSORT_BENCH_KEEP=DIR to
keep the data and models.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 0.97
CLASSES, PER_CLASS = 8, 30


def socksort(*args, cwd: Path) -> subprocess.CompletedProcess:
    """Run one command; note its wall time and the CPU time it and its workers used.

    The CPU time matters on a shared machine: wall time there measures the neighbours too.
    """
    started, before = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run([sys.executable, "-m", "socksort", *map(str, args)], cwd=cwd,
                            capture_output=True, text=True, env={**os.environ, "SOCKSORT_OFFLINE": "1"})
    if result.returncode != 0:
        raise RuntimeError(f"socksort {' '.join(map(str, args))} failed:\n{result.stderr[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result.seconds = time.monotonic() - started
    result.cpu_seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


def make_data(root: Path) -> None:
    socksort("synth", "dataset", "--out", root / "photos", "--classes", CLASSES, "--per-class", PER_CLASS,
             "--seed", 1, cwd=root)
    socksort("synth", "dataset", "--out", root / "unseen", "--classes", CLASSES, "--per-class", PER_CLASS,
             "--seed", 2, cwd=root)
    socksort("im2rec", "--list", "--train-ratio", "0.8", "--recursive", root / "socks", root / "photos", cwd=root)
    socksort("im2rec", "--resize", 512, "--center-crop", "--num-thread", 2, root / "socks", root / "photos", cwd=root)


def train_and_evaluate(root: Path, name: str, *extra: str) -> dict:
    model = root / name
    run = socksort("train", "--train", root / "socks_train.rec", "--val", root / "socks_val.rec",
                   "--out", model, *extra, cwd=root)
    history = json.loads((model / "training-history.json").read_text())["epochs"]
    reached = next((e for e in history if e["val_acc"] >= TARGET), None)
    scores = json.loads(socksort("evaluate", "--model", model, root / "unseen", "--json", cwd=root).stdout)
    return {"wall_s": run.seconds, "cpu_s": run.cpu_seconds, "to_target_s": reached["elapsed"] if reached else None,
            "epoch_reached": reached["epoch"] if reached else None, "epochs": len(history),
            "val_acc": max(e["val_acc"] for e in history), "unseen_acc": scores["accuracy"],
            "train_s": history[-1]["elapsed"]}


def run() -> list[dict]:
    keep = os.environ.get("SOCKSORT_BENCH_KEEP")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(keep or tmp)
        root.mkdir(parents=True, exist_ok=True)
        make_data(root)
        transfer = train_and_evaluate(root, "model-imagenet")
        scratch = train_and_evaluate(root, "model-scratch", "--from-scratch")
    note = f"synth {CLASSES} classes x {PER_CLASS} (+Blank), 80/20, default settings"
    rows = [
        {"metric": "imagenet: seconds to 97% validation accuracy",
         "value": round(transfer["to_target_s"], 1) if transfer["to_target_s"] else None, "unit": "s",
         "note": f"goal <= 120 s; epoch {transfer['epoch_reached']}; from the start of training, data loading included"},
        {"metric": "imagenet: best validation accuracy", "value": round(100 * transfer["val_acc"], 1), "unit": "%",
         "note": note},
        {"metric": "imagenet: accuracy on unseen photos (--seed 2)", "value": round(100 * transfer["unseen_acc"], 1),
         "unit": "%", "note": "goal >= 95 %; socksort evaluate"},
        {"metric": "imagenet: training run", "value": round(transfer["train_s"], 1), "unit": "s",
         "note": f"{transfer['epochs']} epochs incl. early stopping; {transfer['wall_s']:.0f} s with export, "
                 f"{transfer['cpu_s']:.0f} CPU-s"},
        {"metric": "scratch: seconds to 97% validation accuracy",
         "value": round(scratch["to_target_s"], 1) if scratch["to_target_s"] else None, "unit": "s",
         "note": f"epoch {scratch['epoch_reached']}" if scratch["to_target_s"] else "never reached in the same run"},
        {"metric": "scratch: best validation accuracy", "value": round(100 * scratch["val_acc"], 1), "unit": "%",
         "note": f"same data and epochs, random initial weights ({scratch['epochs']} epochs, "
                 f"{scratch['train_s']:.0f} s, {scratch['cpu_s']:.0f} CPU-s)"},
        {"metric": "scratch: accuracy on unseen photos (--seed 2)", "value": round(100 * scratch["unseen_acc"], 1),
         "unit": "%", "note": "socksort evaluate"},
        {"metric": "transfer learning: unseen accuracy ratio imagenet / scratch",
         "value": round(transfer["unseen_acc"] / max(scratch["unseen_acc"], 1e-9), 2), "unit": "x",
         "note": "the effect of the pretrained backbone"},
    ]
    return rows
