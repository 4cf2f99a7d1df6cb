"""Process ownership: what a test starts dies with it."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from socksort.net import free_port
from socksort.stack.processes import identify

pytestmark = pytest.mark.broker

STARTER = """
import sys
from pathlib import Path
from socksort.stack.mosquitto import Mosquitto
broker = Mosquitto(Path(sys.argv[1]), port=int(sys.argv[2]))
broker.die_with_parent = {die}
broker.start()
print(broker.pid, flush=True)
sys.stdin.read()  # wait to be killed
"""


def _broker_of_a_killed_parent(tmp_path, die: bool) -> int:
    parent = subprocess.Popen([sys.executable, "-c", STARTER.format(die=die), str(tmp_path), str(free_port())],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    broker_pid = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    return broker_pid


def test_a_service_started_for_a_test_dies_when_the_test_process_is_killed(tmp_path):
    broker_pid = _broker_of_a_killed_parent(tmp_path, die=True)
    deadline = time.monotonic() + 10
    while identify(broker_pid) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert identify(broker_pid) is None


def test_a_service_started_by_stack_up_outlives_its_starter(tmp_path):
    from socksort.stack.processes import stop
    broker_pid = _broker_of_a_killed_parent(tmp_path, die=False)
    try:
        time.sleep(0.5)
        assert identify(broker_pid) is not None
    finally:
        stop(broker_pid)
