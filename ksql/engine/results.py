"""What a statement did: one small dataclass per kind of result, matched by type.

``Engine.run`` and ``Engine.execute`` return them; the server adds its own for the
statements it handles itself (connectors, topics) and shapes each as ksqlDB's REST API
does. Listings keep ksqlDB's REST shapes (lists of dicts), since that is what they are for.
"""

from __future__ import annotations

from dataclasses import dataclass

from socksort.ksql.engine.catalog import Query, Source
from socksort.ksql.engine.records import Record
from socksort.ksql.sql import ast


@dataclass(frozen=True)
class StatementResult:
    """Base of every statement's result."""


@dataclass(frozen=True)
class SourceCreated(StatementResult):
    """CREATE STREAM/TABLE (IF NOT EXISTS of an existing one gives the existing source)."""
    source: Source


@dataclass(frozen=True)
class QueryCreated(StatementResult):
    """CREATE STREAM/TABLE ... AS SELECT: the sink and the persistent query writing it."""
    source: Source
    query: Query


@dataclass(frozen=True)
class SourceDropped(StatementResult):
    """DROP STREAM/TABLE; ``source`` is None when IF EXISTS found nothing to drop."""
    name: str
    source: Source | None = None
    delete_topic: bool = False


@dataclass(frozen=True)
class QueriesTerminated(StatementResult):
    """TERMINATE id / TERMINATE ALL."""
    query_ids: tuple[str, ...]


@dataclass(frozen=True)
class SourcesListed(StatementResult):
    """SHOW STREAMS / SHOW TABLES: ``kind`` "STREAM" or "TABLE", rows in the REST shape."""
    kind: str
    rows: list[dict]


@dataclass(frozen=True)
class SourcesDescribed(StatementResult):
    """SHOW STREAMS/TABLES EXTENDED: each source's REST ``sourceDescription``."""
    descriptions: list[dict]


@dataclass(frozen=True)
class SourceDescribed(StatementResult):
    """DESCRIBE name [EXTENDED]."""
    source: Source
    description: dict


@dataclass(frozen=True)
class QueriesListed(StatementResult):
    """SHOW QUERIES, rows in the REST shape."""
    rows: list[dict]


@dataclass(frozen=True)
class PropertiesListed(StatementResult):
    """SHOW PROPERTIES: the properties in effect (the engine's, with the statement's own
    over them) and the names the statement's own changed (ksqlDB's overwrittenProperties)."""
    properties: dict[str, str]
    overwritten: tuple[str, ...] = ()


@dataclass(frozen=True)
class PropertySet(StatementResult):
    """SET 'name' = 'value'; ``value`` None for UNSET."""
    name: str
    value: str | None


@dataclass(frozen=True)
class ValuesInserted(StatementResult):
    """INSERT INTO ... VALUES (or one /inserts-stream row): the record to write, decoded
    and as (key bytes, value bytes). Nothing is processed until it comes back from Kafka."""
    source: Source
    record: Record
    wire: tuple


@dataclass(frozen=True)
class SelectNotRun(StatementResult):
    """A SELECT given to run()/execute(): queries run through pull() and push()."""
    select: ast.Select


@dataclass(frozen=True)
class ServerStatement(StatementResult):
    """A statement the server handles, as it owns Kafka and Connect (SHOW TOPICS, PRINT,
    connectors): parsed, not run."""
    statement: object
