"""A worker's counters, and ``/healthz`` + ``/metrics`` (Prometheus text) over HTTP.

The consume loop only adds to :class:`WorkerMetrics` (under one lock); the HTTP thread reads
snapshots of it. Several workers on one host each bind a port of their own (port 0: the
system picks a free one, which the worker prints).
"""

from __future__ import annotations

import collections
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from socksort.edge_lambda.metrics import RateMeter

LAG_WINDOW = 2048


@dataclass
class DeviceCounts:
    frames: int = 0              # classified
    skipped: int = 0             # older than --max-lag
    last_seq: int = -1
    lag_s: float = 0.0           # frame ts -> prediction produced, last frame
    rate: RateMeter = field(default_factory=lambda: RateMeter(window=60))


class WorkerMetrics:
    def __init__(self, worker_id: str):
        self.worker_id = worker_id
        self.started = time.time()
        self.state = "starting"      # starting | running | stopping | failed
        self.error = ""
        self.model: str | None = None
        self.assigned: list[int] = []
        self.frames = 0
        self.skipped = 0
        self.bad = 0
        self.batches = 0
        self.batched_frames = 0
        self.last_batch = 0
        self.aborted = 0
        self.transactions = 0
        self.last_progress = time.monotonic()
        self.rate = RateMeter(window=240)
        self.lags: collections.deque[float] = collections.deque(maxlen=LAG_WINDOW)
        self.devices: dict[str, DeviceCounts] = {}
        self._lock = threading.Lock()

    # --- the loop adds ---------------------------------------------------------------------

    def committed(self, classified: list[tuple[str, int, float]], skipped: list[str], bad: int) -> None:
        """One transaction committed: (device, seq, lag seconds) per prediction, the devices
        of the frames skipped as too old, and how many records were bad."""
        with self._lock:
            self.transactions += 1
            self.last_progress = time.monotonic()
            if classified:
                self.batches += 1
                self.batched_frames += len(classified)
                self.last_batch = len(classified)
            for device, seq, lag in classified:
                counts = self.devices.setdefault(device, DeviceCounts())
                counts.frames += 1
                counts.last_seq = max(counts.last_seq, seq)
                counts.lag_s = lag
                counts.rate.tick()
                self.rate.tick()
                self.lags.append(lag)
            for device in skipped:
                self.devices.setdefault(device, DeviceCounts()).skipped += 1
            self.frames += len(classified)
            self.skipped += len(skipped)
            self.bad += bad

    def abort(self) -> None:
        with self._lock:
            self.aborted += 1

    def idle(self) -> None:
        """A poll that found nothing still counts as the loop being alive."""
        with self._lock:
            self.last_progress = time.monotonic()

    # --- readers ----------------------------------------------------------------------------

    def snapshot(self) -> dict:
        with self._lock:
            lags = sorted(self.lags)
            return {
                "worker": self.worker_id, "state": self.state, "error": self.error, "model": self.model,
                "partitions": list(self.assigned), "frames": self.frames, "skipped": self.skipped,
                "bad": self.bad, "batches": self.batches, "transactions": self.transactions,
                "aborted": self.aborted, "fps": round(self.rate.rate, 2),
                "mean_batch": round(self.batched_frames / self.batches, 2) if self.batches else 0.0,
                "last_batch": self.last_batch,
                "lag_p50_s": round(_quantile(lags, 0.5), 4), "lag_p99_s": round(_quantile(lags, 0.99), 4),
                "uptime_s": round(time.time() - self.started, 1),
                "loop_idle_s": round(time.monotonic() - self.last_progress, 1),
                "cameras": {name: {"frames": c.frames, "skipped": c.skipped, "last_seq": c.last_seq,
                                   "fps": round(c.rate.rate, 2), "lag_s": round(c.lag_s, 4)}
                            for name, c in sorted(self.devices.items())},
            }

    def healthy(self, stall_s: float = 60.0) -> bool:
        snap = self.snapshot()
        return snap["state"] == "running" and snap["loop_idle_s"] < stall_s


def _quantile(ordered: list[float], q: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def prometheus_text(snap: dict) -> str:
    lines: list[str] = []
    worker = _label(snap["worker"])

    def metric(name: str, kind: str, help_text: str, samples) -> None:
        lines.append(f"# HELP socksort_worker_{name} {help_text}")
        lines.append(f"# TYPE socksort_worker_{name} {kind}")
        for labels, value in samples:
            extra = "".join(f',{k}="{_label(v)}"' for k, v in labels)
            lines.append(f'socksort_worker_{name}{{worker="{worker}"{extra}}} {value:g}')

    metric("up", "gauge", "1 while the consume loop runs", [((), 1 if snap["state"] == "running" else 0)])
    metric("frames_total", "counter", "frames classified (one prediction each)", [((), snap["frames"])])
    metric("frames_per_second", "gauge", "frames classified per second, recently", [((), snap["fps"])])
    metric("skipped_total", "counter", "frames older than --max-lag, skipped", [((), snap["skipped"])])
    metric("bad_frames_total", "counter", "records refused (see the error topic)", [((), snap["bad"])])
    metric("batches_total", "counter", "model calls", [((), snap["batches"])])
    metric("batch_size", "gauge", "frames in the last model call", [((), snap["last_batch"])])
    metric("batch_size_mean", "gauge", "mean frames per model call", [((), snap["mean_batch"])])
    metric("transactions_aborted_total", "counter", "transactions aborted and replayed", [((), snap["aborted"])])
    metric("lag_seconds", "gauge", "frame time to prediction produced, recent quantiles",
           [((("quantile", "0.5"),), snap["lag_p50_s"]), ((("quantile", "0.99"),), snap["lag_p99_s"])])
    metric("assigned_partitions", "gauge", "camera_frames partitions this worker owns",
           [((), len(snap["partitions"]))])
    cams = snap["cameras"]
    metric("camera_frames_total", "counter", "frames classified per camera",
           [((("device", d),), c["frames"]) for d, c in cams.items()])
    metric("camera_frames_per_second", "gauge", "frames classified per second per camera",
           [((("device", d),), c["fps"]) for d, c in cams.items()])
    metric("camera_lag_seconds", "gauge", "frame time to prediction, last frame per camera",
           [((("device", d),), c["lag_s"]) for d, c in cams.items()])
    metric("camera_skipped_total", "counter", "frames skipped as too old per camera",
           [((("device", d),), c["skipped"]) for d, c in cams.items()])
    return "\n".join(lines) + "\n"


def _label(value) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


class HealthServer:
    """``/healthz`` (200 with the snapshot as JSON while healthy, else 503) and ``/metrics``."""

    def __init__(self, metrics: WorkerMetrics, host: str = "127.0.0.1", port: int = 0):
        self.metrics = metrics
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                path = self.path.split("?")[0]
                if path == "/healthz":
                    snap = outer.metrics.snapshot()
                    ok = outer.metrics.healthy()
                    self._send(200 if ok else 503, "application/json", json.dumps(snap).encode())
                elif path == "/metrics":
                    self._send(200, "text/plain; version=0.0.4",
                               prometheus_text(outer.metrics.snapshot()).encode())
                else:
                    self._send(404, "text/plain", b"not found: try /healthz or /metrics\n")

            def _send(self, status: int, kind: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):   # no line per scrape on stderr
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="worker-http", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "HealthServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
