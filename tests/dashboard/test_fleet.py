"""The cameras and workers panel: the workers' status topic read back as a fleet."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from socksort import contract
from socksort.config import HostPort, mqtt_url
from socksort.dashboard.fleet import FleetFeed, fleet
from socksort.net import free_port

NOW = 1_800_000_000_000


def snapshot(worker: str, ts: int = NOW, **cameras) -> dict:
    return {"worker": worker, "state": "running", "model": "3e33a9737e18", "partitions": [0, 1, 2], "fps": 30.0,
            "lag_p50_s": 0.05, "lag_p99_s": 0.2, "frames": 900, "skipped": 3, "ts": ts,
            "cameras": {name: {"frames": 450, "fps": fps, "lag_s": lag} for name, (fps, lag) in cameras.items()}}


def test_each_camera_sums_the_rate_of_the_workers_that_classify_it_and_keeps_the_worst_lag():
    view = fleet({"w1": snapshot("w1", cam0=(10.0, 0.1)), "w2": snapshot("w2", cam0=(5.0, 0.4))}, NOW)
    assert view["cameras"] == [{"device": "cam0", "fps": 15.0, "lag_s": 0.4, "frames": 900,
                                "workers": ["w1", "w2"]}]


def test_a_worker_that_stopped_reporting_drops_off():
    view = fleet({"w1": snapshot("w1", ts=NOW - 60_000, cam0=(10.0, 0.1)), "w2": snapshot("w2")}, NOW)
    assert [w["worker"] for w in view["workers"]] == ["w2"] and view["cameras"] == []


def test_a_tombstone_removes_a_worker_that_stopped_cleanly():
    feed = FleetFeed("127.0.0.1:1")
    feed.apply(b"w1", json.dumps(snapshot("w1")).encode())
    feed.apply(b"w1", None)
    assert feed.view(NOW)["workers"] == []


def test_a_record_that_is_not_json_is_ignored():
    feed = FleetFeed("127.0.0.1:1")
    feed.apply(b"w1", b"{not json")
    assert feed.view(NOW) == {"workers": [], "cameras": []}


@pytest.mark.broker
@pytest.mark.browser
def test_the_page_lists_the_cameras_and_workers_on_the_status_topic(stack, browser_page):
    from confluent_kafka import Producer

    from socksort.dashboard.app import Settings
    from socksort.dashboard.cli import start_dashboard, stop_dashboard

    worker = f"fleet-test-{free_port()}"
    producer = Producer({"bootstrap.servers": stack.bootstrap_servers})
    producer.produce(contract.WORKER_STATUS_TOPIC, key=worker.encode(),
                     value=json.dumps(snapshot(worker, ts=int(time.time() * 1000),
                                               **{f"{worker}-cam": (12.5, 0.25)})).encode())
    assert producer.flush(10) == 0
    settings = Settings(listen=HostPort("127.0.0.1", free_port()), edge_url=f"http://127.0.0.1:{free_port()}",
                        ksql_url=stack.ksql_url or stack.connect_url, connect_url=stack.connect_url,
                        mqtt_url=mqtt_url(stack.mqtt_url), health_every=0.5, bootstrap=stack.bootstrap_servers)
    dashboard, server, thread = start_dashboard(settings)
    try:
        browser_page.goto(server.url)
        row = browser_page.locator("#fleet-cameras tbody tr", has_text=f"{worker}-cam")
        row.wait_for(timeout=60_000)
        assert "12.5" in row.inner_text() and "0.25 s" in row.inner_text()
        assert worker in browser_page.locator("#fleet-workers").inner_text()
        live = json.loads(urllib.request.urlopen(server.url + "api/live", timeout=10).read())
        assert worker in [w["worker"] for w in live["fleet"]["workers"]]
    finally:
        stop_dashboard(dashboard, server, thread)
