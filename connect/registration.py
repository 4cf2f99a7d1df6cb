"""How the connector is registered: a Kafka Connect worker's REST API for connectors.

Create or update a connector (Connect validates the config first), ask Connect to
validate a config on its own, read a connector's state back, name its FAILED parts, and
wait until it and its tasks run. ``socksort stack up`` registers ours with these; so can
anyone with a Connect worker of their own (see connect/README.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from socksort import progress
from socksort.connect_rest import connect_request
from socksort.errors import UserError
from socksort.net import HttpError, json_request as request


def put_connector(url: str, name: str, config: dict[str, str]) -> bool:
    """Create or update a connector; Connect validates the config first. True if it did.

    An unchanged config is left alone: Connect restarts a connector and its tasks on every
    PUT, and ``stack up`` on a running stack should not interrupt the bridge."""
    try:
        current = connect_request(f"{url}/connectors/{name}/config")
    except HttpError as exc:
        if exc.status != 404:
            raise
        current = None
    if current == {**config, "name": name}:
        return False
    connect_request(f"{url}/connectors/{name}/config", "PUT", config)
    return True


def validate(url: str, connector_class: str, config: dict[str, str]) -> dict[str, list[str]]:
    """Connect's validation of a connector config: {key: [error, ...]} for the keys with errors."""
    plugin = connector_class.rsplit(".", 1)[-1]
    answer = request(f"{url}/connector-plugins/{plugin}/config/validate", "PUT",
                     {"name": "validation", "connector.class": connector_class, **config}, timeout=60)
    return {item["value"]["name"]: item["value"]["errors"]
            for item in answer["configs"] if item["value"]["errors"]}


def connector_status(url: str, name: str) -> dict:
    return request(f"{url}/connectors/{name}/status")


@dataclass(frozen=True)
class Failure:
    """A FAILED part of a connector — ``connector`` or ``task N`` — with its trace's first
    line and, when the trace has one, its innermost cause ("Caused by: ..."), which often
    says more (Connect's first line for a refused record is "Failed to flush offsets")."""

    part: str
    trace: str
    cause: str = ""

    def __str__(self) -> str:
        return f"{self.part} FAILED: {self.trace}" + (f" (caused by {self.cause})" if self.cause else "")


def failures(status: dict) -> list[Failure]:
    """The FAILED parts in a ``/connectors/<name>/status`` answer."""
    parts = [("connector", status["connector"])] + [(f"task {task.get('id', i)}", task)
                                                   for i, task in enumerate(status.get("tasks", []))]
    found = []
    for part, state in parts:
        if state["state"] == "FAILED":
            lines = [line.strip() for line in (state.get("trace") or "").strip().splitlines()]
            causes = [line.removeprefix("Caused by: ") for line in lines if line.startswith("Caused by: ")]
            found.append(Failure(part, lines[0] if lines else "no trace", causes[-1] if causes else ""))
    return found


# A task that fails on the first messages it reads (say, ones its persistent session kept
# for it) shows RUNNING for a moment first; this long it must stay RUNNING to count.
SETTLE_SECONDS = 2.0


def wait_running(url: str, name: str, timeout: float = 120, restarts: int = 3) -> dict:
    """Wait until the connector and all its tasks are RUNNING, and stay so a moment.

    A FAILED connector or task is restarted up to ``restarts`` times before this gives up
    with its trace: right after a config change a worker may still show a task that ran
    (and failed) with the old config — say, a broker port from an earlier ``stack up``.
    """
    progress.step(f"waiting for connector {name!r} and its tasks to run")
    deadline = time.monotonic() + timeout
    status: dict = {}
    running_since = None
    while time.monotonic() < deadline:
        try:
            status = connector_status(url, name)
        except (OSError, HttpError):
            time.sleep(0.5)
            continue
        failed = failures(status)
        if failed and restarts > 0:
            restarts -= 1
            running_since = None
            progress.step(f"connector {name!r} {failed[0]}; restarting it")
            try:
                request(f"{url}/connectors/{name}/restart?includeTasks=true&onlyFailed=true", "POST")
            except (OSError, HttpError) as exc:
                progress.step(f"restarting connector {name!r} failed ({exc}); trying again")
            time.sleep(2)
            continue
        if failed:
            raise UserError(f"connector {name!r} {failed[0]}")
        parts = [status["connector"], *status.get("tasks", [])]
        if status.get("tasks") and all(part["state"] == "RUNNING" for part in parts):
            running_since = running_since or time.monotonic()
            if time.monotonic() - running_since >= SETTLE_SECONDS:
                return status
        else:
            running_since = None
        time.sleep(0.5)
    raise UserError(f"connector {name!r} did not reach RUNNING within {timeout:g}s (last status: {status})")
