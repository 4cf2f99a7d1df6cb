"""Dataclasses that cross the engine's boundary: records in and out, log entries, push rows."""

from __future__ import annotations

from dataclasses import dataclass

from socksort.ksql.formats import Window

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


@dataclass(frozen=True)
class ProcessingLogEntry:
    query_id: str
    topic: str
    partition: int | None
    offset: int | None
    message: str
    record_text: str


@dataclass(frozen=True)
class PushRow:
    columns: list
    tombstone: bool = False
