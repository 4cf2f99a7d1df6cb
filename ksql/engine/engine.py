"""The engine: a catalog of sources, the running queries, and statement execution.

See ENGINE.md for the contract. ``run`` runs one parsed statement (``execute`` parses
text and runs each statement of it); ``process`` feeds one record through every query
that reads its topic, depth first, with no buffering.
"""

from __future__ import annotations

import functools
import itertools
import threading
from dataclasses import dataclass
from typing import Callable, Mapping

from socksort.ksql.engine import ddl, formats, planner
from socksort.ksql.engine.catalog import Query, Source
from socksort.ksql.engine.operators import CallbackSink, TopicSink, log_entry, sql_record_text
from socksort.ksql.engine.records import ProcessingLogEntry, PushRow, Record, Window
from socksort.ksql.engine.results import (PropertiesListed, PropertySet, QueriesListed,
                                          QueriesTerminated, QueryCreated, SelectNotRun,
                                          ServerStatement, SourceCreated, SourceDescribed,
                                          SourceDropped, SourcesDescribed, SourcesListed,
                                          StatementResult, ValuesInserted)
from socksort.ksql.engine.transient import PullResult, PushQuery, run_pull
from socksort.ksql.sql import ast
from socksort.ksql.sql import types as T
from socksort.ksql.sql.errors import KsqlError, unsupported
from socksort.ksql.sql.parser import ParsedStatement, iter_parse, parse

__all__ = ["Engine", "Record", "Window", "KsqlError", "StatementResult", "PullResult",
           "PushQuery", "PushRow", "ProcessingLogEntry"]


@dataclass
class Stats:
    records_in: int = 0
    records_out: int = 0
    bad_records: int = 0
    errors: int = 0             # records a query failed on (an engine bug or a UDF raising)
    expression_errors: int = 0  # expressions that failed on a record and yielded null


def _locked(method):
    """Run a public Engine method under the engine's lock (server threads share one engine)."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self.lock:
            return method(self, *args, **kwargs)
    return wrapper


class Engine:
    def __init__(self, properties: dict | None = None,
                 processing_log: Callable[[ProcessingLogEntry], None] | None = None):
        self.properties: dict = dict(properties or {})
        self.processing_log = processing_log
        self.stats = Stats()
        self.lock = threading.RLock()
        self._sources: dict[str, Source] = {}
        self._queries: dict[str, Query] = {}
        # topic → ((query, its operator's process), ...); replaced, never mutated, so
        # process() can iterate it while a push callback starts or stops a query.
        self._by_topic: dict[str, tuple] = {}
        self._transient: list[Query] = []
        self._pushes: dict[str, PushQuery] = {}        # transient query id → its handle
        self._sinks: dict[str, TopicSink] = {}         # source name → sink of its query
        self._wire: dict = {}                          # topic → record → (key bytes, value bytes)
        self._query_numbers = itertools.count()
        self._transient_numbers = itertools.count()

    # --- statements ------------------------------------------------------------------

    @_locked
    def execute(self, sql_text: str) -> list[StatementResult]:
        """Parse and run every statement of ``sql_text`` in order, each parsed just before
        it runs. The first failing one (a syntax error included) raises its KsqlError;
        the statements before it have taken effect."""
        return [self.run(statement) for statement in iter_parse(sql_text)]

    @_locked
    def run(self, statement: ParsedStatement,
            properties: Mapping[str, str] | None = None) -> StatementResult:
        """Run one parsed statement. ``properties`` are the request's own (ksqlDB's
        streamsProperties): in effect for this statement, over the engine's, which they
        leave as they are."""
        try:
            return self._execute_one(statement.node, statement.text, properties or {})
        except KsqlError as exc:
            raise exc.in_statement(statement.text)

    @_locked
    def insert_row(self, target: str, row: dict) -> ValuesInserted:
        """One /inserts-stream row: what INSERT INTO target (its columns) VALUES (its
        values) inserts, each JSON value read as the SQL literal written the same way."""
        node = ddl.insert_of_row(target, row)
        record, wire = self._insert_values(node)
        return ValuesInserted(self._sources[node.target], record, wire)

    @_locked
    def drop_source(self, name: str) -> SourceDropped:
        """DROP STREAM/TABLE ``name`` (no DELETE TOPIC): the server takes back a CREATE
        whose topic does not exist."""
        source = self.source(name)
        self._check_unread(source, None)
        self._remove(source)
        return SourceDropped(source.name, source)

    def _execute_one(self, node, text: str, properties: Mapping[str, str]) -> StatementResult:
        if isinstance(node, ast.CreateSource):
            return SourceCreated(self._create_source(node, text))
        if isinstance(node, ast.CreateAsSelect):
            query = self._create_as_select(node, text)
            return QueryCreated(self._sources[query.sink], query)
        if isinstance(node, ast.Drop):
            return self._drop(node)
        if isinstance(node, ast.Terminate):
            return QueriesTerminated(self._terminate(node))
        if isinstance(node, ast.Show):
            return self._show(node, properties)
        if isinstance(node, ast.Describe) and node.what == "SOURCE":
            return SourceDescribed(self.source(node.name), self.describe(node.name, node.extended))
        if isinstance(node, ast.SetProperty):
            self.properties[node.name] = node.value
            return PropertySet(node.name, node.value)
        if isinstance(node, ast.UnsetProperty):
            self.properties.pop(node.name, None)
            return PropertySet(node.name, None)
        if isinstance(node, ast.InsertValues):
            record, wire = self._insert_values(node)
            return ValuesInserted(self._sources[node.target], record, wire)
        if isinstance(node, ast.QueryStatement):
            return SelectNotRun(node.select)
        return ServerStatement(node)

    def _create_source(self, node: ast.CreateSource, text: str) -> Source:
        existing = self._sources.get(node.name)
        if existing is not None and not node.or_replace:
            if node.if_not_exists:
                return existing
            raise KsqlError(f"Cannot add {node.kind.lower()} '{node.name}': A "
                            f"{existing.kind.lower()} with the same name already exists", *node.pos)
        source = ddl.source_from_statement(node, text)
        self._sources[node.name] = source
        self._wire.clear()
        return source

    def _insert_values(self, node: ast.InsertValues) -> tuple:
        source = self._sources.get(node.target)
        if source is None:
            raise KsqlError(f"Cannot insert values into an unknown stream/table: `{node.target}`",
                            *(node.pos or (None, None)))
        return ddl.insert_record(node, source)

    def _create_as_select(self, node: ast.CreateAsSelect, text: str) -> Query:
        props = {k.upper(): v for k, v in node.properties.items()}
        ddl.check_props(props, ddl.SINK_PROPS, node.pos)
        ddl.check_format_props(props, node.pos)
        existing = self._sources.get(node.name)
        if existing is not None and not node.or_replace:
            if node.if_not_exists:
                return self._queries[existing.written_by]
            raise KsqlError(f"Cannot add {node.kind.lower()} '{node.name}': A "
                            f"{existing.kind.lower()} with the same name already exists", *node.pos)
        if node.or_replace and existing is not None:
            raise unsupported("CREATE OR REPLACE of an existing query", node.pos)
        source = self._source_for(node.select)
        query_id = f"C{node.kind[0]}AS_{node.name}_{next(self._query_numbers)}"
        topic = props.get("KAFKA_TOPIC", node.name)
        if topic in self._topics_feeding(source.topic):
            raise unsupported(f"A query writing to topic '{topic}', which feeds its own source,",
                              node.pos)
        value_format = (props.get("VALUE_FORMAT") or props.get("FORMAT") or source.value_format).upper()
        if value_format not in formats.VALUE_FORMATS:
            raise unsupported(f"VALUE_FORMAT '{value_format}'", node.pos)
        ddl.check_delimiter(props, value_format, node.pos)
        made = {}

        def sink_factory(columns, window_type, window_kind, window_size, key_positions,
                         window_positions):
            keys = [c for c in columns if c.key]
            values = [c for c in columns if not c.key]
            key_format = (props.get("KEY_FORMAT") or props.get("FORMAT") or
                          source.sink_key_format).upper()
            ddl.check_key_format(key_format, keys, node.pos)
            ddl.check_value_format(value_format, values, node.pos)
            if not keys:
                key_format = formats.NONE
            made["key_format"] = key_format
            ts_from = None
            if "TIMESTAMP" in props:
                ts_from = ddl.sink_timestamp(props["TIMESTAMP"], keys, values, node.pos)
            key_names = [c.name for c in keys]
            value_names = [c.name for c in values]
            return TopicSink(topic, formats.key_output(key_format, key_names),
                             formats.value_encoder(value_format, value_names,
                                                   [c.type for c in values]),
                             window_type, ts_from, materialize=node.kind == "TABLE",
                             layout=formats.RowLayout(key_format, key_names, value_format,
                                                      value_names),
                             double_columns=[c.name for c in values if T.holds_double(c.type)])

        failures: list = []
        plan = planner.Planner(node.select, source, node.name, props, node.kind,
                               self._logger(query_id), failures.append).plan(sink_factory)
        if node.kind == "TABLE" and plan.kind == "STREAM":
            raise KsqlError("Invalid result type. Your SELECT query produces a STREAM. Please use "
                            "CREATE STREAM AS SELECT statement instead.", *node.pos)
        sink_source = Source(node.name, node.kind, topic, made["key_format"], value_format,
                             plan.columns, plan.windowed, plan.window_size,
                             ddl.timestamp_name(props.get("TIMESTAMP"), plan.columns),
                             int(props["PARTITIONS"]) if "PARTITIONS" in props else source.partitions,
                             text, written_by=query_id, properties=props)
        query = Query(query_id, node.name, topic, [source.name], [source.topic], text,
                      plan.operator, failures=failures)
        self._sources[node.name] = sink_source
        self._wire.clear()
        self._queries[query_id] = query
        self._subscribe(source.topic, query)
        self._sinks[node.name] = plan.operator.sink if hasattr(plan.operator, "sink") else \
            plan.operator.emitter.sink
        return query

    def _topics_feeding(self, topic: str) -> set:
        """The topic and every topic upstream of it through running queries."""
        seen, todo = set(), [topic]
        while todo:
            t = todo.pop()
            if t not in seen:
                seen.add(t)
                todo += [src for q in self._queries.values() if q.sink_topic == t
                         for src in q.source_topics]
        return seen

    def _source_for(self, select: ast.Select) -> Source:
        source = self._sources.get(select.source)
        if source is None:
            raise KsqlError(f"{select.source} does not exist.", *(select.source_pos or (None, None)))
        return source

    def _logger(self, query_id: str):
        def log(record: Record, message: str, target: str | None = None) -> None:
            self.stats.bad_records += 1
            if self.processing_log is not None:
                self.processing_log(log_entry(query_id, record, message, target))
        return log

    def _drop(self, node: ast.Drop) -> StatementResult:
        if node.kind == "CONNECTOR":
            return ServerStatement(node)
        source = self._sources.get(node.name)
        if source is None:
            if node.if_exists:
                return SourceDropped(node.name)
            raise KsqlError(f"{node.kind.capitalize()} {node.name} does not exist.", *node.pos)
        if source.kind != node.kind:
            raise KsqlError(f"Incompatible data source type is {source.kind.lower()}, but "
                            f"statement was DROP {node.kind.lower()}", *node.pos)
        self._check_unread(source, node.pos)
        self._remove(source)
        return SourceDropped(node.name, source, node.delete_topic)

    def _check_unread(self, source: Source, pos) -> None:
        readers = [q.id for q in self._queries.values() if source.name in q.source_names]
        if readers:
            raise KsqlError(f"Cannot drop {source.name}.\nThe following queries read from this "
                            f"source: [{', '.join(readers)}].\nYou need to terminate them before "
                            "dropping " + source.name + ".", *(pos or (None, None)))

    def _remove(self, source: Source) -> None:
        # Push queries over the source end with it (the client sees its query finish)
        # rather than stay attached to a name that may be created again over other data.
        for query in list(self._transient):
            if source.name in query.source_names:
                self._pushes[query.id].close(f"Query terminated: its source {source.name} "
                                             "was dropped.")
        if source.written_by in self._queries:
            self._stop(source.written_by)
        del self._sources[source.name]
        self._wire.clear()
        self._sinks.pop(source.name, None)

    def _terminate(self, node: ast.Terminate) -> tuple:
        if node.query_id is None:
            ids = tuple(self._queries)
        else:
            match = [q for q in self._queries if q.upper() == node.query_id.upper()]
            if not match:
                raise KsqlError(f"Unknown queryId: {node.query_id}", *node.pos)
            ids = tuple(match)
        for qid in ids:
            self._stop(qid)
        return ids

    def _stop(self, query_id: str) -> None:
        query = self._queries.pop(query_id)
        for topic in query.source_topics:
            self._unsubscribe(topic, query)
        if query.sink in self._sources:
            self._sources[query.sink].written_by = None

    def _show(self, node: ast.Show, properties: Mapping[str, str]) -> StatementResult:
        if node.what in ("STREAMS", "TABLES"):
            kind = node.what[:-1]
            listed = [s for s in self.sources() if s.kind == kind]
            if node.extended:
                return SourcesDescribed([self.describe(s.name, True) for s in listed])
            rows = [{"type": kind, "name": s.name, "topic": s.topic,
                     "keyFormat": s.key_format, "valueFormat": s.value_format,
                     "isWindowed": s.windowed} for s in listed]
            return SourcesListed(kind, rows)
        if node.what == "QUERIES":
            return QueriesListed([_query_row(q) for q in self.queries()])
        if node.what == "PROPERTIES":
            in_effect = {**self.properties, **properties}
            return PropertiesListed(dict(sorted(in_effect.items())),
                                    tuple(sorted(k for k, v in properties.items()
                                                 if self.properties.get(k) != v)))
        return ServerStatement(node)

    # --- records ------------------------------------------------------------------------

    def process(self, record: Record) -> list[Record]:
        """Run one record through every query reading its topic; return what they wrote."""
        with self.lock:
            stats = self.stats
            stats.records_in += 1
            out: list[Record] = []
            self._feed(record, out)
            for produced in out:
                produced.columns = None         # valid only while the values are unchanged
            stats.records_out += len(out)
            return out

    def _feed(self, record: Record, out: list) -> None:
        consumers = self._by_topic.get(record.topic)
        if not consumers:
            return
        for query, process, failures in consumers:
            try:
                produced_records = process(record)
            except Exception as exc:  # noqa: BLE001 - one bad record must not stop the queries
                if failures:
                    self._report_failures(query, record)
                self._failed(query, record, exc)
                continue
            if failures:
                self._report_failures(query, record)
            for produced in produced_records:
                out.append(produced)
                if produced.topic in self._by_topic:
                    self._feed(produced, out)

    def _failed(self, query: Query, record: Record, exc: Exception) -> None:
        self.stats.errors += 1
        if self.processing_log is not None:
            self.processing_log(log_entry(query.id, record, f"Error processing record: {exc!r}",
                                          "processing"))

    def _report_failures(self, query: Query, record: Record) -> None:
        """Log the expressions that failed (and yielded null) while ``query`` processed
        ``record``: ksqlDB's recordProcessingError entries; the record itself went on."""
        for message in query.failures:
            self.stats.expression_errors += 1
            if self.processing_log is not None:
                self.processing_log(ProcessingLogEntry(
                    query.id, record.topic, record.partition, record.offset, message,
                    sql_record_text(record), "expression"))
        query.failures.clear()

    def _subscribe(self, topic: str, query: Query) -> None:
        self._by_topic[topic] = self._by_topic.get(topic, ()) + (
            (query, query.operator.process, query.failures),)

    def _unsubscribe(self, topic: str, query: Query) -> None:
        remaining = tuple(c for c in self._by_topic.get(topic, ()) if c[0] is not query)
        if remaining:
            self._by_topic[topic] = remaining
        else:
            self._by_topic.pop(topic, None)

    def serialize(self, record: Record) -> tuple:
        """(key bytes, value bytes) of an output record, as ksqlDB writes them."""
        with self.lock:
            wire = self._wire.get(record.topic)
            if wire is None:
                wire = self._wire_of(record.topic)
            return wire(record)

    def _wire_of(self, topic: str):
        source = self._source_by_topic(topic)
        keys = source.key_columns
        wire = self._wire[topic] = formats.record_serializer(
            source.key_format if keys else formats.KAFKA, [c.type for c in keys],
            source.value_format)
        return wire

    @_locked
    def deserialize(self, topic: str, key: bytes | None, value: bytes | None,
                    timestamp: int = 0) -> Record:
        """Decode wire bytes of ``topic`` into a Record shaped like the engine's outputs
        (the inverse of serialize(), using the formats of the source over that topic)."""
        source = self._source_by_topic(topic)
        key_cols = [(c.name, c.type) for c in source.key_columns]
        value_cols = [c for c in source.value_columns]
        window = None
        key_format = source.key_format if key_cols else formats.KAFKA
        try:
            if source.windowed and key is not None:
                window = formats.window_from_key_bytes(key, source.window_type,
                                                       source.window_size)
            key_values = formats.key_decoder(key_format, key_cols, source.window_type)(key)
            decoded_value = None
            values = None if value is None else formats.value_decoder(
                source.value_format, [(c.name, c.type) for c in value_cols])(value)
            if values is not None:
                decoded_value = formats.value_encoder(source.value_format,
                                                      [c.name for c in value_cols],
                                                      [c.type for c in value_cols])(values)
        except formats.DecodeError as exc:
            raise KsqlError(f"Cannot decode a record of {topic}: {exc}") from None
        decoded_key = formats.key_output(key_format, [c for c, _ in key_cols])(key_values)
        return Record(topic, decoded_key, decoded_value, timestamp, window)

    def _source_by_topic(self, topic: str) -> Source:
        for s in self._sources.values():
            if s.topic == topic and s.written_by is not None:
                return s
        for s in self._sources.values():
            if s.topic == topic:
                return s
        raise KsqlError(f"No source writes topic {topic}")

    # --- catalog -----------------------------------------------------------------------

    @_locked
    def sources(self) -> list[Source]:
        return list(self._sources.values())

    @_locked
    def source(self, name: str) -> Source:
        source = self._sources.get(name) or self._sources.get(name.upper())
        if source is None:
            raise KsqlError(f"Could not find STREAM/TABLE '{name}' in the Metastore")
        return source

    @_locked
    def describe(self, name: str, extended: bool = False) -> dict:
        """The source in the shape of ksqlDB's REST `sourceDescription`."""
        source = self.source(name)
        fields = [{"name": c.name, "schema": T.rest_schema(c.type),
                   **({"type": "KEY"} if c.key else {})} for c in source.columns]
        return {
            "name": source.name, "type": source.kind, "topic": source.topic,
            "keyFormat": source.key_format, "valueFormat": source.value_format,
            "windowType": source.window_kind, "timestamp": source.timestamp_column or "",
            "readQueries": [_query_row(q) for q in self.queries() if source.name in q.source_names],
            "writeQueries": [_query_row(q) for q in self.queries() if q.sink == source.name],
            "fields": fields, "statement": source.statement_text, "extended": extended,
            "partitions": source.partitions or 0, "replication": 0, "statistics": "",
            "errorStats": "", "sourceConstraints": [], "queryOffsetSummaries": [],
            "clusterStatistics": [], "clusterErrorStats": []}

    @_locked
    def queries(self) -> list[Query]:
        return list(self._queries.values())

    @_locked
    def external_topics(self) -> set[str]:
        written = {q.sink_topic for q in self._queries.values()}
        read = {t for q in self._queries.values() for t in q.source_topics}
        return read - written

    @_locked
    def push_topics(self) -> set[str]:
        """Topics read by running push queries that no persistent query writes: a server
        must consume them too while those queries run (they are not in external_topics)."""
        written = {q.sink_topic for q in self._queries.values()}
        return {t for q in self._transient for t in q.source_topics} - written

    # --- transient queries ------------------------------------------------------------

    def _select_of(self, query: str | ParsedStatement) -> tuple[ast.Select, str]:
        statements = parse(query) if isinstance(query, str) else [query]
        if len(statements) != 1 or not isinstance(statements[0].node, ast.QueryStatement):
            raise KsqlError("Expected exactly one SELECT statement")
        return statements[0].node.select, statements[0].text

    @_locked
    def push(self, query: str | ParsedStatement, on_row: Callable[[PushRow], None]) -> PushQuery:
        """Start ``SELECT ... EMIT CHANGES`` (its text, or the statement parsed already)."""
        select, text = self._select_of(query)
        if select.emit is None:
            raise KsqlError("Push queries must end with EMIT CHANGES (pull queries go to pull()).")
        source = self._source_for(select)
        query_id = f"transient_{source.name}_{next(self._transient_numbers)}"
        holder: dict = {}

        def sink_factory(columns, window_type, window_kind, window_size, key_positions,
                         window_positions):
            holder["columns"] = columns
            return CallbackSink(lambda row: holder["push"].deliver(row), key_positions,
                                len(columns), window_positions)

        failures: list = []
        plan = planner.Planner(select, source, None, {}, None, self._logger(query_id),
                               failures.append).plan(sink_factory)
        query = Query(query_id, None, None, [source.name], [source.topic], text, plan.operator,
                      failures=failures)
        push = PushQuery(query, holder["columns"], select.limit, on_row, self._remove_transient,
                         self.lock, self._report_failures)
        holder["push"] = push
        self._pushes[query_id] = push
        self._transient.append(query)
        self._subscribe(source.topic, query)
        return push

    def _remove_transient(self, query: Query) -> None:
        if query in self._transient:
            self._transient.remove(query)
            self._pushes.pop(query.id, None)
            for topic in query.source_topics:
                self._unsubscribe(topic, query)

    @_locked
    def pull(self, query: str | ParsedStatement) -> PullResult:
        """Run a pull query (its text, or the statement parsed already) on a table's state."""
        select, _ = self._select_of(query)
        if select.emit is not None:
            raise KsqlError("Pull queries do not take EMIT; use push() for EMIT CHANGES.")
        source = self._source_for(select)
        if source.kind != "TABLE":
            raise KsqlError(f"Pull queries are only supported on tables; {source.name} is a "
                            "STREAM. Add EMIT CHANGES for a push query.")
        sink = self._sinks.get(source.name)
        if sink is None or sink.table is None:
            raise KsqlError(f"The {source.name} table isn't queryable. To derive a queryable "
                            "table, use CREATE TABLE ... AS SELECT.")
        return run_pull(select, source, sink.table)


def _query_row(q: Query) -> dict:
    return {"queryString": q.statement_text, "sinks": [q.sink], "sinkKafkaTopics": [q.sink_topic],
            "id": q.id, "queryType": "PERSISTENT", "state": q.state,
            "statusCount": {q.state: 1}}


