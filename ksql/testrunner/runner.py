"""Run a case in-process: execute the statements, feed the input records, collect outputs.

Mirrors ksqlDB's test executor (conformance README, "How a runner should execute a case"):
each record is processed to completion, and what a query writes is fed on to the queries
that read its topic before the next input record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from socksort.ksql.engine import Engine, formats
from socksort.ksql.engine.records import Record, Window
from socksort.ksql.sql import types
from socksort.ksql.sql.errors import KsqlError
from socksort.ksql.sql.parser import split_statements


@dataclass
class CaseRun:
    outputs: list = field(default_factory=list)       # records as output.json dicts
    error: KsqlError | None = None                    # the statement that failed, if any
    failed_statement: int | None = None               # its index among the statements
    statement_count: int = 0
    sink_topics: set = field(default_factory=set)


def expected_error(statements_text: str) -> tuple[str | None, str | None]:
    """The `--@expected.error:` class and `--@expected.message:` text of a case, if any."""
    cls = message = None
    for line in statements_text.splitlines():
        line = line.strip()
        if line.startswith("--@expected.error:"):
            cls = line.split(":", 1)[1].strip()
        elif line.startswith("--@expected.message:"):
            message = line.split(":", 1)[1].strip()
    return cls, message


def record_from_json(obj: dict) -> Record:
    window = obj.get("window")
    return Record(topic=obj["topic"], key=obj.get("key"), value=obj.get("value"),
                  timestamp=obj.get("timestamp", 0) or 0,
                  window=None if window is None else Window(window["start"], window["end"],
                                                            window.get("type", "time")))


def record_to_json(record: Record) -> dict:
    out = {"topic": record.topic, "key": record.key, "value": record.value,
           "timestamp": record.timestamp}
    if record.window is not None:
        out["window"] = {"start": record.window.start, "end": record.window.end,
                         "type": record.window.kind}
    return out


def to_wire(record: Record, engine: Engine) -> Record:
    """The record as Kafka would carry it: key and value bytes in the formats of the source
    declared over its topic, the window inside the key (as a server consuming it sees it)."""
    sources = [s for s in engine.sources() if s.topic == record.topic and s.written_by is None]
    if not sources:
        return record
    source = sources[0]
    keys = source.key_columns
    key = record.key
    if keys and key is not None and source.key_format == formats.KAFKA:
        try:
            key = types.coercer(keys[0].type)(key)
        except types.CoercionError:
            pass
    key_bytes = None
    if key is not None or record.window is not None:
        key_bytes = formats.serialize_key(source.key_format if keys else formats.KAFKA,
                                          [c.type for c in keys], key, record.window)
    value = formats.serialize_value(source.value_format, record.value)
    if isinstance(record.value, str) and source.value_format == formats.JSON:
        value = record.value.encode("utf-8")
    return Record(record.topic, key_bytes, value, record.timestamp, None)


def run(statements_text: str, inputs: list[dict], engine: Engine | None = None,
        wire: bool = False) -> CaseRun:
    """Execute ``statements_text`` statement by statement, then feed ``inputs``.

    ``wire=True`` feeds every input as bytes (see :func:`to_wire`), the server's path.
    """
    engine = engine or Engine()
    result = CaseRun()
    statements = [s for s in split_statements(statements_text) if s.strip().rstrip(";").strip()]
    result.statement_count = len(statements)
    for i, (text, line) in enumerate(zip(statements, _block_lines(statements))):
        try:
            # ksqlDB's test executor parses the case's statements joined by newlines, so
            # positions in its messages count lines from the first one; the leading SETs
            # are the case's properties, not statements.
            engine.execute("\n" * line + text)
        except KsqlError as exc:
            result.error = exc
            result.failed_statement = i
            return result
    result.sink_topics = {q.sink_topic for q in engine.queries()}
    for obj in inputs:
        record = record_from_json(obj)
        if wire:
            record = to_wire(record, engine)
        for produced in engine.process(record):
            if wire:
                # Through the bytes a consumer of the sink topic would read.
                produced = engine.deserialize(produced.topic, *engine.serialize(produced),
                                              timestamp=produced.timestamp)
            result.outputs.append(record_to_json(produced))
    return result


def _block_lines(statements: list[str]) -> list[int]:
    """For each statement, how many lines of statements come before it (SETs before the
    first other statement count as none)."""
    lines, seen, started = [], 0, False
    for text in statements:
        started = started or not text.lstrip().upper().startswith("SET ")
        lines.append(seen if started else 0)
        if started:
            seen += text.strip().count("\n") + 1
    return lines


def load_case(statements: Path, inputs: Path) -> tuple[str, list]:
    text = Path(statements).read_text()
    data = json.loads(Path(inputs).read_text())
    return text, data.get("inputs", [])
