"""Pipeline health: is each part up, and if not, which one and why.

The parts, in the order data flows through them: the camera (the edge function's
``/healthz``), MQTT (the dashboard's own subscription to the camera's topic), the Kafka
Connect connector (Connect's REST API: connector and task states), and the ksql engine
(``/healthcheck``, which also reports whether it reaches Kafka). Each check turns the
answer, or the lack of one, into a :class:`Check` whose ``detail`` names the cause.

A part can also have finished on purpose: the demo's camera plays a recorded show once,
and when it has ended the edge function exits. That camera is *idle*, not down: the page
says the show has ended, in a neutral colour, and the rest of the pipeline still counts
as up.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from typing import Callable

TIMEOUT = 1.5


@dataclass(frozen=True)
class Check:
    part: str       # stable key: camera, mqtt, connector, ksql
    title: str      # what the page shows
    ok: bool
    detail: str
    idle: bool = False  # not running, and meant not to be (a recording that has ended)


@dataclass(frozen=True)
class Health:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return not self.failing

    @property
    def failing(self) -> list[Check]:
        return [check for check in self.checks if not check.ok and not check.idle]

    @property
    def idle(self) -> list[Check]:
        return [check for check in self.checks if check.idle]

    def summary(self) -> str:
        if not self.ok:
            return "down: " + "; ".join(f"{c.title} ({c.detail})" for c in self.failing)
        if self.idle:
            return "; ".join(c.detail for c in self.idle) + "; the other parts are up"
        return "all parts are up"

    def to_dict(self) -> dict:
        return {"ok": self.ok, "summary": self.summary(),
                "checks": [asdict(check) for check in self.checks]}


def get_json(url: str, timeout: float = TIMEOUT) -> tuple[int, object]:
    """GET a URL; (status, parsed JSON or text). Raises OSError when nothing answers."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    text = body.decode("utf-8", "replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def _unreachable(exc: Exception) -> str:
    reason = getattr(exc, "reason", exc)
    return f"no answer ({reason})"


def camera(edge_url: str, fetch=get_json) -> Check:
    title = "Camera"
    try:
        status, body = fetch(f"{edge_url}/healthz")
    except OSError as exc:
        return Check("camera", title, False, f"edge function at {edge_url}: {_unreachable(exc)}")
    detail = _describe_edge(body)
    if status == 200:
        return Check("camera", title, True, detail or "streaming")
    return Check("camera", title, False, detail or f"edge /healthz answered HTTP {status}")


SHOW_ENDED = "Show ended — the camera has finished its recording"


def camera_finished(detail: str = SHOW_ENDED) -> Check:
    """The camera played its recording to the end and stopped, as it was meant to."""
    return Check("camera", "Camera", False, detail, idle=True)


def _describe_edge(body) -> str:
    """The edge's /healthz: ``{"status", "problems": [...], "camera": state, "outputs"}``."""
    if isinstance(body, dict):
        problems = [p for p in body.get("problems") or () if isinstance(p, str)]
        if problems:
            return "; ".join(problems)
        if isinstance(body.get("camera"), str):
            return f"camera {body['camera']}"
        return ""
    return str(body).strip()[:160]


def mqtt(state: Callable[[], tuple[bool, str]]) -> Check:
    connected, detail = state()
    return Check("mqtt", "MQTT", connected, detail)


def connector(connect_url: str, name: str | None = None, fetch=get_json) -> Check:
    title = "Kafka Connect connector"
    try:
        status, body = fetch(f"{connect_url}/connectors?expand=status")
    except OSError as exc:
        return Check("connector", title, False, f"Kafka Connect at {connect_url}: {_unreachable(exc)}")
    if status != 200 or not isinstance(body, dict):
        return Check("connector", title, False, f"Kafka Connect answered HTTP {status}")
    return connector_state(body, name)


def connector_state(listing: dict, name: str | None) -> Check:
    """Judge Connect's ``GET /connectors?expand=status`` answer.

    With ``name``, that connector must exist; without, every connector must run (and
    there must be one: an empty worker bridges nothing).
    """
    title = "Kafka Connect connector"
    if name is not None and name not in listing:
        return Check("connector", title, False, f"connector {name!r} does not exist")
    names = [name] if name is not None else sorted(listing)
    if not names:
        return Check("connector", title, False, "no connector is configured on Kafka Connect")
    for each in names:
        status = (listing[each] or {}).get("status", {})
        state = status.get("connector", {}).get("state", "UNKNOWN")
        if state != "RUNNING":
            return Check("connector", title, False, f"connector {each} is {state}")
        tasks = status.get("tasks", [])
        if not tasks:
            return Check("connector", title, False, f"connector {each} has no running task")
        for task in tasks:
            if task.get("state") != "RUNNING":
                trace = (task.get("trace") or "").strip().splitlines()
                why = f": {trace[0][:160]}" if trace else ""
                return Check("connector", title, False,
                             f"connector {each} task {task.get('id')} is {task.get('state')}{why}")
    return Check("connector", title, True, ", ".join(f"{n} RUNNING" for n in names))


def ksql(ksql_url: str, fetch=get_json) -> Check:
    title = "ksql engine"
    try:
        status, body = fetch(f"{ksql_url}/healthcheck")
    except OSError as exc:
        return Check("ksql", title, False, f"ksql server at {ksql_url}: {_unreachable(exc)}")
    if not isinstance(body, dict) or "isHealthy" not in body:
        return Check("ksql", title, False, f"ksql /healthcheck answered HTTP {status}")
    if body["isHealthy"]:
        return Check("ksql", title, True, "healthy")
    sick = [part for part, info in (body.get("details") or {}).items()
            if isinstance(info, dict) and not info.get("isHealthy", True)]
    return Check("ksql", title, False, "unhealthy: " + (", ".join(sick) or "no details"))
