"""Run a case in-process: execute the statements, feed the input records, collect outputs.

Mirrors ksqlDB's test executor (conformance README, "How a runner should execute a case"):
each record is processed to completion, and what a query writes is fed on to the queries
that read its topic before the next input record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from socksort.ksql.engine import Engine
from socksort.ksql.errors import KsqlError
from socksort.ksql.parser import split_statements
from socksort.ksql.records import Record, Window


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


def run(statements_text: str, inputs: list[dict], engine: Engine | None = None) -> CaseRun:
    """Execute ``statements_text`` statement by statement, then feed ``inputs``."""
    engine = engine or Engine()
    result = CaseRun()
    statements = [s for s in split_statements(statements_text) if s.strip().rstrip(";").strip()]
    result.statement_count = len(statements)
    for i, text in enumerate(statements):
        try:
            engine.execute(text)
        except KsqlError as exc:
            result.error = exc
            result.failed_statement = i
            return result
    result.sink_topics = {q.sink_topic for q in engine.queries()}
    for obj in inputs:
        for produced in engine.process(record_from_json(obj)):
            result.outputs.append(record_to_json(produced))
    return result


def load_case(statements: Path, inputs: Path) -> tuple[str, list]:
    text = Path(statements).read_text()
    data = json.loads(Path(inputs).read_text())
    return text, data.get("inputs", [])
