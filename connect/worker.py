"""A Kafka Connect worker in distributed mode, with our connector on its plugin path.

Distributed mode keeps connector configs, offsets and status in Kafka topics, so a
restarted worker resumes its connectors by itself. Exactly-once source support is on:
a source task's records and its offsets are written in one Kafka transaction, which is
what lets the MQTT connector drop redeliveries exactly. Secrets can stay out of connector
configs with ``${file:/path:key}`` (Kafka's FileConfigProvider is registered as ``file``).
:meth:`ConnectWorker.start` returns once the REST API lists connectors (the worker has
joined its group and read its config topic).
"""

from __future__ import annotations

import time
from pathlib import Path

from socksort import progress
from socksort.connect import jvm, processes
from socksort.errors import UserError
from socksort.net import HttpError, json_request as request

GROUP_ID = "socksort-connect"


class ConnectWorker(processes.Launcher):
    what = "the Connect worker"
    stop_timeout = 30.0

    def __init__(self, workdir: Path, bootstrap_servers: str, port: int = 8083, host: str = "127.0.0.1",
                 heap: str = jvm.DEFAULT_HEAP, exactly_once: bool = True, group_id: str = GROUP_ID):
        """``group_id`` names the Connect cluster; its config, offset and status topics are
        ``<group_id>-configs|offsets|status``, so two groups on one Kafka stay apart."""
        self.workdir = Path(workdir)
        self.group_id = group_id
        self.bootstrap_servers = bootstrap_servers
        self.port = port
        self.host = host
        self.heap = heap
        self.exactly_once = exactly_once

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
        progress.step(f"waiting for the Connect REST API at {self.url}/connectors")
        self._wait_ready(lambda: rest_answers(self.url), timeout, self.log_path)
        return self


# --- the REST API ------------------------------------------------------------------

def rest_answers(url: str) -> bool:
    try:
        return isinstance(request(f"{url}/connectors", timeout=2), list)
    except (OSError, HttpError, ValueError):
        return False


def put_connector(url: str, name: str, config: dict[str, str]) -> bool:
    """Create or update a connector; Connect validates the config first. True if it did.

    An unchanged config is left alone: Connect restarts a connector and its tasks on every
    PUT, and ``stack up`` on a running stack should not interrupt the bridge."""
    try:
        current = request(f"{url}/connectors/{name}/config")
    except HttpError as exc:
        if exc.status != 404:
            raise
        current = None
    if current == {**config, "name": name}:
        return False
    request(f"{url}/connectors/{name}/config", "PUT", config)
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


def wait_running(url: str, name: str, timeout: float = 120, restarts: int = 3) -> dict:
    """Wait until the connector and all its tasks are RUNNING.

    A FAILED connector or task is restarted up to ``restarts`` times before this gives up
    with its trace: right after a config change a worker may still show a task that ran
    (and failed) with the old config — say, a broker port from an earlier ``stack up``.
    """
    progress.step(f"waiting for connector {name!r} and its tasks to run")
    deadline = time.monotonic() + timeout
    status: dict = {}
    while time.monotonic() < deadline:
        try:
            status = connector_status(url, name)
        except (OSError, HttpError):
            time.sleep(0.5)
            continue
        parts = [status["connector"], *status.get("tasks", [])]
        failed = [part for part in parts if part["state"] == "FAILED"]
        if failed and restarts > 0:
            restarts -= 1
            progress.step(f"connector {name!r} has failed parts; restarting them")
            request(f"{url}/connectors/{name}/restart?includeTasks=true&onlyFailed=true", "POST")
            time.sleep(2)
            continue
        if failed:
            trace = (failed[0].get("trace") or "").strip().splitlines()
            raise UserError(f"connector {name!r} failed: {trace[0] if trace else 'no trace'}")
        if status.get("tasks") and all(part["state"] == "RUNNING" for part in parts):
            return status
        time.sleep(0.5)
    raise UserError(f"connector {name!r} did not reach RUNNING within {timeout:g}s (last status: {status})")
