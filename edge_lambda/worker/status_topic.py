"""A worker's snapshot on ``socksort_worker_status`` every few seconds, so the fleet can be
listed without knowing each worker's port: ``socksort workers``, or a dashboard reading the
topic. Key = worker id; the topic is compacted; a clean stop leaves a tombstone, and a
worker killed outright stops updating (readers drop snapshots older than ``STALE_S``).
"""

from __future__ import annotations

import json
import threading
import time

from socksort import contract
from socksort.edge_lambda import fleet_kafka
from socksort.edge_lambda.worker.health import WorkerMetrics

# confluent-kafka is imported inside StatusPublisher.start.

EVERY_S = 2.0
STALE_S = 15.0
TOPIC_CONFIG = {"cleanup.policy": "compact", "segment.ms": "600000"}


class StatusPublisher:
    def __init__(self, bootstrap: str, metrics: WorkerMetrics, http_url: str | None, every_s: float = EVERY_S):
        self.bootstrap = bootstrap
        self.metrics = metrics
        self.http_url = http_url
        self.every_s = every_s
        self._producer = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-status", daemon=True)

    def start(self) -> "StatusPublisher":
        from confluent_kafka import Producer

        self._producer = Producer({**fleet_kafka.client_config(self.bootstrap), "linger.ms": 0})
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self._send(self.snapshot())
            self._stop.wait(self.every_s)

    def snapshot(self) -> bytes:
        return json.dumps({**self.metrics.snapshot(), "http": self.http_url,
                           "ts": int(time.time() * 1000)}).encode()

    def _send(self, value: bytes | None) -> None:
        try:
            self._producer.produce(contract.WORKER_STATUS_TOPIC, key=self.metrics.worker_id.encode(), value=value)
            self._producer.poll(0)
        except BufferError:
            pass   # Kafka away: the next snapshot says it all again

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        if self._producer is not None:
            self._send(None)   # a tombstone: this worker is gone
            self._producer.flush(5)


def fresh(snapshots: dict[str, bytes], now_ms: int, stale_s: float = STALE_S) -> list[dict]:
    """The snapshots of workers still reporting, by worker id."""
    out = []
    for _key, value in sorted(snapshots.items()):
        try:
            snap = json.loads(value)
        except ValueError:
            continue
        if now_ms - int(snap.get("ts", 0)) <= stale_s * 1000:
            out.append(snap)
    return out
