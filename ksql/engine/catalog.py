"""What the engine knows about: sources (streams/tables over topics) and running queries."""

from __future__ import annotations

from dataclasses import dataclass, field



@dataclass(frozen=True)
class Column:
    name: str
    type: str
    key: bool = False


@dataclass
class Source:
    name: str
    kind: str                          # STREAM or TABLE
    topic: str
    key_format: str                    # KAFKA, JSON or NONE (keyless)
    value_format: str                  # JSON or DELIMITED
    columns: list                      # list[Column], key columns first
    window_kind: str | None = None     # TUMBLING, HOPPING, SESSION for windowed keys
    window_size: int | None = None     # ms, time windows only
    timestamp_column: str | None = None
    partitions: int | None = None
    statement_text: str = ""
    written_by: str | None = None      # id of the query that writes it, if any
    properties: dict = field(default_factory=dict)

    @property
    def key_columns(self) -> list:
        return [c for c in self.columns if c.key]

    @property
    def value_columns(self) -> list:
        return [c for c in self.columns if not c.key]

    @property
    def sink_key_format(self) -> str:
        """Key format a query over this source writes by default (keyless: the declared one)."""
        if self.key_format != "NONE":
            return self.key_format
        declared = self.properties.get("KEY_FORMAT") or self.properties.get("FORMAT") or "KAFKA"
        return "JSON" if declared.upper() == "JSON" else "KAFKA"

    @property
    def windowed(self) -> bool:
        return self.window_kind is not None

    @property
    def window_type(self) -> str | None:
        """"session" or "time", as in Record.window.kind."""
        if self.window_kind is None:
            return None
        return "session" if self.window_kind == "SESSION" else "time"


@dataclass
class Query:
    id: str
    sink: str | None                   # None for transient queries
    sink_topic: str | None
    source_names: list
    source_topics: list
    statement_text: str
    operator: object                   # operators.* instance with process(record)
    state: str = "RUNNING"
    # Messages of expression errors raised while processing the current record; the
    # engine writes them to the processing log after each record and empties the list.
    failures: list = field(default_factory=list, repr=False, compare=False)
