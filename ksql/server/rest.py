"""ksqlDB's REST API over the ksql service: /info, /healthcheck, /ksql, /query,
/query-stream, /close-query (request and response shapes as ksqlDB documents them;
see ../shared/ksql-conformance/SEMANTICS.md §9).

/query streams a chunked JSON array, /query-stream newline-delimited JSON. Every endpoint
answers over HTTP/1.1 and over HTTP/2 with prior knowledge (``http2``), as ksqlDB's own
clients connect for /query-stream.
"""

from __future__ import annotations

import json
import logging
import queue
import signal
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from socksort import progress
from socksort.errors import UserError
from socksort.ksql import kafka_io
from socksort.ksql.engine import (KsqlError, PropertiesListed, QueriesListed, QueriesTerminated,
                                  QueryCreated, SourceCreated, SourceDescribed, SourceDropped,
                                  SourcesListed)
from socksort.ksql.server import http2, print_topic
from socksort.ksql.server.connectors import (ConnectorCreated, ConnectorDescribed,
                                             ConnectorDropped, ConnectorsListed)
from socksort.ksql.server.push import PushRegistry, topic_messages
from socksort.ksql.server.responder import JSON_TYPE, ClientGone, Responder
from socksort.ksql.server.service import KsqlService, RequestFailed, StatementOutcome, TopicsListed
from socksort.ksql.sql import ast
from socksort.ksql.sql.parser import parse
from socksort.ksql.sql.types import json_safe

log = logging.getLogger("socksort.ksql.rest")

VERSION = "0.29.0"
KEEPALIVE_S = 1.0
DELIMITED_TYPE = "application/vnd.ksqlapi.delimited.v1"


# --- /ksql entities ----------------------------------------------------------------------

def entity(outcome: StatementOutcome) -> dict | None:
    """The JSON object ksqlDB returns for one statement of a /ksql request."""
    base = {"statementText": outcome.text, "warnings": []}
    match outcome.result:
        case SourceCreated() | QueryCreated() | SourceDropped() | QueriesTerminated():
            return {"@type": "currentStatus", **base, **_status(outcome)}
        case SourcesListed(kind=kind, rows=rows):
            plural = kind.lower() + "s"
            return {"@type": plural, **base, plural: rows}
        case QueriesListed(rows=rows):
            return {"@type": "queries", **base, "queries": rows}
        case PropertiesListed(properties=properties, overwritten=overwritten):
            return {"@type": "properties", **base, "properties": properties,
                    "overwrittenProperties": list(overwritten), "defaultProperties": []}
        case SourceDescribed(description=description):
            return {"@type": "sourceDescription", **base, "sourceDescription": description}
        case TopicsListed(topics=topics):
            return {"@type": "kafka_topics", **base, "topics": topics}
        case ConnectorCreated(info=info):
            info = info or {}
            return {"@type": "connector_info", **base,
                    "info": {"name": info.get("name"), "config": info.get("config", {}),
                             "tasks": info.get("tasks", []), "type": info.get("type")}}
        case ConnectorsListed(connectors=connectors):
            return {"@type": "connector_list", **base, "connectors": connectors}
        case ConnectorDescribed(info=info, status=status):
            return {"@type": "connector_description", **base,
                    "connectorClass": info.get("config", {}).get("connector.class"),
                    "status": status, "sources": [], "topics": []}
        case ConnectorDropped(name=name):
            return {"@type": "drop_connector", **base, "connectorName": name}
    return None  # INSERT VALUES and the like answer with nothing, as in ksqlDB


def _status(outcome: StatementOutcome) -> dict:
    """currentStatus of a statement the command topic logged: what it created, dropped or
    terminated."""
    query = None
    match outcome.result:
        case SourceCreated(source=source):
            kind, name, action = source.kind.lower(), source.name, "create"
            message = f"{source.kind.capitalize()} created"
        case QueryCreated(source=source, query=query):
            kind, name, action = source.kind.lower(), source.name, "create"
            message = f"Created query with ID {query.id}"
        case SourceDropped(source=source, name=name) if source is not None:
            kind, name, action = source.kind.lower(), source.name, "drop"
            message = f"Source `{name}` (topic: {source.topic}) was dropped."
        case SourceDropped():  # IF EXISTS found nothing: no source to name (as before)
            kind, name, action = "query", "", "drop"
            message = "Source `` (topic: ) was dropped."
        case QueriesTerminated(query_ids=ids):
            kind, name, action = "query", ",".join(ids), "terminate"
            message = "Query terminated."
    return {"commandId": f"{kind}/`{name}`/{action}",
            "commandStatus": {"status": "SUCCESS", "message": message,
                              "queryId": query.id if query else None},
            "commandSequenceNumber": outcome.sequence}


def error_body(exc: KsqlError, entities: list) -> dict:
    return {"@type": "statement_error", "error_code": getattr(exc, "error_code", 40001) or 40001,
            "message": str(exc), "statementText": getattr(exc, "statement_text", "") or "",
            "entities": entities}


def schema_text(columns: list, types: list) -> str:
    return ", ".join(f"`{c}` {t}" for c, t in zip(columns, types))


# --- routes, the same over HTTP/1.1 and HTTP/2 -------------------------------------------

class Routes:
    """ksqlDB's endpoints, written against a ``responder.Responder`` so the HTTP/1.1
    handler and the HTTP/2 streams share them."""

    def __init__(self, server: "RestServer"):
        self.server = server

    def get(self, path: str, r: Responder) -> None:
        service = self.server.service
        if path.startswith("/info"):
            r.send_json(200, {"KsqlServerInfo": {
                "version": VERSION, "kafkaClusterId": self.server.cluster_id,
                "ksqlServiceId": "socksort_",
                "serverStatus": "RUNNING" if service.ready.is_set() else "REBUILDING"}})
        elif path.startswith("/healthcheck"):
            kafka_ok = service.healthy()
            rebuilt = service.ready.is_set()
            # commandRunner is ksqlDB's own detail (its command replay); waitingFor is ours:
            # what a rebuilding server still waits for, so a launcher can say it.
            r.send_json(200 if kafka_ok else 503, {
                "isHealthy": kafka_ok and rebuilt,
                "details": {"metastore": {"isHealthy": service.error is None},
                            "kafka": {"isHealthy": kafka_ok},
                            "commandRunner": {"isHealthy": rebuilt,
                                              "waitingFor": "" if rebuilt else service.rebuild_status}}})
        elif path.startswith("/status/"):
            r.send_json(200, {"status": "SUCCESS", "message": "Executed"})
        else:
            send_error(r, 404, KsqlError(f"Not found: {path}", error_code=40400))

    def post(self, path: str, r: Responder, raw: bytes) -> None:
        routes = {"/ksql": self.ksql, "/query": self.query, "/query-stream": self.query_stream,
                  "/close-query": self.close_query}
        route = routes.get(path.split("?")[0].rstrip("/"))
        if path.split("?")[0].rstrip("/") == "/inserts-stream":
            self.inserts_stream(r, raw)
            return
        if route is None:
            send_error(r, 404, KsqlError(f"Not found: {path}", error_code=40400))
            return
        try:
            body = parse_body(raw)
        except KsqlError as exc:
            send_error(r, 400, exc)
            return
        route(r, body)

    def ksql(self, r, body: dict) -> None:
        text = body.get("ksql")
        if not isinstance(text, str) or not text.strip():
            send_error(r, 400, KsqlError("The request has no 'ksql' statement text"))
            return
        try:
            outcomes = self.server.service.run_statements(
                text, body.get("streamsProperties") or {}, body.get("sessionVariables") or {})
        except RequestFailed as failed:
            r.send_json(400, error_body(failed.error, [e for e in map(entity, failed.done) if e]))
            return
        except Exception as exc:  # noqa: BLE001 - reported to the client as ksqlDB does
            log.exception("statement failed")
            send_error(r, 500, exc)
            return
        r.send_json(200, [e for e in map(entity, outcomes) if e])

    def query(self, r, body: dict) -> None:
        self.run_query(r, body.get("ksql"), body.get("streamsProperties") or {}, Http1Query(r))

    def query_stream(self, r, body: dict) -> None:
        accept = r.headers.get("Accept") or DELIMITED_TYPE
        writer = (JsonArrayQuery(r) if JSON_TYPE in accept and DELIMITED_TYPE not in accept
                  else DelimitedQuery(r))
        self.run_query(r, body.get("sql"), body.get("properties") or {}, writer)

    def run_query(self, r, text, properties: dict, writer) -> None:
        service = self.server.service
        try:
            st = single_statement(text)
            if isinstance(st.node, ast.Print):
                writer.print_topic(st.node, service.bootstrap)
                return
            if not isinstance(st.node, ast.QueryStatement):
                raise KsqlError("Only SELECT and PRINT statements run on this endpoint; "
                                "use /ksql for other statements")
            if st.node.select.emit is None:
                writer.pull(service.pull(st))
                return
            earliest = str(properties.get("auto.offset.reset", "latest")).lower() == "earliest"
            session = self.server.pushes.start(service, st, earliest)
        except KsqlError as exc:
            r.send_json(400, error_body(exc, []))
            return
        except KeyError as exc:
            r.send_json(400, error_body(KsqlError(f"Topic does not exist: {exc.args[0]}"), []))
            return
        try:
            writer.push(session)
        finally:
            self.server.pushes.forget(session)

    def inserts_stream(self, r, raw: bytes) -> None:
        """First line {"target": name}, then one JSON object per row; one ack line per row."""
        lines = [line for line in raw.decode("utf-8", "replace").splitlines() if line.strip()]
        try:
            target = parse_body(lines[0].encode()).get("target") if lines else None
        except KsqlError as exc:
            send_error(r, 400, exc)
            return
        if not isinstance(target, str) or not target:
            send_error(r, 400, KsqlError('The first line must be {"target": "<stream name>"}'))
            return
        r.start(DELIMITED_TYPE)
        for seq, line in enumerate(lines[1:]):
            r.send(json.dumps(self._insert_row(target, line, seq)) + "\n")
        r.end()

    def _insert_row(self, target: str, line: str, seq: int) -> dict:
        try:
            self.server.service.insert_row(target, parse_body(line.encode()))
        except KsqlError as exc:
            return {"status": "error", "seq": seq, "error_code": exc.error_code or 40001,
                    "message": str(exc)}
        except UserError as exc:  # the server is still rebuilding its state
            return {"status": "error", "seq": seq, "error_code": 50000, "message": str(exc)}
        return {"status": "ok", "seq": seq}

    def close_query(self, r, body: dict) -> None:
        query_id = body.get("queryId")
        if self.server.pushes.close(str(query_id)):
            r.start_empty(200)
        else:
            send_error(r, 400, KsqlError(f"No query with id {query_id}"))


def parse_body(raw: bytes) -> dict:
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise KsqlError("The request body is not JSON", error_code=40000) from None
    if not isinstance(body, dict):
        raise KsqlError("The request body must be a JSON object", error_code=40000)
    return body


def single_statement(text):
    if not isinstance(text, str) or not text.strip():
        raise KsqlError("The request has no statement")
    statements = parse(text)
    if len(statements) != 1:
        raise KsqlError("Expected exactly one statement")
    return statements[0]


def send_error(r, status: int, exc: Exception, kind: str = "generic_error") -> None:
    code = getattr(exc, "error_code", None) or (40001 if status == 400 else 50000)
    r.send_json(status, {"@type": kind, "error_code": code, "message": str(exc)})


# --- HTTP/1.1 ----------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    """HTTP/1.1, chunked for streamed answers; an HTTP/2 connection preface is handed to
    ``http2`` (clients such as ksqlDB's own use HTTP/2 with prior knowledge)."""

    protocol_version = "HTTP/1.1"
    server: "RestServer"

    def log_message(self, fmt, *args):  # requests go to the logger, not stderr
        log.debug("%s - %s", self.address_string(), fmt % args)

    def handle(self):
        try:
            first = self.connection.recv(len(http2.PREFACE), socket.MSG_PEEK)
        except OSError:
            return
        if first == http2.PREFACE:
            http2.serve_connection(self.connection, self.server.routes)
            self.close_connection = True
            return
        super().handle()

    # the responder interface

    def send_json(self, status: int, obj) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", JSON_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def start_empty(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def start(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def send(self, text: str) -> None:
        data = text.encode()
        try:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        except OSError:
            raise ClientGone() from None

    def end(self) -> None:
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            pass

    # requests

    def do_GET(self):
        self.server.routes.get(self.path, self)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            self.server.routes.post(self.path, self, raw)
        except ClientGone:
            self.close_connection = True


class _QueryWriter:
    """Writes one query's response; subclasses choose the framing."""

    content_type = JSON_TYPE

    def __init__(self, responder):
        self.r = responder

    def pull(self, result) -> None:
        self.r.start(self.content_type)
        self.begin(None, result.columns, result.types)
        for row in result.rows:
            self.row(row, False)
        self.finish(None)
        self.r.end()

    def push(self, session) -> None:
        self.r.start(self.content_type)
        self.begin(session.id, session.columns, session.types)
        quiet_since = time.monotonic()
        while not session.done():
            try:
                row = session.rows.get(timeout=0.2)
            except queue.Empty:
                if time.monotonic() - quiet_since > KEEPALIVE_S:
                    self.r.send("\n")  # detects a client that went away
                    quiet_since = time.monotonic()
                continue
            self.row(row.columns, row.tombstone)
            quiet_since = time.monotonic()
        self.finish(session.handle.final_message)
        self.r.end()

    def print_topic(self, node, bootstrap: str) -> None:
        stopped = [False]
        messages = topic_messages(bootstrap, node.topic, node.from_beginning, lambda: stopped[0])
        self.r.start("text/plain")
        quiet_since = time.monotonic()
        try:
            for text in print_topic.lines(self._with_keepalive(messages, quiet_since),
                                          node.interval, node.limit, lambda: stopped[0]):
                self.r.send(text + "\n")
        except ClientGone:
            stopped[0] = True
            raise
        self.r.end()

    def _with_keepalive(self, messages, quiet_since):
        for msg in messages:
            if msg is None and time.monotonic() - quiet_since > KEEPALIVE_S:
                self.r.send("\n")
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
        self.r.send("[" + json.dumps({"header": header}))

    def row(self, columns, tombstone: bool) -> None:
        row = {"columns": json_safe(columns), **({"tombstone": True} if tombstone else {})}
        self.r.send(",\n" + json.dumps({"row": row}))

    def finish(self, message) -> None:
        self.r.send((",\n" + json.dumps({"finalMessage": message}) if message else "") + "]\n")


class DelimitedQuery(_QueryWriter):
    """/query-stream, delimited: a header object, then one JSON array per row."""

    content_type = DELIMITED_TYPE

    def begin(self, query_id, columns, types) -> None:
        header = {**({"queryId": query_id} if query_id else {}), "columnNames": columns,
                  "columnTypes": types}
        self.r.send(json.dumps(header) + "\n")

    def row(self, columns, tombstone: bool) -> None:
        self.r.send(json.dumps(json_safe(columns)) + "\n")

    def finish(self, message) -> None:
        pass


class JsonArrayQuery(DelimitedQuery):
    """/query-stream with Accept: application/json: the same items as one JSON array."""

    content_type = JSON_TYPE

    def begin(self, query_id, columns, types) -> None:
        header = {**({"queryId": query_id} if query_id else {}), "columnNames": columns,
                  "columnTypes": types}
        self.r.send("[" + json.dumps(header))

    def row(self, columns, tombstone: bool) -> None:
        self.r.send("," + json.dumps(json_safe(columns)))

    def finish(self, message) -> None:
        self.r.send("]")


class RestServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], service: KsqlService):
        super().__init__(address, Handler)
        self.service = service
        self.pushes = PushRegistry()
        self.routes = Routes(self)
        self.cluster_id = ""


def serve(bootstrap: str, host: str, port: int, connect_url: str | None,
          command_topic: str | None = None) -> None:
    """Run the service and its REST API until SIGTERM/SIGINT."""
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
