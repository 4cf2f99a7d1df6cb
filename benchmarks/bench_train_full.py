"""The full fine-tune's speed and CPU use: MXNet's old threading against every core.

Issue 13's set: ``synth dataset --classes 6 --per-class 30`` (6 designs + Blank), packed
80/20 with ``--resize 512 --center-crop``, trained by ``training.train.fit`` in a fresh
process per setting (MXNet fixes its threads when it loads):

- baseline: ``SOCKSORT_TRAIN_THREADS=mxnet``, MXNet's own default, one OpenMP thread
  on this 2-core x86 machine (it takes half the processors it sees);
- new: the default, ``SOCKSORT_TRAIN_THREADS=auto``, every usable core.

Both run 1 head warm-up epoch and 2 fine-tuning epochs (no early stopping) with the same
seed and split. Reported per setting: fine-tuning images/s, CPU use during the
fine-tuning epochs as a fraction of all cores (the process, its data-loader workers
included), and the best validation accuracy; then the ratio new / baseline. The photos
and records are cached under ``.cache/bench-train-full/`` keyed by the commands that made
them. The load average is in the notes: other work on the machine takes cores from both.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "bench-train-full"
SYNTH = ["--classes", "6", "--per-class", "30", "--seed", "1"]
PACK = ["--resize", "512", "--center-crop"]
SPLIT = ["--train-ratio", "0.8", "--recursive"]
EPOCHS = {"warmup_epochs": 1, "epochs": 2, "patience": 99}
SETTINGS = {"baseline": "mxnet", "new": "auto"}


def socksort(*args, cwd: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "socksort", *map(str, args)], cwd=cwd,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"socksort {' '.join(map(str, args))} failed:\n{result.stderr[-2000:]}")


def records() -> Path:
    """The folder holding socks_train.rec, socks_val.rec and socks_classes.txt (made once)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    photos = CACHE / "photos"
    socksort("synth", "dataset", "--out", photos, *SYNTH, "--reuse", cwd=CACHE)
    key = hashlib.sha256(json.dumps([(photos / "synth.json").read_text(), SPLIT, PACK]).encode()).hexdigest()[:12]
    folder = CACHE / f"records-{key}"
    if not (folder / "socks_val.rec").is_file():
        staging = CACHE / f".records-{key}-{os.getpid()}"
        staging.mkdir()
        socksort("im2rec", "--list", *SPLIT, staging / "socks", photos, cwd=staging)
        socksort("im2rec", *PACK, "--num-thread", 2, staging / "socks", photos, cwd=staging)
        staging.rename(folder)
    return folder


# --- the child: one training run in a process of its own ---------------------------------

def cpu_seconds() -> float:
    """CPU time of this process, its finished children and its live ones (the data loader's
    workers live for an epoch)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    tick = os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
    for pid in children.read_text().split() if children.exists() else []:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, IndexError):
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def child(folder: Path) -> dict:
    from socksort.training import data, train

    classes = data.read_classes(folder / "socks_classes.txt")
    marks = []

    def events(event: dict) -> None:
        if event["type"] == "epoch":
            marks.append((time.monotonic(), cpu_seconds(), event))

    cfg = train.TrainConfig(**EPOCHS)
    result = train.fit(folder / "socks_train.rec", folder / "socks_val.rec", classes, cfg, events)
    start = next(m for m in reversed(marks) if m[2]["phase"] == "warmup")
    tuned = [m for m in marks if m[2]["phase"] == "finetune"]
    wall, cpu = tuned[-1][0] - start[0], tuned[-1][1] - start[1]
    images = sum(round(m[2]["images_per_s"] * m[2]["seconds"]) for m in tuned)
    return {"images_per_s": images / wall, "cpu_fraction": cpu / wall / (os.cpu_count() or 1),
            "wall_s": wall, "cpu_s": cpu, "images": images, "val_acc": result.best.val_acc,
            "val_loss": result.best.val_loss, "omp": os.environ.get("OMP_NUM_THREADS", "MXNet's default")}


def measure(folder: Path, setting: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "MXNET_CPU_"))}
    env.update({"SOCKSORT_TRAIN_THREADS": setting, "SOCKSORT_OFFLINE": "1"})
    load = os.getloadavg()[0]
    result = subprocess.run([sys.executable, __file__, "--child", str(folder)], env=env, cwd=ROOT,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"training with SOCKSORT_TRAIN_THREADS={setting} failed:\n{result.stderr[-2000:]}")
    return {**json.loads(result.stdout.strip().splitlines()[-1]), "load": (load + os.getloadavg()[0]) / 2}


def run() -> list[dict]:
    folder = records()
    runs = {name: measure(folder, setting) for name, setting in SETTINGS.items()}
    cores = os.cpu_count() or 1
    rows = []
    for name, r in runs.items():
        how = f"SOCKSORT_TRAIN_THREADS={SETTINGS[name]} (OMP_NUM_THREADS {r['omp']})"
        rows += [
            {"metric": f"{name}: fine-tune images/s", "value": round(r["images_per_s"], 2), "unit": "img/s",
             "note": f"{how}; {r['images']} images in {r['wall_s']:.0f} s, validation included; "
                     f"load average {r['load']:.1f}"},
            {"metric": f"{name}: fine-tune CPU use", "value": round(100 * r["cpu_fraction"], 1),
             "unit": f"% of {cores} cores", "note": f"{r['cpu_s']:.0f} CPU-s, data-loader workers included"},
            {"metric": f"{name}: best validation accuracy", "value": round(100 * r["val_acc"], 1), "unit": "%",
             "note": f"validation loss {r['val_loss']:.4f}; 6 designs + Blank x 30, 80/20"},
        ]
    base, new = runs["baseline"], runs["new"]
    rows += [
        {"metric": "fine-tune images/s ratio new / baseline",
         "value": round(new["images_per_s"] / max(base["images_per_s"], 1e-9), 2), "unit": "x",
         "note": "same data, seed and epochs; a busy machine shrinks it"},
        {"metric": "fine-tune CPU use ratio new / baseline",
         "value": round(new["cpu_fraction"] / max(base["cpu_fraction"], 1e-9), 2), "unit": "x",
         "note": f"{100 * base['cpu_fraction']:.0f} % -> {100 * new['cpu_fraction']:.0f} % of {cores} cores"},
    ]
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(child(Path(sys.argv[2]))))
    else:
        for row in run():
            print(row)
