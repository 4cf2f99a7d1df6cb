"""The command topic: every statement that changed the server's state, in order.

As in ksqlDB, the server keeps its statements in a Kafka topic and replays them at start.
Each command also records *where in the input data* it ran (the next offset of every
input partition at that moment), so a restart can interleave commands and data exactly as
they happened: a query created after 1 000 frames sees frame 1 001 onwards again, not the
first 1 000 (ksqlDB's default ``auto.offset.reset=latest``).
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
    # "topic/partition" -> the next input offset when the command ran
    position: dict = field(default_factory=dict)
    # source topics it read from the beginning when it ran (auto.offset.reset=earliest)
    caught_up: dict = field(default_factory=dict)

    def to_json(self) -> bytes:
        return json.dumps({"statement": self.statement, "properties": self.properties,
                           "position": self.position, "caught_up": self.caught_up}).encode()

    @classmethod
    def from_json(cls, data: bytes) -> "Command":
        obj = json.loads(data)
        return cls(obj["statement"], obj.get("properties", {}), obj.get("position", {}),
                   obj.get("caught_up", {}))


def position_key(topic: str, partition: int) -> str:
    return f"{topic}/{partition}"


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
