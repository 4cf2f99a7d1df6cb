"""Four thin cameras and two workers feed the ksql pipeline of the shared stack, and the pair
table ends equal to the shows' truth (issue 17): the workers' predictions are the MQTT
message's schema, so the pipeline, per camera, works unchanged.

The four cameras play the session's sock show (the one the end-to-end tests hold the edge
to), each as a device of its own; SOCK_PAIRS counts showings across cameras, so the truth is
four times the show's counts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from fleet_fixtures import health, health_url, socksort_process

from socksort.dashboard.truth import compare, expected_pairs, load_counts

pytestmark = [pytest.mark.broker, pytest.mark.slow]

CAMERAS = 4


def socksort(*args, env: dict | None = None, timeout: float = 300) -> str:
    done = subprocess.run([sys.executable, "-m", "socksort", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})
    assert done.returncode == 0, f"socksort {args[0]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done.stdout


def test_the_pair_table_matches_four_shows_classified_by_two_workers(stack, sock_model, sock_show, tmp_path):
    if not stack.ksql_url:
        pytest.fail("the stack has no ksql engine")
    socksort("ksql-apply", "--url", stack.ksql_url, "--mqtt-url", stack.mqtt_url,
             env={"SOCKSORT_HOME": str(stack.home)})
    socksort("pairs", "--reset", "--url", stack.ksql_url)
    video, truth = sock_show
    counts = {design: CAMERAS * k for design, k in load_counts(truth).items()}
    workers, cameras = [], []
    try:
        for i in range(2):
            worker = socksort_process(["worker", "--model", sock_model, "--bootstrap", stack.bootstrap_servers,
                                       "--threads", "1"], tmp_path / f"worker-{i}.log")
            worker.url = health_url(worker)
            workers.append(worker)
        for n in range(CAMERAS):
            cameras.append(socksort_process(["camera", "--source", video, "--device", f"pairs-cam-{n}",
                                             "--bootstrap", stack.bootstrap_servers],
                                            tmp_path / f"camera-{n}.log"))
        for camera in cameras:
            assert camera.wait(240) == 0, camera.log_path.read_text()[-2000:]
        deadline = time.monotonic() + 90
        rows = json.loads(socksort("pairs", "--json", "--url", stack.ksql_url))
        while not compare(rows, counts).all_match and time.monotonic() < deadline:
            time.sleep(1)
            rows = json.loads(socksort("pairs", "--json", "--url", stack.ksql_url))
        assert compare(rows, counts).all_match, "\n".join(compare(rows, counts).wrong)
        assert rows == expected_pairs(counts)
        assert all(health(w.url)["state"] == "running" for w in workers)
    finally:
        for process in workers + cameras:
            if process.poll() is None:
                process.terminate()
        for process in workers + cameras:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
