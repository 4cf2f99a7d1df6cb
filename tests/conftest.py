"""Fixtures shared by every stage's tests.

Tests live in ``tests/<stage>/``; pytest runs with ``--import-mode=importlib``, so test
modules may share file names across folders. Services are real: a test that needs a
broker starts the project's own launcher on free ports under ``tmp_path``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def run_cli(tmp_path):
    """Run ``socksort ARGS...`` as a user would (a separate process) and return the result."""
    def run(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 600,
            check: bool = False) -> subprocess.CompletedProcess:
        full_env = {**os.environ, **(env or {})}
        result = subprocess.run([sys.executable, "-m", "socksort", *map(str, args)],
                                cwd=cwd or tmp_path, env=full_env, capture_output=True,
                                text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"socksort {' '.join(map(str, args))} failed "
                                 f"({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result
    return run


# --- brokers (owned by the connect stage) --------------------------------------------

@pytest.fixture
def mosquitto(tmp_path):
    """A started Mosquitto (``socksort.connect.mosquitto.Mosquitto``) on a free port.

    Its files live under ``tmp_path / "mosquitto"``; it is stopped after the test.
    Attributes: ``url`` (``mqtt://socksort:<password>@127.0.0.1:<port>``, parse it with
    ``socksort.config.mqtt_url``), ``host``, ``port``, ``username``, ``password``, ``pid``,
    and ``restart()`` / ``stop()`` for tests about reconnection.
    """
    from socksort.connect.mosquitto import Mosquitto
    from socksort.net import free_port

    broker = Mosquitto(tmp_path / "mosquitto", port=free_port())
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
