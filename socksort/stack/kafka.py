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
import uuid
from dataclasses import dataclass
from pathlib import Path

from socksort import progress
from socksort.errors import UserError
from socksort.stack import jvm, processes

# confluent-kafka (0.2 s to import with its admin client) is imported where a broker is asked.


@dataclass(eq=False)
class Kafka(processes.Launcher):
    workdir: Path
    port: int = 9092
    controller_port: int = 9093
    host: str = "127.0.0.1"
    heap: str = jvm.DEFAULT_HEAP

    what = "Kafka"
    stop_timeout = 30.0

    def __post_init__(self):
        self.workdir = Path(self.workdir)

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

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
        self._spawn(jvm.command("kafka.Kafka", str(config), heap=self.heap, log_config=log_config),
                    self.workdir / "kafka.out")
        progress.step(f"waiting for Kafka broker metadata from {self.bootstrap_servers}")
        self._wait_ready(lambda: broker_answers(self.bootstrap_servers), timeout, self.log_path)
        return self

    def _format(self, config: Path) -> None:
        cluster_id = new_cluster_id()
        progress.step(f"formatting KRaft storage in {self.data_dir} (cluster {cluster_id})")
        result = subprocess.run(
            jvm.command("kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config),
                        heap="256m"),
            capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise UserError(f"formatting Kafka storage in {self.data_dir} failed: "
                            f"{(result.stderr or result.stdout).strip().splitlines()[-1:]}")


def new_cluster_id() -> str:
    """A random KRaft cluster id: 16 bytes, URL-safe base64 without padding — and, like
    Kafka's own Uuid.randomUuid, never starting with '-', which the storage tool's
    argument parser would take for an option."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


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


def ensure_topic(bootstrap_servers: str, name: str, partitions: int, timeout: float = 30.0) -> int:
    """Create ``name`` with ``partitions`` partitions, or grow it to that many (Kafka cannot
    shrink a topic: one with more keeps them); returns the count it has."""
    from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap_servers, "log_level": 0, "logger": _silent})
    topic = admin.list_topics(timeout=timeout).topics.get(name)
    if topic is None:
        futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)],
                                      operation_timeout=timeout)
    elif len(topic.partitions) < partitions:
        futures = admin.create_partitions([NewPartitions(name, partitions)], operation_timeout=timeout)
    else:
        return len(topic.partitions)
    for future in futures.values():
        try:
            future.result(timeout)
        except Exception as exc:  # KafkaException; a racing creator already did it
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise UserError(f"cannot create Kafka topic {name} with {partitions} partitions: {exc}") from None
    return partitions


class _Silent:
    def log(self, *args, **kwargs) -> None:
        pass


_silent = _Silent()
