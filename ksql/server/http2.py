"""HTTP/2 (cleartext, prior knowledge) for the REST API, as ksqlDB serves /query-stream.

The HTTP/1.1 handler hands over a connection that starts with the HTTP/2 preface. One
thread reads frames; each request runs on its own thread against the shared routes,
writing through a responder that respects HTTP/2 flow control. A client that resets its
stream (closing a push query) makes the next write raise ClientGone.
"""

from __future__ import annotations

import json
import logging
import threading

import h2.config
import h2.connection
import h2.events
import h2.exceptions

from socksort.ksql.server.responder import JSON_TYPE, ClientGone

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

log = logging.getLogger("socksort.ksql.http2")


class _Headers(dict):
    """Request headers, looked up case-insensitively like http.server's."""

    def get(self, name, default=None):
        return super().get(name.lower(), default)


class _Connection:
    def __init__(self, sock, routes):
        self.sock = sock
        self.routes = routes
        self.h2 = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        self.cond = threading.Condition()
        self.requests: dict[int, tuple[_Headers, bytearray]] = {}
        self.reset: set[int] = set()
        self.dead = False

    def serve(self) -> None:
        with self.cond:
            self.h2.initiate_connection()
            self.flush()
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                break
            if not data:
                break
            with self.cond:
                try:
                    events = self.h2.receive_data(data)
                except h2.exceptions.ProtocolError:
                    self.flush()
                    break
                for event in events:
                    self.on_event(event)
                self.flush()
                self.cond.notify_all()
        with self.cond:
            self.dead = True
            self.cond.notify_all()

    def on_event(self, event) -> None:
        if isinstance(event, h2.events.RequestReceived):
            self.requests[event.stream_id] = (_Headers((k.lower(), v) for k, v in event.headers),
                                              bytearray())
        elif isinstance(event, h2.events.DataReceived):
            self.requests.get(event.stream_id, (None, bytearray()))[1].extend(event.data)
            self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            headers, body = self.requests.pop(event.stream_id, (_Headers(), bytearray()))
            threading.Thread(target=self.dispatch, args=(event.stream_id, headers, bytes(body)),
                             daemon=True, name=f"h2-stream-{event.stream_id}").start()
        elif isinstance(event, h2.events.StreamReset):
            self.reset.add(event.stream_id)

    def flush(self) -> None:
        data = self.h2.data_to_send()
        if data:
            try:
                self.sock.sendall(data)
            except OSError:
                self.dead = True

    def dispatch(self, stream_id: int, headers: _Headers, body: bytes) -> None:
        responder = _Stream(self, stream_id, headers)
        try:
            if headers.get(":method") == "GET":
                self.routes.get(headers.get(":path", "/"), responder)
            else:
                self.routes.post(headers.get(":path", "/"), responder, body)
        except ClientGone:
            pass
        except Exception:  # noqa: BLE001 - one stream failing must not end the connection
            log.exception("HTTP/2 request failed")
        finally:
            responder.finish()


class _Stream:
    """The responder (``responder.Responder``) of one HTTP/2 stream."""

    def __init__(self, connection: _Connection, stream_id: int, headers: _Headers):
        self.c = connection
        self.id = stream_id
        self.headers = headers
        self.ended = False

    def _headers(self, status: int, content_type: str | None, end: bool, length: int | None = None):
        fields = [(":status", str(status))]
        if content_type:
            fields.append(("content-type", content_type))
        if length is not None:
            fields.append(("content-length", str(length)))
        with self.c.cond:
            self._check()
            self.c.h2.send_headers(self.id, fields, end_stream=end)
            self.c.flush()
        self.ended = end

    def send_json(self, status: int, obj) -> None:
        data = json.dumps(obj).encode()
        self._headers(status, JSON_TYPE, False, len(data))
        self._send(data)
        self.end()

    def start_empty(self, status: int) -> None:
        self._headers(status, None, True, 0)

    def start(self, content_type: str) -> None:
        self._headers(200, content_type, False)

    def send(self, text: str) -> None:
        self._send(text.encode())

    def _send(self, data: bytes) -> None:
        while data:
            with self.c.cond:
                self._check()
                window = min(self.c.h2.local_flow_control_window(self.id),
                             self.c.h2.max_outbound_frame_size)
                if window <= 0:
                    self.c.cond.wait(1.0)
                    continue
                self.c.h2.send_data(self.id, data[:window])
                self.c.flush()
            data = data[window:]

    def _check(self) -> None:
        if self.c.dead or self.id in self.c.reset:
            raise ClientGone()

    def end(self) -> None:
        if self.ended:
            return
        self.ended = True
        with self.c.cond:
            if not self.c.dead and self.id not in self.c.reset:
                self.c.h2.end_stream(self.id)
                self.c.flush()

    def finish(self) -> None:
        try:
            self.end()
        except Exception:  # noqa: BLE001 - the stream is gone either way
            pass


def serve_connection(sock, routes) -> None:
    """Serve one HTTP/2 connection whose preface is still unread on ``sock``."""
    _Connection(sock, routes).serve()
