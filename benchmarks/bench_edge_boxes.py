"""Edge speed with boxes: the edge end to end on a localising sock model (every frame's
objects decoded, each box drawn on the viewed stream, the objects published) against
today's whole-frame classification with the same weights, in the same run.

The model is what a user gets: ``socksort train --images --box-head`` (quick: a head on
EfficientNet-Lite0's cached embeddings, 224x224, plus the box head, which full training teaches
by default) on a synthetic photo folder (4 designs + Blank). Today's model is the same folder cut back to output 0
(``model.onnx``'s graph outputs reduced to the class probabilities, so ONNX Runtime drops the
per-cell nodes, and ``model.json`` without ``localise``): the same weights classifying the
whole frame, nothing decoded or drawn beyond the banner.

Both run through ``bench_edge``'s measurement (``run_edge``): ``EdgeLoop`` on a 640x480 show
with two socks held up together (``socksort synth show --max-socks 2``), read unthrottled,
every frame decoded, preprocessed, classified and published QoS 1 to the project's real
Mosquitto, with one /stream.mjpg viewer (frames drawn and JPEG-encoded at <= 15 fps); FPS
over the classified frames until the last PUBACK. The two models alternate (A B A B) so a
burst of the other engineers' load hits both. Separately, the decoding alone
(``socksort.localise.find_objects``) is timed on the show's own frames.

Goals (reported, not asserted): >= 30 FPS with boxes on this machine's cores with ONNX
Runtime, and boxes / whole-frame >= 0.5.

    benchmarks/run.py edge_boxes
    python benchmarks/bench_edge_boxes.py --child MODEL BASELINE VIDEO MQTT_URL   # JSON out

The photo folder, the trained model and the show are cached under ``.cache/bench-edge-boxes``
(a model without ``localise``, from a socksort that did not write it, is trained again).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "bench-edge-boxes"
CORES = os.cpu_count() or 1
FRAMES = 300          # per end-to-end run
ROUNDS = 2            # A B A B
DECODE_FRAMES = 60    # show frames whose outputs are decoded alone
CLASSES, PER_CLASS = 4, 20


def run() -> list[dict]:
    from socksort.net import free_port
    from socksort.stack.mosquitto import Mosquitto

    model, video = prepare(CACHE)
    with tempfile.TemporaryDirectory(prefix="bench-edge-boxes-") as tmp:
        tmp = Path(tmp)
        baseline = whole_frame_copy(model, tmp / "whole-frame")
        broker = Mosquitto(tmp / "mosquitto", port=free_port()).start()
        try:
            m = child(model, baseline, video, broker.url)
        finally:
            broker.stop()
    boxes, whole = m["boxes"], m["whole"]
    what = (f"{FRAMES} frames of a 640x480 show with two socks held up together, read unthrottled, published "
            "QoS 1 to Mosquitto and PUBACKed, one /stream.mjpg viewer (drawn at <= 15 fps); "
            f"mean of {ROUNDS} runs alternating with the other model")
    rows = [
        row("onnx e2e FPS with boxes, viewed", boxes["e2e_fps"], "frames/s",
            f"objects decoded every frame, boxes drawn, objects published; {what}; goal >= 30"),
        row("onnx e2e FPS whole-frame, viewed", whole["e2e_fps"], "frames/s",
            f"the same weights cut back to output 0 (today's classification); {what}"),
        row("boxes / whole-frame e2e", boxes["e2e_fps"] / whole["e2e_fps"], "ratio", "same run; goal >= 0.5"),
        row("onnx e2e CPU per frame with boxes", boxes["cpu_ms"], "ms/frame", "this process, all threads"),
        row("onnx e2e CPU per frame whole-frame", whole["cpu_ms"], "ms/frame", "this process, all threads"),
        row("decode per frame", m["decode_ms"], "ms",
            f"socksort.localise.find_objects alone on the outputs of {DECODE_FRAMES} show frames (median)"),
        row("decode per frame, p99", m["decode_p99_ms"], "ms", "the same frames' 99th percentile"),
        row("objects per frame", m["objects_per_frame"], "objects",
            f"mean over the same {DECODE_FRAMES} frames (the show holds one or two socks up, or none)"),
        row("message bytes with boxes", m["message_bytes"]["boxes"], "bytes", "mean JSON payload, the same frames"),
        row("message bytes whole-frame", m["message_bytes"]["whole"], "bytes", "mean JSON payload, the same frames"),
    ]
    for name, e in (("with boxes", boxes), ("whole-frame", whole)):
        for stage in ("inference", "annotate", "encode", "publish"):
            rows.append(row(f"stage {stage}, {name}", e["stages_ms"][stage], "ms/frame",
                            {"inference": "model run (and decoding, with boxes), inference thread",
                             "annotate": "per drawn frame: banner (and boxes), encoder thread",
                             "encode": "JPEG per drawn frame, encoder thread",
                             "publish": "serialise + hand to the MQTT buffer, inference thread"}[stage]))
        rows.append(row(f"frames dropped, {name}", e["dropped"], "frames", "lossless replay: should be 0"))
    rows.append(row("load average during the run", m["load"], "processes",
                    f"1-minute load on {CORES} cores, from the other engineers' work"))
    return rows


def row(metric: str, value, unit: str, note: str = "") -> dict:
    return {"metric": metric, "value": round(float(value), 3), "unit": unit, "note": note}


def socksort(*args) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "socksort", *map(str, args)], capture_output=True, text=True,
                          timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"socksort {' '.join(map(str, args))} failed:\n{done.stderr[-3000:]}")
    return done


def prepare(cache: Path) -> tuple[Path, Path]:
    """(the localising model folder, the 640x480 two-socks show), made once into ``cache``."""
    from socksort import modelcard
    from socksort.modelstore import ModelStore

    photos, store = cache / "photos", cache / "store"
    socksort("synth", "dataset", "--out", photos, "--classes", CLASSES, "--per-class", PER_CLASS,
             "--size", "320x240", "--seed", 0, "--reuse")
    models = ModelStore(store).models() if store.is_dir() else []
    def has_head(folder: Path) -> bool:
        spec = modelcard.load(folder).localise
        return spec is not None and spec.boxes_output > 0

    # A model cached before quick training stopped teaching the box head by default has none.
    if not models or not has_head(models[-1].folder):
        shutil.rmtree(store, ignore_errors=True)
        socksort("train", "--images", photos, "--models", store, "--quick", "--box-head", "--json")
        models = ModelStore(store).models()
    model = models[-1].folder
    if not has_head(model):
        raise RuntimeError(f"socksort train wrote {model} without a box head")
    video = cache / "show-2socks.mp4"
    if not video.is_file():
        socksort("synth", "show", "--out", video, "--truth", cache / "show-2socks.json", "--classes-from", photos,
                 "--max-socks", 2, "--seconds", 20, "--fps", 30, "--size", "640x480", "--seed", 3)
    return model, video


def whole_frame_copy(model: Path, out: Path) -> Path:
    """The same model as today's whole-frame classifier: output 0 only, no ``localise``."""
    import onnx

    from socksort import modelcard

    shutil.copytree(model, out)
    graph = onnx.load(str(model / "model.onnx"))
    first = graph.graph.output[0]
    del graph.graph.output[:]
    graph.graph.output.append(first)
    onnx.save(graph, str(out / "model.onnx"))
    replace(modelcard.load(model), localise=None).save(out)
    return out


def child(model: Path, baseline: Path, video: Path, mqtt_url: str) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(CORES)}
    result = subprocess.run([sys.executable, __file__, "--child", str(model), str(baseline), str(video), mqtt_url],
                            capture_output=True, text=True, env=env, timeout=1800)
    if result.returncode != 0:
        raise RuntimeError(f"edge boxes benchmark failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def bench_edge():
    """``bench_edge``'s measurement, loaded from beside this file (run.py keeps this folder
    off sys.path)."""
    spec = importlib.util.spec_from_file_location("bench_edge_measure", Path(__file__).with_name("bench_edge.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure(model: Path, baseline: Path, video: Path, mqtt_url: str) -> dict:
    measuring = bench_edge()
    runs: dict[str, list[dict]] = {"boxes": [], "whole": []}
    for _ in range(ROUNDS):
        for name, folder in (("whole", baseline), ("boxes", model)):
            runs[name].append(measuring.run_edge(folder, video, "onnx", mqtt_url, unthrottled=True,
                                                 frames=FRAMES, viewer=True))
    mean = lambda values: sum(values) / len(values)  # noqa: E731
    out = {"load": os.getloadavg()[0]}
    for name, done in runs.items():
        out[name] = {"e2e_fps": mean([r["e2e_fps"] for r in done]), "cpu_ms": mean([r["cpu_ms"] for r in done]),
                     "dropped": sum(r["dropped"] for r in done),
                     "stages_ms": {s: mean([r["stages_ms"][s] for r in done]) for s in done[0]["stages_ms"]}}
    out.update(decode_alone(model, video))
    return out


def decode_alone(model: Path, video: Path) -> dict:
    """find_objects alone on the outputs of frames spread over the show, and the message's
    size with and without the objects (output 0, so the rest of the message, is the same)."""
    import cv2
    import numpy as np

    from socksort import localise, modelcard
    from socksort.edge_lambda import runtimes
    from socksort.edge_lambda.classify import Classifier
    from socksort.schema import Prediction

    card = modelcard.load(model)
    clf = Classifier(card, runtimes.load(model, card, "onnx"))
    capture = cv2.VideoCapture(str(video))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or DECODE_FRAMES
    step = max(1, total // DECODE_FRAMES)
    times, counts, sizes = [], [], {"boxes": [], "whole": []}
    for index in range(0, step * DECODE_FRAMES, step):
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, image = capture.read()
        if not ok:
            break
        outputs = [out[0] for out in clf.runtime.run_outputs(clf.prepare(image))]
        height, width = image.shape[:2]
        began = time.perf_counter()
        found = localise.find_objects(outputs, card, width, height)
        times.append(time.perf_counter() - began)
        counts.append(len(found))
        result = clf.classify(image)
        for name, objects in (("boxes", result.objects), ("whole", None)):
            sizes[name].append(len(Prediction(result.label, result.probability, 1733400000000, "bench", index,
                                              result.top, model=card.id, objects=objects).to_json()))
    capture.release()
    times_ms = np.sort(np.array(times) * 1000)
    return {"decode_ms": float(np.median(times_ms)), "decode_p99_ms": float(times_ms[int(0.99 * (len(times_ms) - 1))]),
            "objects_per_frame": float(np.mean(counts)),
            "message_bytes": {name: float(np.mean(values)) for name, values in sizes.items()}}


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        _, _, model, baseline, video, url = sys.argv
        print(json.dumps(measure(Path(model), Path(baseline), Path(video), url)))
    else:
        print(json.dumps(run(), indent=2))
