"""A push query kept running in the background, as the dashboard keeps its tables live.

``POST /query-stream`` with ``Accept: application/vnd.ksqlapi.delimited.v1`` answers with
a header object (``queryId``, ``columnNames``, ``columnTypes``) and then one JSON array
per row, one per line (SEMANTICS.md §9). A real ksqlDB serves this endpoint over HTTP/2
only, the embedded engine over both; :func:`rest_client.stream` opens it and
:func:`rest_client.refusal` says when a server wants HTTP/2.

A push query ends when its source is dropped or the server restarts (``pairs --reset``
does both on purpose). The query then reconnects with backoff and, because it starts from
the earliest offset, its consumer rebuilds its picture of the table from scratch.
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass
from typing import Callable

from socksort.ksql.client import rest_client
from socksort.ksql.client.rest_client import HTTP2_ONLY_CODE, QueryError, error_from_body


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
        delay = 0.25
        while not self._halt.is_set():
            self._restart.clear()
            try:
                self._run_once()
                delay = 0.25  # ended cleanly (source dropped, server restart): retry soon
                if not self._halt.is_set() and not self._restart.is_set():
                    self.on_status(False, "the push query ended; restarting it")
            except QueryError as exc:
                if exc.code == HTTP2_ONLY_CODE and not self._http2:
                    self._http2 = True
                    continue
                self.on_status(False, str(exc))
            except OSError as exc:  # rest_client.stream's ConnectionError among them
                if not self._halt.is_set() and not self._restart.is_set():
                    self.on_status(False, str(exc))
            self._close_remote()
            if self._restart.is_set():
                continue
            self._halt.wait(delay)
            delay = min(delay * 2, 3.0)

    def _run_once(self) -> None:
        body = {"sql": self.sql, "properties": self.properties}
        with rest_client.stream(self.base_url, "/query-stream", body, self._http2,
                                accept=rest_client.DELIMITED) as response:
            with self._lock:
                self._response = response
            try:
                if self._halt.is_set() or self._restart.is_set():
                    return
                if response.status_code != 200:
                    raise rest_client.refusal(response, self._http2)
                parser = QueryStreamParser()
                for chunk in response.iter_raw():
                    self._deliver(parser, parser.feed(chunk))
                self._deliver(parser, parser.finish())
            finally:
                with self._lock:
                    self._response = None

    def _deliver(self, parser: QueryStreamParser, events) -> None:
        for event in events:
            if isinstance(event, Header):
                self.query_id = event.query_id
                self.on_reset(event)
                self.on_status(True, "running")
            else:
                self.on_row(rows_as_dicts(parser.header, event))

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
        query_id, self.query_id = self.query_id, None
        if query_id:
            rest_client.close_query(self.base_url, query_id, self._http2)
