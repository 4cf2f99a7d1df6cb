"""Hot swap on the edge: how soon after a deploy ``socksort edge --models STORE`` publishes
its first prediction with the new model, against a cold start of the same edge, in one run.

A real ``socksort edge`` process follows a store holding two copies of the default backbone
(EfficientNet-Lite0, 224x224, ONNX Runtime, 1000 classes) under two ids, reading a 320x240
video at its own 30 fps (a live camera's pace) and publishing QoS 1 to the project's real
Mosquitto; a paho subscriber timestamps each prediction as it arrives.

* baseline: a cold start, from launching ``socksort edge`` to its first prediction at the
  subscriber (Python, imports, ONNX Runtime session, warm-up, MQTT connect, first frame);
  the median of two starts;
* swap delay: ``ModelStore.deploy(other)`` to the first prediction carrying the other id,
  over several deploys back and forth; the edge's own log says how much of it was loading
  (session + warm-up, on the follower's thread) and the rest is the poll (``POLL_SECONDS``)
  and the next frame;
* what a swap costs the stream: missing seq numbers across all swaps (the goal is 0), and
  the longest pause between two predictions in the second around each swap against the
  median pause (loading shares the machine's two cores with inference).

Goal (reported, not asserted): a swap sooner than a cold start (ratio < 1), no seq gap.

    benchmarks/run.py hot_swap
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKBONE = "efficientnet_lite0"
ID_A, ID_B = "a0a0a0a0a0a0", "b1b1b1b1b1b1"
SWAPS = 6
COLD_STARTS = 2
DEADLINE = 120.0   # seconds one wait may take before the benchmark gives up
DEVICE = "bench-hot-swap"


def run() -> list[dict]:
    from socksort.modelstore import ModelStore
    from socksort.net import free_port
    from socksort.stack.mosquitto import Mosquitto

    with tempfile.TemporaryDirectory(prefix="bench-hot-swap-") as tmp:
        tmp = Path(tmp)
        store = make_store(tmp / "store", export_backbone(tmp / "backbone"))
        video = write_video(tmp / "camera.avi")
        broker = Mosquitto(tmp / "mosquitto", port=free_port()).start()
        try:
            subscriber = Subscriber(broker.url)
            try:
                cold = [cold_start(store, video, broker.url, subscriber, tmp) for _ in range(COLD_STARTS)]
                swaps = swap_round(ModelStore(store), video, broker.url, subscriber, tmp)
            finally:
                subscriber.close()
        finally:
            broker.stop()
    cold_s = statistics.median(cold)
    delays = [s["delay"] for s in swaps["swaps"]]
    loads = swaps["loads"]
    median_delay = statistics.median(delays)
    rows = [
        row("cold start to first prediction", cold_s, "s",
            f"median of {COLD_STARTS} launches of socksort edge --models (baseline): "
            + ", ".join(f"{c:.2f}" for c in cold)),
        row("swap delay, deploy to first prediction of the new model", median_delay, "s",
            f"median of {SWAPS} deploys back and forth; each: " + ", ".join(f"{d:.2f}" for d in delays)),
        row("swap delay, longest", max(delays), "s", f"of {SWAPS} deploys"),
        row("swap delay / cold start", median_delay / cold_s, "ratio",
            "goal < 1: a swap beats a restart, which would also drop the MQTT connection, the stream and "
            "the frames meanwhile"),
        row("model load in the swap (session + warm-up)", statistics.median(loads) if loads else float("nan"),
            "s", "median, from the edge's log; on the follower thread while the old model serves"),
        row("seq numbers missing across the swaps", swaps["missing"], "count",
            f"over {swaps['predictions']} predictions; goal 0"),
        row("longest pause around a swap / median pause", swaps["pause_ratio"], "ratio",
            f"longest gap between predictions within 1 s of a switch "
            f"({swaps['longest_pause_ms']:.0f} ms) over the median gap ({swaps['median_pause_ms']:.0f} ms)"),
    ]
    return rows


def row(metric: str, value, unit: str, note: str = "") -> dict:
    return {"metric": metric, "value": round(float(value), 3), "unit": unit, "note": note}


def export_backbone(folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "socksort", "backbones", "export", BACKBONE, "--out", str(folder)],
                   check=True, capture_output=True, text=True)
    return folder


def make_store(store: Path, model: Path) -> Path:
    """Two store models from one exported backbone, told apart by their ids."""
    from socksort.modelcard import load
    from socksort.modelstore import ModelStore

    store.mkdir(parents=True)
    for model_id, created in ((ID_A, "2026-01-01T00:00:00Z"), (ID_B, "2026-01-02T00:00:00Z")):
        folder = store / model_id
        shutil.copytree(model, folder)
        dataclasses.replace(load(folder), id=model_id, created=created).save(folder)
    ModelStore(store).deploy(ID_A)
    return store


def write_video(path: Path, frames: int = 90, size=(320, 240), fps: float = 30.0) -> Path:
    import cv2
    import numpy as np
    rng = np.random.default_rng(13)
    background = cv2.GaussianBlur(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8), (0, 0), 3)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    for i in range(frames):
        image = background.copy()
        x = int((i * 5) % (size[0] - 80))
        cv2.rectangle(image, (x, 70), (x + 80, 170), (40, 60 + i % 180, 200), -1)
        writer.write(image)
    writer.release()
    return path


class Subscriber:
    """Every prediction of the benchmark's device with the time it arrived."""

    def __init__(self, url: str):
        import paho.mqtt.client as mqtt

        from socksort.config import mqtt_url

        parsed = mqtt_url(url)
        self.received: list[tuple[float, dict]] = []
        self._cond = threading.Condition()
        subscribed = threading.Event()
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-hot-swap")
        client.username_pw_set(parsed.username, parsed.password)
        client.on_connect = lambda c, u, f, rc, p=None: c.subscribe("sockfound", qos=1)
        client.on_subscribe = lambda *a: subscribed.set()
        client.on_message = self._on_message
        client.connect(parsed.host, parsed.port)
        client.loop_start()
        self.client = client
        if not subscribed.wait(10):
            raise RuntimeError("the benchmark's subscriber could not subscribe")

    def _on_message(self, client, userdata, message) -> None:
        arrived = time.monotonic()
        prediction = json.loads(message.payload)
        if prediction.get("device") == DEVICE:
            with self._cond:
                self.received.append((arrived, prediction))
                self._cond.notify_all()

    def reset(self) -> None:
        with self._cond:
            self.received = []

    def first(self, predicate, after: int = 0) -> tuple[float, dict]:
        """The first prediction from index ``after`` on that satisfies ``predicate``."""
        with self._cond:
            found = []

            def seen() -> bool:
                found[:] = [r for r in self.received[after:] if predicate(r[1])][:1]
                return bool(found)

            if not self._cond.wait_for(seen, DEADLINE):
                raise RuntimeError("no such prediction within the deadline")
            return found[0]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def launch(store: Path, video: Path, url: str, log: Path) -> subprocess.Popen:
    with open(log, "w") as err:
        return subprocess.Popen([sys.executable, "-m", "socksort", "edge", "--models", str(store),
                                 "--source", str(video), "--loop", "--mqtt-url", url, "--http", "none",
                                 "--device", DEVICE], cwd=log.parent, stdout=subprocess.DEVNULL, stderr=err)


def finish(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def cold_start(store: Path, video: Path, url: str, subscriber: Subscriber, tmp: Path) -> float:
    subscriber.reset()
    began = time.monotonic()
    process = launch(store, video, url, tmp / "cold.log")
    try:
        arrived, _ = subscriber.first(lambda p: True)
    finally:
        finish(process)
    return arrived - began


def swap_round(store, video: Path, url: str, subscriber: Subscriber, tmp: Path) -> dict:
    log = tmp / "swaps.log"
    subscriber.reset()
    process = launch(store.root, video, url, log)
    swaps = []
    try:
        subscriber.first(lambda p: p.get("model") == ID_A)
        serving = ID_A
        phase = random.Random(7)
        for _ in range(SWAPS):
            # A steady stream before each deploy, and deploys at varied points of the
            # follower's poll cycle (a fixed pause would lock onto one phase of it).
            time.sleep(phase.uniform(1.5, 2.5))
            other = ID_B if serving == ID_A else ID_A
            after = len(subscriber.received)
            deployed = time.monotonic()
            store.deploy(other)
            arrived, _ = subscriber.first(lambda p, want=other: p.get("model") == want, after)
            swaps.append({"delay": arrived - deployed, "at": arrived})
            serving = other
        time.sleep(1.0)
    finally:
        finish(process)
    received = sorted(subscriber.received, key=lambda r: r[1]["seq"])
    seqs = [p["seq"] for _, p in received]
    missing = (seqs[-1] - seqs[0] + 1 - len(set(seqs))) if seqs else 0
    times = sorted(t for t, _ in received)
    gaps = [(b, b - a) for a, b in zip(times, times[1:])]
    median_gap = statistics.median(g for _, g in gaps)
    around = [g for t, g in gaps if any(abs(t - s["at"]) <= 1.0 for s in swaps)]
    longest = max(around) if around else median_gap
    loads = [float(m) for m in re.findall(r"now serving model \w+ \(was \w+\), loaded in ([0-9.]+) s",
                                          log.read_text())]
    return {"swaps": swaps, "missing": missing, "predictions": len(received), "loads": loads,
            "median_pause_ms": median_gap * 1000, "longest_pause_ms": longest * 1000,
            "pause_ratio": longest / median_gap}


if __name__ == "__main__":
    for r in run():
        print(f"{r['metric']:<60} {r['value']:>10} {r['unit']:<8} {r['note']}")
