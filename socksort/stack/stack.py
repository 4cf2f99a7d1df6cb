"""The local streaming stack: Mosquitto → Kafka → Connect (with our connector) → ksql engine.

``up`` starts, in order, each service that is not already running from an earlier
``up``, waits until it really answers, and records it: ``<home>/stack.json`` holds the
ports and endpoints, ``<home>/<service>/pid.json`` the identity of each process we
started. ``down`` stops exactly those processes (a pid whose start time no longer
matches is someone else's and is left alone). ``status`` reads the records and probes
each endpoint. Adding a service is one :class:`Service` entry in :meth:`Stack.services`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from socksort import atomic, contract, progress
from socksort.connect import connector
from socksort.connect.registration import Failure, connector_status, failures, put_connector, wait_running
from socksort.errors import UserError
from socksort.net import HttpError
from socksort.stack import processes
from socksort.stack.kafka import Kafka, broker_answers, ensure_topic
from socksort.stack.ksql_server import KsqlServer, http_answers, ksql_engine_available
from socksort.stack.mosquitto import Mosquitto
from socksort.stack.worker import ConnectWorker, rest_answers, wait_healthy, worker_health

STATE_FILE = "stack.json"


@dataclass(frozen=True)
class Ports:
    mqtt: int = contract.PORTS["mqtt"]
    kafka: int = contract.PORTS["kafka"]
    controller: int = contract.PORTS["kafka_controller"]
    connect: int = contract.PORTS["connect"]
    ksql: int = contract.PORTS["ksql"]


@dataclass
class Service:
    """One process of the stack: how to start it, where it answers, and how to ask."""

    name: str
    launcher: object            # has start(), stop(), pid
    endpoint_key: str           # the status field naming its endpoint
    endpoint: str
    port: int
    answers: Callable[[], bool]
    after_start: Callable[[], None] | None = None
    details: Callable[[], dict] | None = None   # more status fields while it runs and answers


class Stack:
    def __init__(self, home: Path, ports: Ports = Ports(), host: str = "127.0.0.1",
                 with_ksql: bool | None = None, exactly_once: bool = True, die_with_parent: bool = False,
                 frame_partitions: int = contract.FRAME_PARTITIONS):
        """``die_with_parent``: the services end when this process ends (for tests); ``stack
        up`` leaves it off, its services outlive the command. ``frame_partitions``: how many
        partitions ``camera_frames`` gets, the most inference workers that can share it."""
        self.home = Path(home)
        self.frame_partitions = frame_partitions
        self.ports = ports
        self.host = host
        self.with_ksql = ksql_engine_available() if with_ksql is None else with_ksql
        self.mosquitto = Mosquitto(self.home / "mosquitto", port=ports.mqtt, host=host)
        self.kafka = Kafka(self.home / "kafka", port=ports.kafka, controller_port=ports.controller, host=host)
        self.connect = ConnectWorker(self.home / "connect", self.kafka.bootstrap_servers, port=ports.connect,
                                     host=host, exactly_once=exactly_once)
        self.ksql = KsqlServer(self.home / "ksql", self.kafka.bootstrap_servers, ports.ksql, self.connect.url,
                               host=host) if self.with_ksql else None
        for launcher in (self.mosquitto, self.kafka, self.connect, self.ksql):
            if launcher is not None:
                launcher.die_with_parent = die_with_parent

    # --- what others connect to -----------------------------------------------------------

    @property
    def mqtt_url(self) -> str:
        return self.mosquitto.url

    @property
    def bootstrap_servers(self) -> str:
        return self.kafka.bootstrap_servers

    @property
    def connect_url(self) -> str:
        return self.connect.url

    @property
    def ksql_url(self) -> str | None:
        return self.ksql.url if self.ksql else None

    def services(self) -> list[Service]:
        m = self.mosquitto
        services = [
            Service("mosquitto", m, "mqtt_url", m.url, m.port, m.answers),
            Service("kafka", self.kafka, "bootstrap_servers", self.bootstrap_servers, self.ports.kafka,
                    lambda: broker_answers(self.bootstrap_servers), after_start=self.create_topics),
            Service("connect", self.connect, "connect_url", self.connect_url, self.ports.connect,
                    lambda: rest_answers(self.connect_url), after_start=self.register_connector,
                    details=self._connect_details),
        ]
        if self.ksql is not None:
            # after_start: an engine already running may still be rebuilding its state.
            services.append(Service("ksql", self.ksql, "ksql_url", self.ksql.url, self.ports.ksql,
                                    lambda: http_answers(f"{self.ksql.url}/info"),
                                    after_start=self.ksql.wait_rebuilt))
        return services

    # --- commands ---------------------------------------------------------------------------

    def up(self) -> dict:
        """Start what is not running; return the status. Stops what it started if a later step fails."""
        self.home.mkdir(parents=True, exist_ok=True)
        started: list[Service] = []
        try:
            for service in self.services():
                recorded = processes.read_pid_file(self._pid_file(service.name))
                if recorded is not None and recorded.alive() and service.answers():
                    progress.step(f"{service.name} already running (pid {recorded.pid})")
                else:
                    try:
                        service.launcher.start()
                    finally:
                        if service.launcher.pid is not None:
                            processes.write_pid_file(self._pid_file(service.name), service.launcher.pid)
                            started.append(service)
                if service.after_start is not None:
                    service.after_start()
                self._save_state()
        except processes.StillStarting:
            # Alive, answering and maybe recovering: stopping it (or what it needs) would only
            # start the recovery over. It stays recorded, so status and down know it.
            self._save_state()
            raise
        except BaseException:
            for service in reversed(started):
                progress.step(f"stopping {service.name} again")
                service.launcher.stop()
                self._pid_file(service.name).unlink(missing_ok=True)
            raise
        return self.status()

    def create_topics(self) -> None:
        """The topics of the thin cameras and their workers (issue 17)."""
        progress.step(f"topic {contract.CAMERA_FRAMES} with {self.frame_partitions} partitions")
        ensure_topic(self.bootstrap_servers, contract.CAMERA_FRAMES, self.frame_partitions)
        ensure_topic(self.bootstrap_servers, contract.WORKER_ERRORS_TOPIC, 1)

    def register_connector(self) -> None:
        """PUT our MQTT source (idempotent), the password through the FileConfigProvider."""
        reference = connector.write_secrets(self.home / "connect" / "secrets.properties",
                                            self.mosquitto.password)
        config = connector.mqtt_source_config(self.host, self.ports.mqtt, self.mosquitto.username, reference)
        # A worker that was already running may still be recovering from a crash; asking it
        # about a connector before it is healthy would hang.
        wait_healthy(self.connect_url, alive=lambda: self._alive("connect"), log_path=self.connect.log_path)
        progress.step(f"registering connector {connector.NAME!r} (MQTT {contract.MQTT_TOPIC} → "
                      f"Kafka {contract.KAFKA_TOPIC})")
        try:
            put_connector(self.connect_url, connector.NAME, config)
        except (OSError, HttpError) as exc:
            raise UserError(f"registering connector {connector.NAME!r} at {self.connect_url} failed: {exc}; "
                            f"log: {self.connect.log_path}") from None
        wait_running(self.connect_url, connector.NAME)

    def down(self) -> list[str]:
        """Stop the processes ``up`` started, last first; return the names of those stopped."""
        stopped = []
        for service in reversed(self.services()):
            pid_file = self._pid_file(service.name)
            recorded = processes.read_pid_file(pid_file)
            if recorded is None:
                continue
            if recorded.alive():
                progress.step(f"stopping {service.name} (pid {recorded.pid})")
                if service.launcher.pid == recorded.pid:
                    service.launcher.stop()
                else:
                    processes.stop(recorded.pid, timeout=30)
                stopped.append(service.name)
            pid_file.unlink(missing_ok=True)
        return stopped

    def running(self) -> list[str]:
        """Names of the services whose recorded process (ours) is alive."""
        return [service.name for service in self.services() if self._alive(service.name)]

    def _alive(self, name: str) -> bool:
        recorded = processes.read_pid_file(self._pid_file(name))
        return recorded is not None and recorded.alive()

    def status(self) -> dict:
        report = {}
        for service in self.services():
            recorded = processes.read_pid_file(self._pid_file(service.name))
            ours = recorded is not None and recorded.alive()
            entry: dict = {"state": "stopped", "pid": None, service.endpoint_key: service.endpoint}
            if ours:
                entry["pid"] = recorded.pid
                entry["state"] = "running" if service.answers() else "unresponsive"
                if service.details is not None and entry["state"] == "running":
                    entry.update(service.details())
            else:
                holder = processes.port_holder(service.port)
                if holder is not None:
                    entry["note"] = f"port {service.port} is held by {holder}, not by this stack"
            report[service.name] = entry
        return report

    def _connect_details(self) -> dict:
        """The worker's health and, once it is healthy, our connector's state."""
        health = worker_health(self.connect_url)
        if health.status != "healthy":
            return {"worker": health.status, "worker_step": health.step,
                    "connector": {"name": connector.NAME, "state": "unknown"}}
        return {"worker": health.status, "connector": self._connector_state()}

    def _connector_state(self) -> dict:
        """Our MQTT source's state and its tasks' (``missing`` if it is not registered), and
        ``failures`` — each FAILED part with its trace's first line and innermost cause — when
        there are any."""
        try:
            status = connector_status(self.connect_url, connector.NAME)
        except HttpError as exc:
            return {"name": connector.NAME, "state": "missing" if exc.status == 404 else f"error: {exc}"}
        except OSError as exc:
            return {"name": connector.NAME, "state": f"error: {exc}"}
        state = {"name": connector.NAME, "state": status["connector"]["state"],
                 "tasks": [task["state"] for task in status.get("tasks", [])]}
        failed = failures(status)
        if failed:
            state["failures"] = [asdict(failure) for failure in failed]
        return state

    # --- records ------------------------------------------------------------------------------

    def _pid_file(self, name: str) -> Path:
        return self.home / name / "pid.json"

    def _save_state(self) -> None:
        atomic.write_json(self.home / STATE_FILE, {
            "host": self.host,
            "ports": vars(self.ports),
            "ksql": self.with_ksql,
        })


def problems(report: dict) -> list[str]:
    """One line per thing wrong in a status report: a service not running, a Connect worker
    not healthy, a connector or task FAILED (with its trace's first line)."""
    found = []
    for name, entry in report.items():
        if entry["state"] != "running":
            found.append(f"{name} is {entry['state']}")
            continue
        if entry.get("worker") not in (None, "healthy"):
            found.append(f"the Connect worker is {entry['worker']}: {entry.get('worker_step', '')}".rstrip(": "))
        connector_state = entry.get("connector") or {}
        for failure in connector_state.get("failures", []):
            found.append(f"connector {connector_state['name']!r} {Failure(**failure)}")
    return found


def for_up(home: Path, ports: Ports, frame_partitions: int = contract.FRAME_PARTITIONS) -> Stack:
    """The stack ``up`` should bring up: the requested ports, unless part of the stack is
    already running from an earlier ``up`` — then that one's ports, so nothing runs twice."""
    recorded = load(home)
    if recorded.ports != ports and recorded.running():
        progress.step(f"{', '.join(recorded.running())} already running with the ports of the last "
                      f"`stack up` ({vars(recorded.ports)}); keeping those (run `socksort stack down` "
                      "to change ports)")
        recorded.frame_partitions = frame_partitions
        return recorded
    return Stack(home, ports, frame_partitions=frame_partitions)


def load(home: Path, ports: Ports = Ports()) -> Stack:
    """The stack as the last ``up`` in ``home`` configured it (``ports`` if there was none)."""
    try:
        state = json.loads((Path(home) / STATE_FILE).read_text())
    except FileNotFoundError:
        return Stack(home, ports)
    except ValueError as exc:
        raise UserError(f"{Path(home) / STATE_FILE} is not valid JSON ({exc}); remove it and run stack up") from None
    return Stack(home, Ports(**state["ports"]), host=state["host"], with_ksql=state["ksql"])
