"""Apache Kafka as one KRaft node (broker and controller in one JVM), started by us.

The storage under ``workdir/data`` is formatted once with a cluster id of our own
making; later starts reuse it, so topics and Connect's offsets survive ``stack down`` /
``stack up``. :meth:`Kafka.start` returns once the broker answers a metadata request.
Replication factors are 1 everywhere (one broker), including the transaction state log
that Connect's exactly-once source support writes to.
"""

from __future__ import annotations

import base64
import subprocess
import time
import uuid
from pathlib import Path

from socksort import progress
from socksort.connect import jvm, processes
from socksort.errors import UserError


class Kafka:
    def __init__(self, workdir: Path, port: int = 9092, controller_port: int = 9093,
                 host: str = "127.0.0.1", heap: str = jvm.DEFAULT_HEAP):
        self.workdir = Path(workdir)
        self.port = port
        self.controller_port = controller_port
        self.host = host
        self.heap = heap
        self._child: subprocess.Popen | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None and self._child.poll() is None else None

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def log_path(self) -> Path:
        return self.workdir / "kafka.log"

    def properties(self) -> dict[str, object]:
        return {
            "process.roles": "broker,controller",
            "node.id": 1,
            "controller.quorum.voters": f"1@{self.host}:{self.controller_port}",
            "listeners": f"PLAINTEXT://{self.host}:{self.port},CONTROLLER://{self.host}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": self.data_dir.resolve(),
            "num.partitions": 1,
            "default.replication.factor": 1,
            "offsets.topic.replication.factor": 1,
            "transaction.state.log.replication.factor": 1,
            "transaction.state.log.min.isr": 1,
            "share.coordinator.state.topic.replication.factor": 1,
            "share.coordinator.state.topic.min.isr": 1,
            "group.initial.rebalance.delay.ms": 0,
            "auto.create.topics.enable": "true",
            # Few threads: one broker on a shared two-core machine.
            "num.network.threads": 2,
            "num.io.threads": 2,
            "log.retention.hours": 168,
        }

    def start(self, timeout: float = 120) -> "Kafka":
        if self.pid is not None:
            return self
        processes.ensure_port_free(self.port, "Kafka", " or choose another port with --kafka-port")
        processes.ensure_port_free(self.controller_port, "the KRaft controller",
                                   " or choose another port with --controller-port")
        config = jvm.write_properties(self.workdir / "server.properties", self.properties())
        log_config = jvm.write_log_config(self.workdir / "log4j2.properties", self.log_path.resolve())
        if not (self.data_dir / "meta.properties").exists():
            self._format(config)
        progress.step(f"starting Kafka (KRaft) on {self.bootstrap_servers} (logs: {self.log_path})")
        self._child = processes.spawn(
            jvm.command("kafka.Kafka", str(config), heap=self.heap, log_config=log_config),
            self.workdir / "kafka.out")
        self._wait_ready(timeout)
        return self

    def stop(self) -> None:
        if self._child is not None:
            processes.stop(self._child.pid, timeout=30, child=self._child)
            self._child = None

    def __enter__(self) -> "Kafka":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _format(self, config: Path) -> None:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        progress.step(f"formatting KRaft storage in {self.data_dir} (cluster {cluster_id})")
        result = subprocess.run(
            jvm.command("kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config),
                        heap="256m"),
            capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise UserError(f"formatting Kafka storage in {self.data_dir} failed: "
                            f"{(result.stderr or result.stdout).strip().splitlines()[-1:]}")

    def _wait_ready(self, timeout: float) -> None:
        progress.step(f"waiting for Kafka broker metadata from {self.bootstrap_servers}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._child.poll() is not None:
                code = self._child.returncode
                self._child = None
                raise UserError(f"Kafka exited with status {code} while starting: "
                                f"{processes.log_tail(self.workdir / 'kafka.out')} (log: {self.log_path})")
            if broker_answers(self.bootstrap_servers):
                return
            time.sleep(0.5)
        self.stop()
        raise UserError(f"Kafka on {self.bootstrap_servers} did not answer within {timeout:g}s; "
                        f"log: {self.log_path}")


def broker_answers(bootstrap_servers: str, timeout: float = 2.0) -> bool:
    """True if a broker answers a metadata request (not merely accepts TCP)."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap_servers, "socket.timeout.ms": int(timeout * 1000),
                         "log_level": 0, "logger": _silent})
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException:
        return False
    return bool(metadata.brokers)


class _Silent:
    def log(self, *args, **kwargs) -> None:
        pass


_silent = _Silent()
