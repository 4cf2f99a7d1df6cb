"""Boxes: the model's box decoder against the seed's sliding window, on held-out scenes.

A model is taught as a user teaches one (``synth dataset`` photos, one sock filling each,
``socksort train --images --mode quick --box-head``: the box head as full training teaches it
by default, on the quick classifier to keep the run short); scenes of 1-3 socks of the same designs are drawn
with another seed by ``socksort synth scene`` (640x480, overlaps up to 30 %). Both methods are
scored by ``socksort evaluate --boxes`` on the same scenes: per-object precision and recall
at IoU >= 0.5 and label accuracy of the matched objects (goals 90 %, 90 %, 95 %), and the time
per image of each; the speed goal is the decoder's ratio to the sliding window measured in
the same run. The sliding window classifies about 150 crops per image, so it runs on fewer
scenes than the decoder (the first ``WINDOW_SCENES`` of the same set).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CLASSES, PER_CLASS = 4, 20
SCENES, WINDOW_SCENES = 60, 12


def socksort(*args) -> str:
    result = subprocess.run([sys.executable, "-m", "socksort", *map(str, args)], capture_output=True, text=True,
                            env={**os.environ, "SOCKSORT_OFFLINE": "1"})
    if result.returncode != 0:
        raise RuntimeError(f"socksort {' '.join(map(str, args))} failed:\n{result.stderr[-2000:]}")
    return result.stdout


def _subset(truth: Path, count: int, out: Path) -> Path:
    data = json.loads(truth.read_text())
    data["scenes"] = [{**s, "path": str(truth.parent / s["path"])} for s in data["scenes"][:count]]
    out.write_text(json.dumps(data))
    return out


def run() -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="bench-boxes-") as tmp:
        tmp = Path(tmp)
        socksort("synth", "dataset", "--out", tmp / "photos", "--classes", CLASSES, "--per-class", PER_CLASS,
                 "--size", "640x480", "--seed", 0)
        model = json.loads(socksort("train", "--images", tmp / "photos", "--models", tmp / "store", "--mode",
                                    "quick", "--box-head", "--json"))["folder"]
        socksort("synth", "scene", "--classes-from", tmp / "photos", "--out", tmp / "scenes", "--count", SCENES,
                 "--min-socks", 1, "--max-socks", 3, "--size", "640x480", "--seed", 4242)
        truth = tmp / "scenes" / "truth.json"
        decoder = json.loads(socksort("evaluate", "--model", model, "--boxes", "--truth", truth, "--json"))
        few = _subset(truth, WINDOW_SCENES, tmp / "few.json")
        decoder_few = json.loads(socksort("evaluate", "--model", model, "--boxes", "--truth", few, "--json"))
        window = json.loads(socksort("evaluate", "--model", model, "--boxes", "--truth", few, "--json",
                                     "--method", "window"))
    rows = []
    for name, figures, note in (("decoder", decoder, f"{SCENES} scenes, {decoder['truth']} socks"),
                                ("decoder_small_set", decoder_few, f"the window's {WINDOW_SCENES} scenes"),
                                ("window", window, f"{WINDOW_SCENES} scenes, {window['truth']} socks")):
        rows += [
            {"metric": f"boxes_{name}_precision", "value": round(100 * figures["precision"], 1), "unit": "%",
             "note": f"{note}; IoU >= 0.5; goal >= 90"},
            {"metric": f"boxes_{name}_recall", "value": round(100 * figures["recall"], 1), "unit": "%",
             "note": f"{note}; goal >= 90"},
            {"metric": f"boxes_{name}_label_accuracy", "value": round(100 * figures["label_accuracy"], 1),
             "unit": "%", "note": "of matched objects; goal >= 95"},
            {"metric": f"boxes_{name}_ms_per_image", "value": round(1000 * figures["seconds_per_image"], 1),
             "unit": "ms", "note": "MXNet on this machine, inference and decoding"},
        ]
    rows.append({"metric": "boxes_decoder_speedup_over_window",
                 "value": round(window["seconds_per_image"] / max(decoder_few["seconds_per_image"], 1e-9), 1),
                 "unit": "x", "note": "same scenes, same run"})
    return rows
