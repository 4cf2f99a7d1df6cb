"""`socksort demo` with DEMO_EXIT=1, small: it trains its own model, plays its own show
through the shared stack and exits 0 only after printing that every design matches."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from socksort.net import free_port

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def test_the_demo_ends_with_every_design_matching_the_truth(stack, tmp_path):
    env = {**os.environ, "SOCKSORT_HOME": str(stack.home), "DEMO_EXIT": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "socksort", "demo", "--workdir", str(tmp_path / "demo"),
         "--classes", "3", "--per-class", "12", "--epochs", "0", "--show-seconds", "24", "--show-fps", "15",
         "--listen", f"127.0.0.1:{free_port()}", "--edge-http", f"127.0.0.1:{free_port()}"],
        env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr[-4000:]}"
    lines = done.stdout.splitlines()
    assert lines[0].startswith("dashboard: http://127.0.0.1:")
    verdict = [line for line in lines if line.startswith("pairs: ")]
    assert len(verdict) == 1
    matching, total = verdict[0].split()[1].split("/")
    assert matching == total and int(total) > 0
    # Each step said what it did and what it waited for.
    for step in ("making a synthetic sock dataset", "training the sock model", "rendering the synthetic sock show",
                 "starting the stack", "applying ksql/", "new sorting session", "starting the edge function",
                 "waiting for it to end", "waiting for SOCK_PAIRS to settle"):
        assert step in done.stderr, step


def test_a_taken_dashboard_port_stops_the_demo_at_once(tmp_path):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "socksort", "demo", "--workdir", str(tmp_path / "demo"),
             "--listen", f"127.0.0.1:{port}"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"socksort: error: 127.0.0.1:{port} is in use, so the dashboard cannot "
                                   "listen there (choose another with --listen / --edge-http)")
    assert not (tmp_path / "demo").exists()
