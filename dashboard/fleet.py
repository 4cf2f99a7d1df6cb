"""Thin cameras and their inference workers, from the workers' own status topic.

Each ``socksort worker`` puts a JSON snapshot of itself on the compacted topic
``socksort_worker_status`` every few seconds (key = worker id; a tombstone when it stops
cleanly), with per-camera frames/s and lag. Reading that topic keeps the dashboard on the
wire contract: it never needs a worker's port, and a worker killed outright drops off
once its last snapshot is older than ``STALE_S``.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import asdict, dataclass

from socksort import contract

# confluent-kafka is imported inside FleetFeed._run.

STALE_S = 15.0


@dataclass(frozen=True)
class WorkerRow:
    worker: str
    state: str
    model: str | None
    partitions: int
    fps: float
    lag_p50_s: float
    lag_p99_s: float
    frames: int
    skipped: int


@dataclass(frozen=True)
class CameraRow:
    device: str
    fps: float            # summed over the workers that classified its frames lately
    lag_s: float          # the largest of those workers' lags
    frames: int
    workers: tuple[str, ...]


def fresh(snapshots: dict[str, dict], now_ms: int, stale_s: float = STALE_S) -> list[dict]:
    """The snapshots of workers still reporting, by worker id."""
    return [snap for _key, snap in sorted(snapshots.items())
            if now_ms - int(snap.get("ts") or 0) <= stale_s * 1000]


def fleet(snapshots: dict[str, dict], now_ms: int, stale_s: float = STALE_S) -> dict:
    """``{"workers": [...], "cameras": [...]}`` of the workers reporting now."""
    workers, cameras = [], {}
    for snap in fresh(snapshots, now_ms, stale_s):
        name = str(snap.get("worker", "?"))
        workers.append(WorkerRow(name, str(snap.get("state", "")), snap.get("model"),
                                 len(snap.get("partitions") or ()), float(snap.get("fps") or 0),
                                 float(snap.get("lag_p50_s") or 0), float(snap.get("lag_p99_s") or 0),
                                 int(snap.get("frames") or 0), int(snap.get("skipped") or 0)))
        for device, cam in (snap.get("cameras") or {}).items():
            row = cameras.setdefault(device, {"fps": 0.0, "lag_s": 0.0, "frames": 0, "workers": []})
            row["fps"] += float(cam.get("fps") or 0)
            row["lag_s"] = max(row["lag_s"], float(cam.get("lag_s") or 0))
            row["frames"] += int(cam.get("frames") or 0)
            row["workers"].append(name)
    camera_rows = [CameraRow(device, round(r["fps"], 2), r["lag_s"], r["frames"], tuple(r["workers"]))
                   for device, r in sorted(cameras.items())]
    return {"workers": [asdict(w) for w in workers],
            "cameras": [{**asdict(c), "workers": list(c.workers)} for c in camera_rows]}


class FleetFeed:
    """Follows the status topic from its start; ``view()`` is the fleet as of now."""

    def __init__(self, bootstrap: str, topic: str = contract.WORKER_STATUS_TOPIC):
        self.bootstrap, self.topic = bootstrap, topic
        self._snapshots: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dashboard-fleet", daemon=True)

    def start(self) -> "FleetFeed":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def view(self, now_ms: int | None = None) -> dict:
        with self._lock:
            snapshots = dict(self._snapshots)
        return fleet(snapshots, int(time.time() * 1000) if now_ms is None else now_ms)

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """One record of the topic: a snapshot, or a tombstone removing its worker."""
        if key is None:
            return
        name = key.decode("utf-8", "replace")
        with self._lock:
            if value is None:
                self._snapshots.pop(name, None)
                return
            try:
                snap = json.loads(value)
            except ValueError:
                return
            if isinstance(snap, dict):
                self._snapshots[name] = snap

    def _run(self) -> None:
        from confluent_kafka import Consumer

        # A group of its own, never committed: every dashboard reads the topic whole.
        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": f"socksort-dashboard-{uuid.uuid4().hex}",
                             "auto.offset.reset": "earliest", "enable.auto.commit": False,
                             "topic.metadata.refresh.interval.ms": 5000, "log_level": 0})
        try:
            consumer.subscribe([self.topic])
            while not self._stop.is_set():
                record = consumer.poll(0.5)
                if record is None or record.error():
                    continue   # no Kafka or no topic yet: no workers to show
                self.apply(record.key(), record.value())
        finally:
            consumer.close()
