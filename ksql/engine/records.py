"""Dataclasses that cross the engine's boundary: records in and out, log entries, push rows."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from socksort.ksql.engine.formats import Window

__all__ = ["Record", "Window", "ProcessingLogEntry", "PushRow"]


@dataclass(slots=True)
class Record:
    topic: str
    key: object = None
    value: object = None
    timestamp: int = 0
    window: Window | None = None
    partition: int | None = None
    offset: int | None = None
    # Inside one process() call, a record a query wrote also carries that query's column
    # values, so the queries reading its topic need not look them up in the decoded key and
    # value again. Set by the engine only, and cleared before process() returns.
    columns: tuple | None = field(default=None, init=False, repr=False, compare=False)


# The processing-log record's `message` struct as ksqlDB writes it (JSON field names), and
# the stream ksqlDB declares over the log topic (ksql.logging.processing.stream.auto.create).
MESSAGE_FIELDS = ("type", "deserializationError", "recordProcessingError", "productionError",
                  "serializationError", "kafkaStreamsThreadError")


def processing_log_stream_sql(name: str, topic: str) -> str:
    return (f"CREATE STREAM IF NOT EXISTS {name} (LOGGER STRING, LEVEL STRING, `TIME` BIGINT, "
            "MESSAGE STRUCT<type INTEGER, "
            "deserializationError STRUCT<target STRING, errorMessage STRING, recordB64 STRING, "
            "cause ARRAY<STRING>, `topic` STRING>, "
            "recordProcessingError STRUCT<errorMessage STRING, record STRING, "
            "cause ARRAY<STRING>>, "
            "productionError STRUCT<errorMessage STRING>, "
            "serializationError STRUCT<target STRING, errorMessage STRING, record STRING, "
            "cause ARRAY<STRING>, `topic` STRING>, "
            "kafkaStreamsThreadError STRUCT<errorMessage STRING, threadName STRING, "
            "cause ARRAY<STRING>>>) "
            f"WITH (KAFKA_TOPIC='{topic}', VALUE_FORMAT='JSON');")


@dataclass(frozen=True)
class ProcessingLogEntry:
    query_id: str
    topic: str
    partition: int | None
    offset: int | None
    message: str
    record_text: str
    # "key"/"value" (not readable), "timestamp", "processing" (the query failed on it),
    # "expression" (an expression failed and yielded null; the record went on)
    target: str = "value"
    raw: bytes | None = None        # the undecodable bytes, when the record arrived as bytes

    def to_ksql(self, time_ms: int) -> dict:
        """The record ksqlDB writes to its processing-log topic for this entry."""
        # ksqlDB serialises the whole message struct: the error kinds not filled are null.
        message = dict.fromkeys(MESSAGE_FIELDS)
        if self.target in ("timestamp", "processing", "expression"):
            message.update(type=1, recordProcessingError={
                "errorMessage": self.message, "record": self.record_text, "cause": []})
        else:
            message.update(type=0, deserializationError={
                "target": self.target, "errorMessage": self.message,
                "recordB64": None if self.raw is None else base64.b64encode(self.raw).decode(),
                "cause": [], "topic": self.topic})
        return {"level": "ERROR", "logger": f"processing.{self.query_id}", "time": time_ms,
                "message": message}


@dataclass(frozen=True)
class PushRow:
    columns: list
    tombstone: bool = False
