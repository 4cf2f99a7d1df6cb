"""Where the local stack's services listen, asked the way a user would ask.

``socksort stack status --json`` is the streaming stage's public answer (one object keyed
by service, each with ``state``, ``pid`` and its endpoint). Running the command instead of
importing the stage keeps the dashboard on the wire contract only.
"""

from __future__ import annotations

import json
import subprocess
import sys

from socksort import contract

DEFAULTS = {
    "mqtt_url": f"mqtt://127.0.0.1:{contract.PORTS['mqtt']}",
    "connect_url": f"http://127.0.0.1:{contract.PORTS['connect']}",
    "ksql_url": f"http://127.0.0.1:{contract.PORTS['ksql']}",
    "edge_url": f"http://127.0.0.1:{contract.PORTS['edge']}",
    "bootstrap_servers": f"127.0.0.1:{contract.PORTS['kafka']}",
}


def status(timeout: float = 30.0, env: dict | None = None) -> dict | None:
    """The parsed ``stack status --json``, or None when there is no stack to ask."""
    try:
        done = subprocess.run([sys.executable, "-m", "socksort", "stack", "status", "--json"],
                              capture_output=True, text=True, timeout=timeout, env=env)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    try:
        parsed = json.loads(done.stdout)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def endpoints(report: dict | None) -> dict[str, str]:
    """Each endpoint the stack reports for a running service, over the contract defaults."""
    found = dict(DEFAULTS)
    for service in (report or {}).values():
        if not isinstance(service, dict) or service.get("state") != "running":
            continue
        for key in ("mqtt_url", "connect_url", "ksql_url", "bootstrap_servers"):
            if isinstance(service.get(key), str) and service[key]:
                found[key] = service[key]
    return found
