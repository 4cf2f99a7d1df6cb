"""ksqlDB's REST API over the ksql service: /info, /healthcheck, /ksql, /query,
/query-stream, /close-query (request and response shapes as ksqlDB documents them;
see ../shared/ksql-conformance/SEMANTICS.md §9).

HTTP/1.1 throughout: /query streams a chunked JSON array, /query-stream newline-delimited
JSON (ksqlDB serves the latter over HTTP/2 as well; here it is HTTP/1.1 only).
"""

from __future__ import annotations

import json
import logging
import queue
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from socksort.ksql import ast, print_topic
from socksort.ksql.engine import KsqlError
from socksort.ksql.parser import parse
from socksort.ksql.push import PushRegistry, topic_messages
from socksort.ksql.server import KsqlService, StatementOutcome

log = logging.getLogger("socksort.ksql.rest")

VERSION = "0.29.0"
KEEPALIVE_S = 1.0
JSON_TYPE = "application/json"
DELIMITED_TYPE = "application/vnd.ksqlapi.delimited.v1"


class ClientGone(Exception):
    """The HTTP client closed the connection while a query was streaming."""


# --- /ksql entities ----------------------------------------------------------------------

_MESSAGES = {"source_created": "{kind} created", "query_created": "Created query with ID {qid}",
             "source_dropped": "Source `{name}` (topic: {topic}) was dropped.",
             "query_terminated": "Query terminated."}


def entity(outcome: StatementOutcome) -> dict | None:
    """The JSON object ksqlDB returns for one statement of a /ksql request."""
    base = {"statementText": outcome.text, "warnings": []}
    result = outcome.result
    kind = outcome.kind
    if kind in _MESSAGES:
        return {"@type": "currentStatus", **base, **_status(outcome)}
    if kind in ("streams", "tables", "queries"):
        return {"@type": kind, **base, kind: result.rows}
    if kind == "properties":
        return {"@type": "properties", **base, "properties": _properties(result.rows),
                "overwrittenProperties": [], "defaultProperties": []}
    if kind == "description":
        return {"@type": "sourceDescription", **base, "sourceDescription": result.rows[0]}
    if kind == "kafka_topics":
        return {"@type": "kafka_topics", **base, "topics": result}
    if kind == "connector":
        info = result["info"] or {}
        return {"@type": "connector_info", **base,
                "info": {"name": info.get("name"), "config": info.get("config", {}),
                         "tasks": info.get("tasks", []), "type": info.get("type")}}
    if kind == "connector_list":
        return {"@type": "connector_list", **base, "connectors": result}
    if kind == "connector_description":
        return {"@type": "connector_description", **base,
                "connectorClass": result["info"].get("config", {}).get("connector.class"),
                "status": result["status"], "sources": [], "topics": []}
    if kind == "connector_dropped":
        return {"@type": "drop_connector", **base, "connectorName": result["name"]}
    return None  # INSERT VALUES and the like answer with nothing, as in ksqlDB


def _status(outcome: StatementOutcome) -> dict:
    result = outcome.result
    source = getattr(result, "source", None)
    query = getattr(result, "query", None)
    kind = source.kind.lower() if source is not None else "query"
    name = source.name if source is not None else ",".join(result.query_ids)
    action = {"source_dropped": "drop", "query_terminated": "terminate"}.get(outcome.kind, "create")
    message = _MESSAGES[outcome.kind].format(
        kind=kind.capitalize(), qid=query.id if query else "", name=name,
        topic=source.topic if source is not None else "")
    return {"commandId": f"{kind}/`{name}`/{action}",
            "commandStatus": {"status": "SUCCESS", "message": message,
                              "queryId": query.id if query else None},
            "commandSequenceNumber": outcome.sequence}


def _properties(rows) -> dict:
    if isinstance(rows, dict):
        return rows
    return {row.get("name"): row.get("value") for row in rows or []}


def error_body(exc: KsqlError, entities: list) -> dict:
    return {"@type": "statement_error", "error_code": getattr(exc, "error_code", 40001) or 40001,
            "message": str(exc), "statementText": getattr(exc, "statement_text", "") or "",
            "entities": entities}


def schema_text(columns: list, types: list) -> str:
    return ", ".join(f"`{c}` {t}" for c, t in zip(columns, types))


# --- HTTP --------------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "RestServer"

    def log_message(self, fmt, *args):  # requests go to the logger, not stderr
        log.debug("%s - %s", self.address_string(), fmt % args)

    # plumbing

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise KsqlError("The request body is not JSON", error_code=40000) from None
        if not isinstance(body, dict):
            raise KsqlError("The request body must be a JSON object", error_code=40000)
        return body

    def _send_json(self, status: int, obj) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", JSON_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, exc: Exception, kind: str = "generic_error") -> None:
        code = getattr(exc, "error_code", None) or (40001 if status == 400 else 50000)
        self._send_json(status, {"@type": kind, "error_code": code, "message": str(exc)})

    def _start_chunks(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, text: str) -> None:
        data = text.encode()
        try:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        except OSError:
            raise ClientGone() from None

    def _end_chunks(self) -> None:
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            pass

    # routes

    def do_GET(self):
        service = self.server.service
        if self.path.startswith("/info"):
            self._send_json(200, {"KsqlServerInfo": {
                "version": VERSION, "kafkaClusterId": self.server.cluster_id,
                "ksqlServiceId": "socksort_",
                "serverStatus": "RUNNING" if service.ready.is_set() else "REBUILDING"}})
        elif self.path.startswith("/healthcheck"):
            kafka_ok = service.healthy()
            self._send_json(200 if kafka_ok else 503, {
                "isHealthy": kafka_ok and service.ready.is_set(),
                "details": {"metastore": {"isHealthy": service.error is None},
                            "kafka": {"isHealthy": kafka_ok}}})
        elif self.path.startswith("/status/"):
            self._send_json(200, {"status": "SUCCESS", "message": "Executed"})
        else:
            self._error(404, KsqlError(f"Not found: {self.path}", error_code=40400))

    def do_POST(self):
        routes = {"/ksql": self._ksql, "/query": self._query, "/query-stream": self._query_stream,
                  "/close-query": self._close_query}
        route = routes.get(self.path.split("?")[0].rstrip("/"))
        if route is None:
            self._error(404, KsqlError(f"Not found: {self.path}", error_code=40400))
            return
        try:
            body = self._body()
        except KsqlError as exc:
            self._error(400, exc)
            return
        try:
            route(body)
        except ClientGone:
            self.close_connection = True

    def _ksql(self, body: dict) -> None:
        text = body.get("ksql")
        if not isinstance(text, str) or not text.strip():
            self._error(400, KsqlError("The request has no 'ksql' statement text"))
            return
        try:
            outcomes = self.server.service.run_statements(
                text, body.get("streamsProperties") or {}, body.get("sessionVariables") or {})
        except KsqlError as exc:
            done = [e for e in map(entity, getattr(exc, "results", None) or []) if e]
            self._send_json(400, error_body(exc, done))
            return
        except Exception as exc:  # noqa: BLE001 - reported to the client as ksqlDB does
            log.exception("statement failed")
            self._error(500, exc, "generic_error")
            return
        self._send_json(200, [e for e in map(entity, outcomes) if e])

    def _single_statement(self, text):
        if not isinstance(text, str) or not text.strip():
            raise KsqlError("The request has no statement")
        statements = parse(text)
        if len(statements) != 1:
            raise KsqlError("Expected exactly one statement")
        return statements[0]

    def _query(self, body: dict) -> None:
        self._run_query(body.get("ksql"), body.get("streamsProperties") or {}, Http1Query(self))

    def _query_stream(self, body: dict) -> None:
        accept = self.headers.get("Accept", DELIMITED_TYPE)
        writer = (JsonArrayQuery(self) if JSON_TYPE in accept and DELIMITED_TYPE not in accept
                  else DelimitedQuery(self))
        self._run_query(body.get("sql"), body.get("properties") or {}, writer)

    def _run_query(self, text, properties: dict, writer) -> None:
        service = self.server.service
        try:
            st = self._single_statement(text)
            if isinstance(st.node, ast.Print):
                writer.print_topic(st.node, service.bootstrap)
                return
            if not isinstance(st.node, ast.QueryStatement):
                raise KsqlError("Only SELECT and PRINT statements run on this endpoint; "
                                "use /ksql for other statements")
            if st.node.select.emit is None:
                result = service.pull(st.text)
                writer.pull(result)
                return
            earliest = str(properties.get("auto.offset.reset", "latest")).lower() == "earliest"
            session = self.server.pushes.start(service, st.text, earliest)
        except KsqlError as exc:
            self._send_json(400, error_body(exc, []))
            return
        except KeyError as exc:
            self._send_json(400, error_body(KsqlError(f"Topic does not exist: {exc.args[0]}"), []))
            return
        try:
            writer.push(session)
        finally:
            self.server.pushes.forget(session)

    def _close_query(self, body: dict) -> None:
        query_id = body.get("queryId")
        if self.server.pushes.close(str(query_id)):
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._error(400, KsqlError(f"No query with id {query_id}"))


class _QueryWriter:
    """Writes one query's response; subclasses choose the framing."""

    content_type = JSON_TYPE

    def __init__(self, handler: Handler):
        self.h = handler

    def pull(self, result) -> None:
        self.h._start_chunks(self.content_type)
        self.begin(None, result.columns, result.types)
        for row in result.rows:
            self.row(row, False)
        self.finish(None)
        self.h._end_chunks()

    def push(self, session) -> None:
        self.h._start_chunks(self.content_type)
        self.begin(session.id, session.columns, session.types)
        quiet_since = time.monotonic()
        while not session.done():
            try:
                row = session.rows.get(timeout=0.2)
            except queue.Empty:
                if time.monotonic() - quiet_since > KEEPALIVE_S:
                    self.h._chunk("\n")  # detects a client that went away
                    quiet_since = time.monotonic()
                continue
            self.row(row.columns, row.tombstone)
            quiet_since = time.monotonic()
        self.finish("Limit Reached" if session.handle.done else None)
        self.h._end_chunks()

    def print_topic(self, node, bootstrap: str) -> None:
        stopped = [False]
        messages = topic_messages(bootstrap, node.topic, node.from_beginning, lambda: stopped[0])
        self.h._start_chunks("text/plain")
        quiet_since = time.monotonic()
        try:
            for text in print_topic.lines(self._with_keepalive(messages, quiet_since),
                                          node.interval, node.limit, lambda: stopped[0]):
                self.h._chunk(text + "\n")
        except ClientGone:
            stopped[0] = True
            raise
        self.h._end_chunks()

    def _with_keepalive(self, messages, quiet_since):
        for msg in messages:
            if msg is None and time.monotonic() - quiet_since > KEEPALIVE_S:
                self.h._chunk("\n")
                quiet_since = time.monotonic()
            elif msg is not None:
                quiet_since = time.monotonic()
            yield msg

    def begin(self, query_id, columns, types) -> None:
        raise NotImplementedError

    def row(self, columns, tombstone: bool) -> None:
        raise NotImplementedError

    def finish(self, message: str | None) -> None:
        raise NotImplementedError


class Http1Query(_QueryWriter):
    """/query: a chunked JSON array of header, rows and a final message."""

    def begin(self, query_id, columns, types) -> None:
        header = {"queryId": query_id, "schema": schema_text(columns, types)}
        self.h._chunk("[" + json.dumps({"header": header}))

    def row(self, columns, tombstone: bool) -> None:
        row = {"columns": columns, **({"tombstone": True} if tombstone else {})}
        self.h._chunk(",\n" + json.dumps({"row": row}))

    def finish(self, message) -> None:
        self.h._chunk((",\n" + json.dumps({"finalMessage": message}) if message else "") + "]\n")


class DelimitedQuery(_QueryWriter):
    """/query-stream, delimited: a header object, then one JSON array per row."""

    content_type = DELIMITED_TYPE

    def begin(self, query_id, columns, types) -> None:
        header = {**({"queryId": query_id} if query_id else {}), "columnNames": columns,
                  "columnTypes": types}
        self.h._chunk(json.dumps(header) + "\n")

    def row(self, columns, tombstone: bool) -> None:
        self.h._chunk(json.dumps(columns) + "\n")

    def finish(self, message) -> None:
        pass


class JsonArrayQuery(DelimitedQuery):
    """/query-stream with Accept: application/json: the same items as one JSON array."""

    content_type = JSON_TYPE

    def begin(self, query_id, columns, types) -> None:
        header = {**({"queryId": query_id} if query_id else {}), "columnNames": columns,
                  "columnTypes": types}
        self.h._chunk("[" + json.dumps(header))

    def row(self, columns, tombstone: bool) -> None:
        self.h._chunk("," + json.dumps(columns))

    def finish(self, message) -> None:
        self.h._chunk("]")


class RestServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], service: KsqlService):
        super().__init__(address, Handler)
        self.service = service
        self.pushes = PushRegistry()
        self.cluster_id = ""


def serve(bootstrap: str, host: str, port: int, connect_url: str | None,
          command_topic: str | None = None) -> None:
    """Run the service and its REST API until SIGTERM/SIGINT."""
    import signal
    import threading

    from socksort import progress
    from socksort.ksql import kafka_io

    kwargs = {"command_topic": command_topic} if command_topic else {}
    service = KsqlService(bootstrap, connect_url, **kwargs)
    progress.step(f"ksql server: connecting to Kafka at {bootstrap}")
    service.start()
    server = RestServer((host, port), service)
    server.cluster_id = _cluster_id(kafka_io.admin(bootstrap))
    stopping = threading.Event()

    def stop(_signum, _frame):
        stopping.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    progress.step(f"ksql server: REST API on http://{host}:{port}")
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        service.stop()


def _cluster_id(client) -> str:
    try:
        return client.list_topics(timeout=5).cluster_id or ""
    except Exception:  # noqa: BLE001 - informational only
        return ""
