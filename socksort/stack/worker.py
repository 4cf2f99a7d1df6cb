"""A Kafka Connect worker in distributed mode, with our connector on its plugin path.

Distributed mode keeps connector configs, offsets and status in Kafka topics, so a
restarted worker resumes its connectors by itself. Exactly-once source support is on:
a source task's records and its offsets are written in one Kafka transaction, which is
what lets the MQTT connector drop redeliveries exactly. Secrets can stay out of connector
configs with ``${file:/path:key}`` (Kafka's FileConfigProvider is registered as ``file``).

:meth:`ConnectWorker.start` returns once the worker's ``GET /health`` says it is healthy.
Its REST API answers long before that: ``GET /connectors`` lists ``[]`` while the worker is
still reading its internal topics, and requests about a connector hang until it is done.
After a crash that reading can take a minute: with exactly-once source support the dead
worker's open transaction holds back the offsets topic until Kafka aborts it
(``transaction.timeout.ms``). :func:`wait_healthy` waits as long as the worker answers and
its reported step keeps changing, and says which step it is at.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from socksort import progress
from socksort.errors import UserError
from socksort.net import HttpError, json_request as request
from socksort.stack import jvm, processes

GROUP_ID = "socksort-connect"
# How long the worker may report the same step before waiting for it counts as hopeless.
# The longest legitimate one is reading a topic behind a transaction a crashed producer
# left open: 60 s for Connect's producers (transaction.timeout.ms) plus the broker's 10 s
# sweep; Kafka aborts any transaction after at most 15 min (transaction.max.timeout.ms).
STALL_LIMIT = 300.0
# /health waits up to 10 s for the worker's herder thread before it answers "starting".
HEALTH_TIMEOUT = 15.0


@dataclass(eq=False)
class ConnectWorker(processes.Launcher):
    workdir: Path
    bootstrap_servers: str
    port: int = 8083
    host: str = "127.0.0.1"
    heap: str = jvm.DEFAULT_HEAP
    exactly_once: bool = True
    # Names the Connect cluster; its config, offset and status topics are
    # <group_id>-configs|offsets|status, so two groups on one Kafka stay apart.
    group_id: str = GROUP_ID
    # How long a source task's transaction may stay open (its producers' transaction.timeout.ms);
    # None keeps Kafka's 60 s, which is also how long a crashed task's open transaction holds back
    # the topics after it (a test that crashes workers on purpose may shorten it).
    transaction_timeout_ms: int | None = None

    what = "the Connect worker"
    stop_timeout = 30.0

    def __post_init__(self):
        self.workdir = Path(self.workdir)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "connect.log"

    def properties(self) -> dict[str, object]:
        return {
            "bootstrap.servers": self.bootstrap_servers,
            "group.id": self.group_id,
            "listeners": f"http://{self.host}:{self.port}",
            "rest.advertised.host.name": self.host,
            "rest.advertised.port": self.port,
            "key.converter": "org.apache.kafka.connect.storage.StringConverter",
            "value.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
            "config.storage.topic": f"{self.group_id}-configs",
            "offset.storage.topic": f"{self.group_id}-offsets",
            "status.storage.topic": f"{self.group_id}-status",
            "config.storage.replication.factor": 1,
            "offset.storage.replication.factor": 1,
            "status.storage.replication.factor": 1,
            "offset.flush.interval.ms": 5000,
            "exactly.once.source.support": "enabled" if self.exactly_once else "disabled",
            "plugin.path": jvm.plugin_path(),
            # Plugins are found through their ServiceLoader manifests instead of a
            # classpath scan that costs tens of seconds on two cores.
            "plugin.discovery": "service_load",
            "config.providers": "file",
            "config.providers.file.class": "org.apache.kafka.common.config.provider.FileConfigProvider",
            "scheduled.rebalance.max.delay.ms": 0,
            **({"producer.transaction.timeout.ms": self.transaction_timeout_ms}
               if self.transaction_timeout_ms is not None else {}),
        }

    def start(self, timeout: float = 180) -> "ConnectWorker":
        if self.pid is not None:
            return self
        processes.ensure_port_free(self.port, "the Kafka Connect REST API",
                                   " or choose another port with --connect-port")
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = jvm.write_properties(self.workdir / "connect-distributed.properties", self.properties())
        log_config = jvm.write_log_config(self.workdir / "log4j2.properties", self.log_path.resolve())
        progress.step(f"starting the Kafka Connect worker on {self.url} (logs: {self.log_path})")
        self._spawn(jvm.command("org.apache.kafka.connect.cli.ConnectDistributed", str(config), heap=self.heap,
                                log_config=log_config), self.workdir / "connect.out")
        progress.step(f"waiting for the Connect REST API at {self.url}/")
        self._wait_ready(lambda: rest_answers(self.url), timeout, self.log_path)
        wait_healthy(self.url, alive=lambda: self.pid is not None, log_path=self.log_path)
        return self


# --- readiness ----------------------------------------------------------------------

@dataclass(frozen=True)
class Health:
    """The worker's ``GET /health`` answer: ``healthy``, ``starting`` or ``unhealthy`` with
    Connect's message, or ``down`` when its REST API does not answer (yet)."""

    status: str
    message: str = ""

    @property
    def answered(self) -> bool:
        return self.status != "down"

    @property
    def step(self) -> str:
        """What the worker says it is doing, e.g. "initializing and reading to the end of
        internal topics (since 2026-01-01T10:00:00Z)"."""
        match = re.search(r"The worker is currently (.+?), which began at (\S+?)\.?$", self.message)
        if match:
            return f"{match.group(1)} (since {match.group(2)})"
        return self.message.removeprefix("Worker is still starting up.").strip() or self.status


def worker_health(url: str, timeout: float = HEALTH_TIMEOUT) -> Health:
    try:
        answer = request(f"{url}/health", timeout=timeout)
    except HttpError as exc:
        if exc.status in (500, 503):
            # "starting" (503) or "unhealthy" (500); the JSON body carries the message.
            state = "starting" if exc.status == 503 else "unhealthy"
            return Health(state, exc.message)
        return Health("down", str(exc))  # 404 while Jetty is up but Connect's resources are not
    except (OSError, ValueError) as exc:
        return Health("down", str(exc))
    return Health(answer.get("status", "healthy"), answer.get("message", "")) if isinstance(answer, dict) \
        else Health("down", "not Connect's /health answer")


def wait_healthy(url: str, alive: Callable[[], bool], log_path: Path, stall_limit: float | None = None,
                 report_every: float = 15.0) -> None:
    """Wait until the worker at ``url`` is healthy, for as long as it makes progress.

    Progress is a change of the step it reports on ``/health``. Each new step is said on
    stderr, and every ``report_every`` seconds that the wait is still on. Raises
    :class:`UserError` if the process exits, and :class:`processes.StillStarting` once one
    step (or no answer) has lasted ``stall_limit`` seconds: the worker is alive and may yet
    recover, so it is not stopped. ``stall_limit`` defaults to :data:`STALL_LIMIT`.
    """
    stall_limit = STALL_LIMIT if stall_limit is None else stall_limit
    began = since = reported = time.monotonic()
    step = None
    while True:
        if not alive():
            raise UserError(f"the Connect worker exited while starting: {processes.log_tail(log_path)}")
        health = worker_health(url)
        if health.status == "healthy":
            return
        now = time.monotonic()
        current = health.step if health.answered else "not answering"
        if current != step:
            step, since, reported = current, now, now
            progress.step(f"waiting for the Connect worker to finish starting: it is {current}"
                          + _why(current))
        elif now - reported >= report_every:
            reported = now
            progress.step(f"still waiting for the Connect worker ({now - began:.0f} s): it is {current}")
        if now - since >= stall_limit:
            raise processes.StillStarting(
                f"the Connect worker is still {current}, with no progress for {now - since:.0f} s; it keeps "
                f"running and may yet recover (socksort stack status shows when it is ready; log: {log_path})")
        time.sleep(1.0)


def _why(step: str) -> str:
    if "reading to the end" in step:
        return ("; after a crash a transaction the dead worker left open holds this back until "
                "Kafka aborts it (about a minute)")
    return ""


# --- its REST API answering ------------------------------------------------------------------

def rest_answers(url: str) -> bool:
    """True once the worker's REST API answers (its root, at once); it may still be starting."""
    try:
        answer = request(f"{url}/", timeout=2)
    except (OSError, HttpError, ValueError):
        return False
    return isinstance(answer, dict) and "version" in answer
