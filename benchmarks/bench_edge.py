"""Edge function speed: per-stage timings, end-to-end FPS and model-only FPS for both runtimes
on the default backbone (EfficientNet-Lite0, 224x224), in one run.

Each runtime is measured in a child process (so MXNet's thread pool is sized before MXNet
loads, and one runtime's memory does not disturb the other):

* model-only FPS: the loaded runtime on one prepared batch, back to back, with the process
  CPU time per frame (which the other engineers' load disturbs less than FPS); for MXNet
  also the plain Gluon path on the same artifact, interleaved, as the optimised path's
  baseline;
* end to end, twice: ``EdgeLoop`` on a 640x480 video read unthrottled (every frame decoded,
  preprocessed, classified and published QoS 1 to the project's real Mosquitto, lossless),
  once with no stream viewer ("alone": the loop draws and encodes nothing, as in the field
  when nobody looks) and once with a browser-like client reading /stream.mjpg as fast as it
  is served ("viewed": frames drawn and JPEG-encoded at up to 15 fps); FPS over the
  classified frames until the last PUBACK, process CPU per frame, per-stage mean
  milliseconds, p99 frame-to-PUBACK latency;
* live pace: the same video played at its own 30 fps, as a camera delivers frames; the
  frame-to-PUBACK latency of what a live camera would publish, and the frames dropped.

Goals (reported, not asserted): e2e >= 30 FPS with either runtime, >= 60 FPS with ONNX
Runtime, e2e >= 0.8 x model-only. The seed's DeepLens managed 3-4 FPS (the issue's figure,
not measured here). Other engineers share this machine's two cores while it runs.

    benchmarks/run.py edge                       # via make bench
    python benchmarks/bench_edge.py --child onnx MODEL VIDEO MQTT_URL   # one runtime, JSON out
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKBONE = "efficientnet_lite0"
SEED_FPS = 3.5
CORES = os.cpu_count() or 1
FRAMES = {"onnx": 400, "mxnet": 200}
MODEL_ONLY_RUNS = {"onnx": 150, "mxnet": 60}
LIVE_FRAMES = 90   # at the video's own 30 fps: three seconds of a live camera


def run() -> list[dict]:
    from socksort.stack.mosquitto import Mosquitto
    from socksort.net import free_port

    with tempfile.TemporaryDirectory(prefix="bench-edge-") as tmp:
        tmp = Path(tmp)
        model = export_backbone(tmp / "model")
        video = write_video(tmp / "show.avi", frames=240)
        broker = Mosquitto(tmp / "mosquitto", port=free_port()).start()
        try:
            measured = {kind: child(kind, model, video, broker.url) for kind in ("onnx", "mxnet")}
        finally:
            broker.stop()
    rows = []
    for kind, m in measured.items():
        rows.append(row(f"{kind} model-only FPS", m["model_fps"], "frames/s",
                        f"{BACKBONE} 224x224, one prepared batch back to back; mean of samples taken "
                        "before, between and after the e2e runs"))
        for name, how in (("alone", "no stream viewer (nothing drawn or encoded)"),
                          ("viewed", "one /stream.mjpg viewer reading as fast as served "
                                     "(frames drawn and JPEG-encoded at <= 15 fps)")):
            e = m[name]
            what = (f"{e['frames']} frames of 640x480 video read unthrottled (every frame decoded, preprocessed, "
                    f"classified, published QoS 1 to Mosquitto and PUBACKed), {how}")
            rows += [
                row(f"{kind} e2e FPS, {name}", e["e2e_fps"], "frames/s", what),
                row(f"{kind} e2e / model-only, {name}", e["e2e_fps"] / e["model_fps"], "ratio",
                    "goal >= 0.8; model-only from the samples just before and after this run"),
                row(f"{kind} e2e CPU per frame, {name}", e["cpu_ms"], "ms/frame",
                    f"this process, all threads (broker not included); model alone {e['model_cpu_ms']:.1f}"),
                row(f"{kind} loop CPU beyond the model, {name}", e["cpu_ms"] - e["model_cpu_ms"], "ms/frame",
                    "decode, preprocess, publish, hand-overs" + (", drawing" if name == "viewed" else "")
                    + ": what the cores must fit besides the model"),
                row(f"{kind} e2e / CPU-bound ceiling, {name}", e["e2e_fps"] * e["cpu_ms"] / (1000 * CORES), "ratio",
                    f"ceiling: all {CORES} cores busy at this CPU per frame; other processes' load lowers it"),
                row(f"{kind} p99 frame-to-publish, {name}", e["p99_ms"], "ms",
                    "capture to broker PUBACK, unthrottled (includes waiting in the lossless hand-overs)"),
                row(f"{kind} p50 frame-to-publish, {name}", e["p50_ms"], "ms", "capture to broker PUBACK, unthrottled"),
            ]
            if name == "viewed":
                rows += [
                    row(f"{kind} stream frames received, viewed", e["viewer_fps"], "frames/s",
                        f"by the viewer; {e['encoded']} frames drawn and encoded in all"),
                ]
            for stage, ms in e["stages_ms"].items():
                if name == "alone" and stage in ("annotate", "encode"):
                    continue
                rows.append(row(f"{kind} stage {stage}, {name}", ms, "ms/frame", stage_note(stage)))
            rows.append(row(f"{kind} frames dropped, {name}", e["dropped"], "frames", "lossless replay: should be 0"))
        rows += [
            row(f"{kind} e2e / seed DeepLens", m["alone"]["e2e_fps"] / SEED_FPS, "ratio",
                f"no viewer; seed: {SEED_FPS} FPS (issue's figure); goal >= 8"),
            row(f"{kind} live-pace FPS", m["live_fps"], "frames/s",
                "the 30 fps video played at its own rate, no viewer"),
            row(f"{kind} live-pace p99 frame-to-publish", m["live_p99_ms"], "ms",
                "capture to broker PUBACK, newest frame only"),
            row(f"{kind} live-pace p50 frame-to-publish", m["live_p50_ms"], "ms", "capture to broker PUBACK"),
            row(f"{kind} live-pace frames dropped", m["live_dropped"], "frames",
                f"of {LIVE_FRAMES} classified: the camera outran the model"),
            row(f"{kind} model-only CPU", m["model_cpu_ms"], "ms/frame",
                "process CPU time per inference, all threads; less disturbed by other load than FPS"),
        ]
        if "plain_fps" in m:
            rows += [
                row(f"{kind} plain (unoptimised) model-only FPS", m["plain_fps"], "frames/s",
                    "Gluon SymbolBlock on the artifact as saved, interleaved with the optimised runs"),
                row(f"{kind} optimised / plain model-only FPS", m["model_fps"] / m["plain_fps"], "ratio",
                    "Pads and BatchNorm folded into the convolutions, oneDNN conv+bias+clip fusion, one bound executor"),
                row(f"{kind} plain / optimised CPU per frame", m["plain_cpu_ms"] / m["model_cpu_ms"], "ratio",
                    f"plain {m['plain_cpu_ms']:.1f} ms CPU a frame"),
            ]
    rows.append(row("load average during the run", max(m["load"] for m in measured.values()), "processes",
                    f"1-minute load on {os.cpu_count()} cores, from the other engineers' work"))
    rows.append(row("onnx / mxnet end-to-end", measured["onnx"]["alone"]["e2e_fps"] / measured["mxnet"]["alone"]["e2e_fps"],
                    "ratio", "same model, same loop, no viewer"))
    return rows


def row(metric: str, value, unit: str, note: str = "") -> dict:
    return {"metric": metric, "value": round(float(value), 3), "unit": unit, "note": note}


def stage_note(stage: str) -> str:
    return {"capture": "video decode, capture thread",
            "preprocess": "prepare thread, overlaps the model's previous frame",
            "annotate": "per drawn frame, encoder thread, concurrent with inference",
            "encode": "JPEG per drawn frame, encoder thread, concurrent with inference",
            "publish": "serialise + hand to the MQTT buffer, inference thread"}.get(stage, "inference thread")


def export_backbone(folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "socksort", "backbones", "export", BACKBONE, "--out", str(folder)],
                   check=True, capture_output=True, text=True)
    return folder


def write_video(path: Path, frames: int, size=(640, 480), fps: float = 30.0) -> Path:
    """A 640x480 camera-like video: a textured background with a moving coloured patch."""
    import cv2
    import numpy as np
    rng = np.random.default_rng(7)
    background = cv2.GaussianBlur(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8), (0, 0), 3)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    for i in range(frames):
        image = background.copy()
        x = int((i * 7) % (size[0] - 160))
        cv2.rectangle(image, (x, 140), (x + 160, 340), (40, 60 + i % 180, 200), -1)
        writer.write(image)
    writer.release()
    return path


def child(kind: str, model: Path, video: Path, mqtt_url: str) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(os.cpu_count() or 1)}
    result = subprocess.run([sys.executable, __file__, "--child", kind, str(model), str(video), mqtt_url],
                            capture_output=True, text=True, env=env, timeout=1800)
    if result.returncode != 0:
        raise RuntimeError(f"{kind} benchmark failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure(kind: str, model: Path, video: Path, mqtt_url: str) -> dict:
    import numpy as np

    from socksort import modelcard
    from socksort.edge_lambda import runtimes
    from socksort.edge_lambda.classify import Classifier

    card = modelcard.load(model)
    classifier = Classifier(card, runtimes.load(model, card, kind))
    batch = classifier.prepare(np.zeros((480, 640, 3), np.uint8))
    # MXNet's unoptimised Gluon path on the same artifact, as the baseline for the
    # optimised one (folded Pads and BatchNorm, oneDNN fusion, one bound executor).
    plain = None
    if kind == "mxnet":
        plain = Classifier(card, runtimes.PlainMxnetRuntime(model, card.input_name))
        runtimes.warm_up(plain.runtime, card)

    def model_only(clf) -> tuple[float, float]:
        """(frames per second, process CPU milliseconds per frame): CPU time is the figure
        the other engineers' load disturbs least."""
        runs = MODEL_ONLY_RUNS[kind] // 2
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(runs):
            clf.infer(batch)
        return runs / (time.perf_counter() - started), 1000 * (time.process_time() - cpu) / runs

    # Model-only samples before, between and after the two end-to-end runs: the other
    # engineers' load on this machine comes in bursts, and each ratio compares an e2e run
    # with the model-only samples on either side of it. The plain baseline is interleaved
    # the same way.
    samples = [model_only(classifier)]
    baseline = [model_only(plain)] if plain else []
    e2e = {}
    for viewer in (False, True):
        e2e[viewer] = run_edge(model, video, kind, mqtt_url, unthrottled=True, frames=FRAMES[kind], viewer=viewer)
        samples.append(model_only(classifier))
        if plain:
            baseline.append(model_only(plain))
    live = run_edge(model, video, kind, mqtt_url, unthrottled=False, frames=LIVE_FRAMES, viewer=False)
    mean = lambda values: sum(values) / len(values)  # noqa: E731
    result = {"model_fps": mean([f for f, _ in samples]), "model_cpu_ms": mean([c for _, c in samples]),
              "load": os.getloadavg()[0],
              "live_p99_ms": live["p99_ms"], "live_p50_ms": live["p50_ms"], "live_dropped": live["dropped"],
              "live_fps": live["e2e_fps"]}
    for viewer, name in ((False, "alone"), (True, "viewed")):
        around = samples[int(viewer):int(viewer) + 2]
        result[name] = {**e2e[viewer], "model_fps": mean([f for f, _ in around]),
                        "model_cpu_ms": mean([c for _, c in around])}
    if baseline:
        result["plain_fps"] = mean([f for f, _ in baseline])
        result["plain_cpu_ms"] = mean([c for _, c in baseline])
    return result


def run_edge(model: Path, video: Path, kind: str, mqtt_url: str, *, unthrottled: bool, frames: int,
             viewer: bool) -> dict:
    """One EdgeLoop run, with or without a /stream.mjpg viewer; FPS and process CPU time
    over the classified frames until the last one is acknowledged by the broker."""
    from socksort.config import HostPort, mqtt_url as parse_url
    from socksort.edge_lambda.loop import EdgeConfig, EdgeLoop
    from socksort.edge_lambda.metrics import STAGES
    from socksort.net import free_port

    config = EdgeConfig(model=model, source=str(video), runtime=kind, mqtt_url=parse_url(mqtt_url),
                        http=HostPort("127.0.0.1", free_port()), device="bench", loop=True,
                        unthrottled=unthrottled, max_frames=frames, buffer=10_000)
    edge = EdgeLoop(config, log=lambda text: None).start()
    received = [0]
    if viewer:
        reader = threading.Thread(target=watch_stream, args=(edge.http.url + "/stream.mjpg", received), daemon=True)
        reader.start()
        if not wait_for(lambda: edge.hub.watched, 10):
            raise RuntimeError("the stream viewer never connected")
    mqtt = edge.publishers[0]
    mqtt.wait_connected(10)
    started, cpu = time.perf_counter(), time.process_time()
    edge.run()
    mqtt.flush(30)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    latencies = sorted(mqtt.latencies)
    capture = edge.capture
    stages = {"capture": 1000 * capture.read_seconds / max(1, capture.frames)}
    stages.update({s: edge.times.mean_ms(s) for s in STAGES[1:]})
    edge.stop()
    return {"e2e_fps": edge.classified / elapsed, "frames": edge.classified,
            "cpu_ms": 1000 * cpu / edge.classified,
            "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
            "p50_ms": 1000 * latencies[len(latencies) // 2], "stages_ms": stages,
            "encoded": edge.times.count["encode"], "viewer_fps": received[0] / elapsed,
            "dropped": edge.dropped, "published": mqtt.published}


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def watch_stream(url: str, received: list[int]) -> None:
    """A viewer that reads the MJPEG stream as fast as it comes, until the server closes it;
    counts the JPEG parts it received in ``received[0]``."""
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            while line := response.readline():
                if line.lower().startswith(b"content-length:"):
                    response.readline()   # the blank line after the part headers
                    response.read(int(line.split(b":")[1]))
                    received[0] += 1
    except OSError:
        pass


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        _, _, kind, model, video, url = sys.argv
        print(json.dumps(measure(kind, Path(model), Path(video), url)))
    else:
        print(json.dumps(run(), indent=2))
