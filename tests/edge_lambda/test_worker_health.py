"""A worker's /healthz and /metrics."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from socksort.edge_lambda.worker.health import HealthServer, WorkerMetrics, prometheus_text


@pytest.fixture
def served():
    metrics = WorkerMetrics("w-1")
    server = HealthServer(metrics, "127.0.0.1", 0).start()
    try:
        yield metrics, server
    finally:
        server.stop()


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_healthz_answers_503_until_the_loop_runs_then_200(served):
    metrics, server = served
    assert get(f"{server.url}/healthz")[0] == 503
    metrics.state = "running"
    status, body = get(f"{server.url}/healthz")
    assert status == 200 and json.loads(body)["worker"] == "w-1"


def test_metrics_count_frames_skips_and_bad_records_per_camera(served):
    metrics, server = served
    metrics.committed([("left", 0, 0.2), ("left", 1, 0.3), ("right", 0, 0.1)], ["right"], bad=2)
    status, text = get(f"{server.url}/metrics")
    assert status == 200
    assert 'socksort_worker_frames_total{worker="w-1"} 3' in text
    assert 'socksort_worker_skipped_total{worker="w-1"} 1' in text
    assert 'socksort_worker_bad_frames_total{worker="w-1"} 2' in text
    assert 'socksort_worker_batch_size{worker="w-1"} 3' in text
    assert 'socksort_worker_camera_frames_total{worker="w-1",device="left"} 2' in text
    assert 'socksort_worker_camera_lag_seconds{worker="w-1",device="left"} 0.3' in text


def test_lag_quantiles_come_from_the_recent_frames():
    metrics = WorkerMetrics("w")
    metrics.committed([("a", i, i / 100) for i in range(100)], [], 0)
    text = prometheus_text(metrics.snapshot())
    assert 'socksort_worker_lag_seconds{worker="w",quantile="0.5"} 0.5' in text
    assert 'socksort_worker_lag_seconds{worker="w",quantile="0.99"} 0.99' in text


def test_a_worker_that_stopped_reporting_is_no_longer_listed():
    from socksort.edge_lambda.worker.status_topic import fresh
    snapshots = {"alive": json.dumps({"worker": "alive", "ts": 100_000}).encode(),
                 "killed": json.dumps({"worker": "killed", "ts": 100_000 - 16_000}).encode(),
                 "garbled": b"{not json"}
    assert [s["worker"] for s in fresh(snapshots, now_ms=100_500, stale_s=15)] == ["alive"]
