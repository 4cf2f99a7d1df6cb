"""Push queries over the ksqlDB REST API, kept running for the dashboard.

``POST /query-stream`` with ``Accept: application/vnd.ksqlapi.delimited.v1`` answers with
a header object (``queryId``, ``columnNames``, ``columnTypes``) and then one JSON array
per row, one per line (SEMANTICS.md §9). A real ksqlDB serves this endpoint over HTTP/2
only; the embedded engine also over HTTP/1.1. So the relay asks with HTTP/1.1 first and
switches to HTTP/2 (prior knowledge, as ksqlDB's own clients do) when the server says the
endpoint needs it.

A push query ends when its source is dropped or the server restarts (``pairs --reset``
does both on purpose). The relay then reconnects with backoff and, because the query
starts from the earliest offset, rebuilds its picture of the table from scratch.
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass
from typing import Callable

DELIMITED = "application/vnd.ksqlapi.delimited.v1"
HTTP2_ONLY_CODE = 40004  # ksqlDB: "This endpoint is only available when using HTTP2"


class QueryError(Exception):
    """The server refused the query or ended it with an error message."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Header:
    query_id: str | None
    columns: tuple[str, ...]
    types: tuple[str, ...]


@dataclass(frozen=True)
class Row:
    values: tuple


class QueryStreamParser:
    """Turns the delimited response body, in chunks of any size, into Header/Row events."""

    def __init__(self):
        self._pending = b""
        self.header: Header | None = None

    def feed(self, data: bytes) -> list[Header | Row]:
        self._pending += data
        *lines, self._pending = self._pending.split(b"\n")
        events = []
        for line in lines:
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def finish(self) -> list[Header | Row]:
        """The body ended: a last line without its newline still counts."""
        rest, self._pending = self._pending, b""
        event = self._line(rest)
        return [event] if event is not None else []

    def _line(self, line: bytes) -> Header | Row | None:
        text = line.strip()
        if not text:
            return None  # keep-alive
        try:
            item = json.loads(text)
        except ValueError:
            raise QueryError(f"unreadable line from the ksql server: {text[:120]!r}") from None
        if isinstance(item, list):
            if self.header is None:
                raise QueryError("the ksql server sent a row before the header")
            return Row(tuple(item))
        if isinstance(item, dict):
            if "error_code" in item or str(item.get("@type", "")).endswith("error"):
                raise error_from_body(item)
            if "columnNames" in item:
                self.header = Header(item.get("queryId"), tuple(item["columnNames"]),
                                     tuple(item.get("columnTypes") or ()))
                return self.header
        raise QueryError(f"unexpected item from the ksql server: {text[:120]!r}")


def error_from_body(body) -> QueryError:
    if isinstance(body, dict):
        return QueryError(str(body.get("message") or body), body.get("error_code"))
    return QueryError(str(body))


def rows_as_dicts(header: Header, row: Row) -> dict:
    return dict(zip(header.columns, row.values))


class PushQuery(threading.Thread):
    """One push query kept alive in the background; callbacks run on this thread.

    ``on_reset(header)`` is called each time a (re)started query delivers its header —
    the consumer drops what it knew, since rows now replay from the earliest offset;
    ``on_row(dict)`` for every row; ``on_status(ok, message)`` when the query starts or
    fails.
    """

    def __init__(self, base_url: str, sql: str, *, on_reset: Callable[[Header], None],
                 on_row: Callable[[dict], None], on_status: Callable[[bool, str], None],
                 properties: dict | None = None, name: str = "push-query"):
        super().__init__(name=name, daemon=True)
        self.base_url = base_url.rstrip("/")
        self.sql = sql
        self.properties = {"auto.offset.reset": "earliest", **(properties or {})}
        self.on_reset, self.on_row, self.on_status = on_reset, on_row, on_status
        self._halt = threading.Event()
        self._restart = threading.Event()
        self._http2 = False
        self._response = None
        self._lock = threading.Lock()
        self.query_id: str | None = None

    def stop(self) -> None:
        self._halt.set()
        self._abort()

    def restart(self) -> None:
        """End the current query now and start it again (after a new session, say)."""
        self._restart.set()
        self._abort()

    def run(self) -> None:
        import httpx

        delay = 0.25
        while not self._halt.is_set():
            self._restart.clear()
            try:
                self._run_once(httpx)
                delay = 0.25  # ended cleanly (source dropped, server restart): retry soon
                if not self._halt.is_set() and not self._restart.is_set():
                    self.on_status(False, "the push query ended; restarting it")
            except QueryError as exc:
                if exc.code == HTTP2_ONLY_CODE and not self._http2:
                    self._http2 = True
                    continue
                self.on_status(False, str(exc))
            except (httpx.HTTPError, OSError) as exc:
                if not self._halt.is_set() and not self._restart.is_set():
                    self.on_status(False, f"cannot reach the ksql server at {self.base_url}: "
                                          f"{type(exc).__name__}")
            self._close_remote()
            if self._restart.is_set():
                continue
            self._halt.wait(delay)
            delay = min(delay * 2, 3.0)

    def _run_once(self, httpx) -> None:
        body = {"sql": self.sql, "properties": self.properties}
        client = httpx.Client(http1=not self._http2, http2=self._http2,
                              timeout=httpx.Timeout(5.0, read=None))
        try:
            with client.stream("POST", f"{self.base_url}/query-stream", json=body,
                               headers={"Accept": DELIMITED}) as response:
                with self._lock:
                    self._response = response
                if self._halt.is_set() or self._restart.is_set():
                    return
                if response.status_code != 200:
                    raise self._refusal(response)
                parser = QueryStreamParser()
                for chunk in response.iter_raw():
                    self._deliver(parser, parser.feed(chunk))
                self._deliver(parser, parser.finish())
        finally:
            with self._lock:
                self._response = None
            client.close()

    def _deliver(self, parser: QueryStreamParser, events) -> None:
        for event in events:
            if isinstance(event, Header):
                self.query_id = event.query_id
                self.on_reset(event)
                self.on_status(True, "running")
            else:
                self.on_row(rows_as_dicts(parser.header, event))

    def _refusal(self, response) -> QueryError:
        text = response.read().decode("utf-8", "replace")
        try:
            return error_from_body(json.loads(text))
        except ValueError:
            if response.status_code in (404, 405, 426) and not self._http2:
                return QueryError("endpoint needs HTTP/2", HTTP2_ONLY_CODE)
            return QueryError(f"ksql server answered HTTP {response.status_code}: {text[:200]}")

    def _abort(self) -> None:
        with self._lock:
            response = self._response
        if response is None:
            return
        # Closing the response does not wake a thread blocked reading it; shutting the
        # socket down does (the read returns at once and the loop notices why).
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed
        try:
            response.close()
        except Exception:  # closing from another thread may race the reader; either ends it
            pass

    def _close_remote(self) -> None:
        """Tell the server to end the query too (it would notice the closed socket later)."""
        query_id, self.query_id = self.query_id, None
        if not query_id:
            return
        import httpx

        try:
            with httpx.Client(http1=not self._http2, http2=self._http2, timeout=2.0) as client:
                client.post(f"{self.base_url}/close-query", json={"queryId": query_id})
        except httpx.HTTPError:
            pass


def writing_queries(base_url: str, sinks: tuple[str, ...], timeout: float = 2.0) -> dict[str, str] | None:
    """The id of the persistent query writing each of ``sinks`` (``SHOW QUERIES`` on /ksql).

    A new sorting session drops and re-creates the tables, and with them their queries. The
    embedded engine ends push queries on a dropped source, but a server that leaves them
    open would keep them reading a table that no longer exists; comparing these ids over
    time tells the dashboard when to start its push queries again either way. None when
    the server does not answer.
    """
    from socksort.net import HttpError, json_request

    try:
        answer = json_request(f"{base_url.rstrip('/')}/ksql", "POST",
                              {"ksql": "SHOW QUERIES;", "streamsProperties": {}}, timeout)
    except (OSError, ValueError, HttpError):
        return None
    return writers_from_listing(answer, sinks)


def writers_from_listing(answer, sinks: tuple[str, ...]) -> dict[str, str]:
    """From a ``SHOW QUERIES`` answer, the query writing each sink (absent sinks are left out)."""
    found: dict[str, str] = {}
    entries = answer if isinstance(answer, list) else [answer]
    for entry in entries:
        for query in (entry or {}).get("queries") or ():
            for sink in query.get("sinks") or ():
                if sink.upper() in sinks and query.get("id"):
                    found[sink.upper()] = query["id"]
    return found

