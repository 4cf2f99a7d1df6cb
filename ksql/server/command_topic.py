"""The command topic: every statement that changed the server's state, in order.

As in ksqlDB, the server keeps its statements in a Kafka topic and replays them at start.
Each command also records *where in the input data* it ran, so a restart can interleave
commands and data exactly as they happened: a query created after 1 000 frames sees frame
1 001 onwards again, not the first 1 000 (ksqlDB's default ``auto.offset.reset=latest``).

Three things say where: ``position``, the next offset of every partition the persistent
queries read just before the command ran (the replay runs it once it has read that far);
``starts``, the offset from which each input the command added is read; and ``topic_ids``,
the Kafka topic id of each topic named, because a topic deleted and created again under
the same name starts its offsets from 0 with other records in them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from socksort.ksql import kafka_io

COMMAND_TOPIC = "_socksort_ksql_command_topic"


@dataclass(frozen=True)
class Command:
    statement: str
    properties: dict = field(default_factory=dict)
    # "topic/partition" -> the next offset to process of the inputs read before it ran
    position: dict = field(default_factory=dict)
    # "topic/partition" -> where the inputs it added are read from
    starts: dict = field(default_factory=dict)
    # topic -> Kafka topic id, for every topic in position and starts
    topic_ids: dict = field(default_factory=dict)

    def to_json(self) -> bytes:
        return json.dumps({"statement": self.statement, "properties": self.properties,
                           "position": self.position, "starts": self.starts,
                           "topic_ids": self.topic_ids}).encode()

    @classmethod
    def from_json(cls, data: bytes) -> "Command":
        obj = json.loads(data)
        position = obj.get("position", {})
        # Commands written before "starts" existed kept one map, taken after the statement
        # ran: the added inputs' starts are in it (with stale entries the replay skips).
        return cls(obj["statement"], obj.get("properties", {}), position,
                   obj.get("starts", position), obj.get("topic_ids", {}))


def position_key(topic: str, partition: int) -> str:
    return f"{topic}/{partition}"


def partition_of(key: str) -> tuple[str, int]:
    """The (topic, partition) a position key names (topic names may contain '/')."""
    topic, _, partition = key.rpartition("/")
    return topic, int(partition)


class CommandLog:
    """Appends commands with acknowledged delivery and reads them all back."""

    def __init__(self, bootstrap: str, topic: str = COMMAND_TOPIC):
        self.bootstrap = bootstrap
        self.topic = topic
        self._producer: kafka_io.Producer | None = None

    def ensure(self) -> None:
        kafka_io.create_topics(kafka_io.admin(self.bootstrap), {self.topic: 1})

    def load(self) -> list[Command]:
        return [Command.from_json(m.value) for m in kafka_io.read_topic(self.bootstrap, self.topic)
                if m.value is not None]

    def append(self, command: Command) -> None:
        if self._producer is None:
            self._producer = kafka_io.Producer(self.bootstrap, linger_ms=0)
        self._producer.produce(self.topic, None, command.to_json(), None)
        self._producer.flush()
