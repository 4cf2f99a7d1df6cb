"""Inference workers behind Kafka (issue 17): throughput, batching, lag, and skipping under overload.

Four simulated cameras send 640x480 JPEG frames at 30 FPS each (120 frames/s) to
``camera_frames`` of a Kafka of the bench's own (the project's launcher); real ``socksort
worker`` processes classify them with EfficientNet-Lite0 (224 px, ONNX Runtime) and a
read_committed reader times each prediction as it becomes visible on ``data_mqtt``.

* frames/s for 1 and 2 workers, the cameras live for ``LIVE_S`` seconds; 2 / 1 as a ratio;
* batch 1 against batch 8: the same backlog of frames drained by one worker each way;
* lag from a frame's timestamp to its prediction being readable, p50 and p99 (live runs);
* overload: one worker held to one thread and batch 1 (well under 120 frames/s) with and
  without ``--max-lag``: the share skipped, and the p99 lag each way.

Nothing passes or fails on a time; the figures are ratios within this run where they compare.

    benchmarks/run.py workers
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKBONE = "efficientnet_lite0"
CAMERAS = 4
FPS = 30.0
LIVE_S = 12.0
BACKLOG = 480
MAX_LAG_S = 1.0
# Where the simulated cameras' frames go: a partition each, two in each half of the topic, so
# two workers (range assignor) get two cameras each. Hashing four device names onto six
# partitions often puts two on one (cam0, cam1 and cam2 all hash to partition 4).
PLACES = (0, 1, 3, 4)


def run() -> list[dict]:
    from socksort.net import free_port
    from socksort.stack.kafka import Kafka

    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        tmp = Path(tmp)
        model = export_backbone(tmp / "model")
        frames = camera_frames()
        kafka = Kafka(tmp / "kafka", port=free_port(), controller_port=free_port())
        kafka.die_with_parent = True
        kafka.start()
        try:
            bootstrap = kafka.bootstrap_servers
            one = live(bootstrap, model, frames, tmp, workers=1)
            two = live(bootstrap, model, frames, tmp, workers=2, extra=["--threads", "1"])
            # Interleaved, best of two each: the machine is shared, its load comes and goes.
            drains = {1: [], 8: []}
            for _ in range(2):
                for batch in (1, 8):
                    drains[batch].append(drain(bootstrap, model, frames, tmp, batch=batch))
            b1, b8 = (max(drains[b], key=lambda d: d["fps"]) for b in (1, 8))
            late = live(bootstrap, model, frames, tmp, workers=1, extra=["--threads", "1", "--max-batch", "1"])
            skip = live(bootstrap, model, frames, tmp, workers=1,
                        extra=["--threads", "1", "--max-batch", "1", "--max-lag", str(MAX_LAG_S)])
        finally:
            kafka.stop()
    demand = CAMERAS * FPS
    return [
        row("1 worker, frames/s", one["fps"], "frames/s", f"{CAMERAS} cameras x {FPS:g} FPS = {demand:g} offered"),
        row("2 workers, frames/s", two["fps"], "frames/s", "same cameras, 1 inference thread each (1 worker: "
            "all cores); 2 cores shared with Kafka and the cameras"),
        row("2 workers / 1 worker, frames/s", two["fps"] / one["fps"], "ratio", "1.0 when one already keeps up"),
        row("1 worker, lag p50", one["p50"], "s", "frame timestamp -> prediction readable (read_committed)"),
        row("1 worker, lag p99", one["p99"], "s", ""),
        row("2 workers, lag p50", two["p50"], "s", ""),
        row("2 workers, lag p99", two["p99"], "s", ""),
        row("batch 1, frames/s (backlog)", b1["fps"], "frames/s", f"{BACKLOG} frames waiting, 1 worker, best of 2"),
        row("batch 8, frames/s (backlog)", b8["fps"], "frames/s", f"the same {BACKLOG} frames, mean batch "
            f"{b8['mean_batch']:.1f}"),
        row("batch 8 / batch 1, frames/s", b8["fps"] / b1["fps"], "ratio", "one ONNX Runtime call per batch"),
        row("overloaded worker, frames/s", late["fps"], "frames/s", "1 thread, batch 1, every frame classified"),
        row("overloaded, lag p99 without --max-lag", late["p99"], "s", "drifts: the backlog grows"),
        row(f"overloaded, lag p99 with --max-lag {MAX_LAG_S:g}", skip["p99"], "s", "catches up instead"),
        row(f"overloaded, share skipped with --max-lag {MAX_LAG_S:g}", skip["skipped"] / max(1, skip["offered"]),
            "ratio", f"{skip['skipped']} of {skip['offered']} frames skipped, counted"),
        row("overloaded, lag p99 with / without --max-lag", skip["p99"] / late["p99"] if late["p99"] else 0.0,
            "ratio", "below 1: skipping keeps predictions fresh"),
    ]


def row(metric: str, value: float, unit: str, note: str) -> dict:
    return {"metric": metric, "value": round(float(value), 3), "unit": unit, "note": note}


def export_backbone(folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "socksort", "backbones", "export", BACKBONE, "--out", str(folder)],
                   check=True, capture_output=True, text=True)
    return folder


def camera_frames(count: int = 24) -> list[list[bytes]]:
    """Per camera, ``count`` 640x480 JPEGs: a textured scene with a moving coloured patch."""
    import cv2
    import numpy as np
    out = []
    for cam in range(CAMERAS):
        rng = np.random.default_rng(cam)
        background = cv2.GaussianBlur(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8), (0, 0), 3)
        frames = []
        for i in range(count):
            image = background.copy()
            x = (i * 17) % 480
            cv2.rectangle(image, (x, 140), (x + 160, 340), (40 * cam, 60 + 7 * i, 200), -1)
            frames.append(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes())
        out.append(frames)
    return out


# --- parts ------------------------------------------------------------------------------------

def start_worker(bootstrap: str, model: Path, log: Path, extra: list[str]):
    out = open(log, "wb")
    process = subprocess.Popen([sys.executable, "-m", "socksort", "worker", "--model", str(model),
                                "--bootstrap", bootstrap, *extra], stdout=out, stderr=subprocess.STDOUT)
    out.close()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = re.search(r"health on (http://[0-9.]+:[0-9]+)/healthz", log.read_text(errors="replace"))
        if found:
            process.url = found.group(1)
            return process
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"the worker did not start:\n{log.read_text()[-2000:]}")


def health(url: str) -> dict:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())


def wait_assigned(workers, partitions: int = 6) -> None:
    deadline = time.monotonic() + 60
    while sum(len(health(w.url)["partitions"]) for w in workers) != partitions:
        if time.monotonic() > deadline:
            raise RuntimeError("the workers never got every partition")
        time.sleep(0.2)


def stop_all(workers) -> list[dict]:
    finals = [health(w.url) for w in workers]
    for w in workers:
        w.terminate()
    for w in workers:
        w.wait(30)
    return finals


class Reader:
    """Predictions for the run's devices, timed as they become readable (read_committed)."""

    def __init__(self, bootstrap: str, prefix: str):
        from confluent_kafka import Consumer
        self.prefix = prefix.encode()
        self.seen: list[tuple[float, int]] = []   # (time readable, frame ts ms)
        from confluent_kafka import TopicPartition

        from socksort.edge_lambda import fleet_kafka
        fleet_kafka.ensure_topics(bootstrap, {"data_mqtt": 1})
        self._consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex}",
                                   "enable.auto.commit": False, "isolation.level": "read_committed",
                                   "fetch.wait.max.ms": 10})
        partitions = self._consumer.list_topics("data_mqtt", timeout=10).topics["data_mqtt"].partitions
        # From the end as it is now: resolved before any frame of the run is sent.
        ends = [TopicPartition("data_mqtt", p, self._consumer.get_watermark_offsets(
            TopicPartition("data_mqtt", p), timeout=10)[1]) for p in partitions]
        self._consumer.assign(ends)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "Reader":
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            for msg in self._consumer.consume(500, 0.1):
                if msg.error() is None and (msg.key() or b"").startswith(self.prefix):
                    self.seen.append((time.time(), json.loads(msg.value())["ts"]))

    def wait_for(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.seen) < count and time.monotonic() < deadline:
            time.sleep(0.1)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._consumer.close()


def send(bootstrap: str, frames, prefix: str, seconds: float | None, count: int | None = None) -> int:
    """Cameras at FPS each for ``seconds`` (live: ts = now), or ``count`` frames at once (a backlog)."""
    from confluent_kafka import Producer

    from socksort.edge_lambda import framewire
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 2, "enable.idempotence": True})
    sent = 0
    started = time.monotonic()
    tick = 0
    while True:
        if count is not None and sent >= count:
            break
        if seconds is not None:
            due = started + tick / FPS
            if due - started >= seconds:
                break
            time.sleep(max(0.0, due - time.monotonic()))
        now = int(time.time() * 1000)
        for cam in range(CAMERAS):
            jpeg = frames[cam][tick % len(frames[cam])]
            producer.produce("camera_frames", key=f"{prefix}{cam}".encode(), value=jpeg,
                             headers=framewire.headers(now, tick), partition=PLACES[cam])
            sent += 1
        producer.poll(0)
        tick += 1
    producer.flush(30)
    return sent


def quantile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0


def live(bootstrap, model, frames, tmp, workers: int, extra: list[str] | None = None) -> dict:
    """Cameras live for LIVE_S; frames/s over the window, lag quantiles, frames skipped."""
    prefix = f"live-{uuid.uuid4().hex[:6]}-"
    procs = [start_worker(bootstrap, model, tmp / f"{prefix}{i}.log", extra or []) for i in range(workers)]
    try:
        wait_assigned(procs)
        reader = Reader(bootstrap, prefix).start()
        started = time.time()
        offered = send(bootstrap, frames, prefix, LIVE_S)
        window_end = time.time()
        # Let the workers finish (or skip) what is still queued, then read the counters.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            done = sum(h["frames"] + h["skipped"] for h in (health(p.url) for p in procs))
            if done >= offered:
                break
            time.sleep(0.2)
        reader.wait_for(sum(health(p.url)["frames"] for p in procs), 30)
        reader.close()
    finally:
        finals = stop_all(procs)
    in_window = [t for t, _ in reader.seen if t <= window_end]
    lags = [t - ts / 1000.0 for t, ts in reader.seen]
    return {"fps": len(in_window) / (window_end - started), "p50": quantile(lags, 0.5),
            "p99": quantile(lags, 0.99), "offered": offered, "skipped": sum(f["skipped"] for f in finals)}


def drain(bootstrap, model, frames, tmp, batch: int) -> dict:
    """BACKLOG frames already waiting, one worker with --max-batch ``batch``: frames/s to drain."""
    prefix = f"drain{batch}-{uuid.uuid4().hex[:6]}-"
    reader = Reader(bootstrap, prefix).start()
    send(bootstrap, frames, prefix, None, count=BACKLOG)
    proc = start_worker(bootstrap, model, tmp / f"{prefix}.log", ["--max-batch", str(batch)])
    try:
        reader.wait_for(BACKLOG, 300)
        reader.close()
    finally:
        [final] = stop_all([proc])
    times = sorted(t for t, _ in reader.seen)
    # From the first prediction to the last: the worker's start-up is not part of the rate.
    span = times[-1] - times[0] if len(times) > 1 else float("nan")
    return {"fps": (len(times) - 1) / span, "mean_batch": final["mean_batch"]}


if __name__ == "__main__":
    for r in run():
        print(f"{r['metric']:<55} {r['value']:>10} {r['unit']:<9} {r['note']}")
