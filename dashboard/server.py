"""The dashboard's HTTP side: the page, its event stream, the camera stream, a reset.

Routes:
  GET  /             the page (static/index.html)
  GET  /static/NAME  the page's script and style
  GET  /teach        the teach page (static/teach.html)
  GET  /events       server-sent events (pairs, showings, frames, current, health, queries)
  GET  /api/live     everything the page shows, as one JSON object (also ``GET /api/state``
                     when the request's Accept asks for JSON and not a zip, as before)
  POST /api/session  a new sorting session (what ``socksort pairs --reset`` does)
  *    /api/showings, /api/socks/...  an open-set session's showings, split, join and name
                     (socksort.dashboard.socks)
  *    /api/...      the teach API (socksort.dashboard.teach.routes; README "Teach over HTTP")
  GET  /stream.mjpg  the edge function's annotated stream, relayed
  GET  /healthz      the dashboard itself answers

With an API token every ``/api/`` request needs ``Authorization: Bearer <token>``.

The camera stream is relayed rather than linked so the page works from another machine
(the edge usually listens on 127.0.0.1) and stays same-origin, which lets the page read
the frames' pixels.
"""

from __future__ import annotations

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from socksort.dashboard.app import Dashboard
from socksort.dashboard.sse import comment
from socksort.dashboard.teach import auth
from socksort.dashboard.teach.web import MAX_IMAGE, MAX_JSON, ApiError, Request, Response, TooLarge, error

STATIC = Path(__file__).resolve().parent / "static"
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}
KEEPALIVE_S = 10.0
DRAIN_LIMIT = 64 * 1024 * 1024   # an unread body up to this is read off before answering


class DashboardServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, dashboard: Dashboard):
        listen = dashboard.settings.listen
        self.dashboard = dashboard
        self.stopping = threading.Event()
        super().__init__((listen.host, listen.port), Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"

    def shutdown(self) -> None:
        self.stopping.set()
        super().shutdown()


class Handler(BaseHTTPRequestHandler):
    server: DashboardServer
    server_version = "socksort-dashboard"

    def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's name
        pass  # one line per request would drown the demo's progress output

    # --- routing --------------------------------------------------------------------

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path.startswith("/api/"):
            return self._api(path)
        if path == "/":
            return self._static("index.html")
        if path == "/teach":
            return self._static("teach.html")
        if path.startswith("/static/"):
            return self._static(path[len("/static/"):])
        if path == "/events":
            return self._events()
        if path == "/stream.mjpg":
            return self._relay_stream()
        if path == "/healthz":
            return self._json(200, {"ok": True})
        self._json(404, {"error": f"no such page: {path}"})

    def do_POST(self) -> None:
        self._api(urlsplit(self.path).path)

    def do_PATCH(self) -> None:
        self._api(urlsplit(self.path).path)

    def do_DELETE(self) -> None:
        self._api(urlsplit(self.path).path)

    # --- /api/ ------------------------------------------------------------------------

    def _api(self, path: str) -> None:
        body = _Body(self)
        try:
            if not auth.authorized(self.headers.get("Authorization"), self.server.dashboard.settings.api_token):
                response = error(401, "this API needs an Authorization: Bearer <token> header with the API token")
                response.headers["WWW-Authenticate"] = 'Bearer realm="socksort"'
                return self._respond(response)
            if path == "/api/live" or (path == "/api/state" and self.command == "GET"
                                       and _wants_json(self.headers.get("Accept", ""))):
                if self.command != "GET":
                    return self._respond(error(405, f"{self.command} is not allowed on {path} (use GET)"))
                return self._json(200, self.server.dashboard.state())
            if path == "/api/session":
                if self.command != "POST":
                    return self._respond(error(405, f"{self.command} is not allowed on {path} (use POST)"))
                ok, message = self.server.dashboard.new_session()
                return self._json(200 if ok else 502, {"ok": ok, "message": message})
            query = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
            headers = {name.lower(): value for name, value in self.headers.items()}
            request = Request(self.command, path, query, headers, body.read, body.copy)
            socks = self.server.dashboard.socks
            self._respond((socks if socks.handles(path) else self.server.dashboard.teach).handle(request))
        finally:
            body.drain()

    # --- responses ------------------------------------------------------------------

    def _respond(self, response: Response) -> None:
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.stream is None:
            if response.status != 204:
                self.send_header("Content-Length", str(len(response.body)))
            if "Cache-Control" not in response.headers:
                self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if response.body:
                self.wfile.write(response.body)
            return
        if response.length is not None:
            self.send_header("Content-Length", str(response.length))
        self.end_headers()
        try:
            for chunk in response.stream:
                self.wfile.write(chunk)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass   # the client went away
        finally:
            close = getattr(response.stream, "close", None)
            if close is not None:
                close()

    def _json(self, status: int, obj) -> None:
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _static(self, name: str) -> None:
        # Only files that exist directly in static/: no path from the request reaches the
        # filesystem beyond picking one of those names.
        files = {p.name: p for p in STATIC.iterdir() if p.is_file()}
        if name not in files:
            return self._json(404, {"error": f"no such file: {name}"})
        body = files[name].read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPES.get(files[name].suffix, "application/octet-stream"))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(body)

    def _events(self) -> None:
        dashboard = self.server.dashboard
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        client = dashboard.hub.connect(first=dashboard.greeting())
        try:
            self.wfile.write(b"retry: 1000\n\n")
            self.wfile.flush()
            while not self.server.stopping.is_set():
                message = client.next(timeout=KEEPALIVE_S)
                self.wfile.write(message if message is not None else comment("keep-alive"))
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the page went away
        finally:
            dashboard.hub.disconnect(client)

    def _relay_stream(self) -> None:
        edge = urlsplit(self.server.dashboard.settings.edge_url)
        connection_class = http.client.HTTPSConnection if edge.scheme == "https" else http.client.HTTPConnection
        upstream = connection_class(edge.hostname, edge.port, timeout=5)
        try:
            upstream.request("GET", (edge.path or "") + "/stream.mjpg")
            response = upstream.getresponse()
        except OSError as exc:
            upstream.close()
            return self._json(503, {"error": f"the camera stream at {self.server.dashboard.settings.edge_url} "
                                             f"is not reachable: {exc}"})
        try:
            if response.status != 200:
                return self._json(502, {"error": f"the edge function answered HTTP {response.status}"})
            self.send_response(200)
            self.send_header("Content-Type", response.getheader("Content-Type", "multipart/x-mixed-replace"))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            while not self.server.stopping.is_set():
                chunk = response.read1(65536)
                if not chunk:
                    break
                self.wfile.write(chunk)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, TimeoutError, OSError):
            pass  # either side went away; the page retries
        finally:
            upstream.close()


def _wants_json(accept: str) -> bool:
    """An Accept header that asks for JSON and not for a zip: the page's snapshot, as
    ``GET /api/state`` answered before the teach API's export took that name."""
    accept = accept.lower()
    return "application/json" in accept and "zip" not in accept


class _Body:
    """A request's body, read at most once and only as far as the route's limit allows."""

    def __init__(self, handler: BaseHTTPRequestHandler):
        self.handler = handler
        text = handler.headers.get("Content-Length", "")
        self.length = int(text) if text.strip().isdigit() else 0
        self.chunked = "chunked" in handler.headers.get("Transfer-Encoding", "").lower()
        self.consumed = 0

    def _check(self, limit: int) -> None:
        if self.chunked:
            raise ApiError(411, "send the body with a Content-Length (chunked uploads are not accepted)")
        if self.consumed:
            raise ApiError(500, "the request body was already read")
        if self.length > limit:
            self.drain()
            # An image upload's limit is the image's, whatever the form or base64 adds.
            raise TooLarge("the upload", MAX_IMAGE if limit <= MAX_JSON else limit)

    def read(self, limit: int) -> bytes:
        self._check(limit)
        data = self.handler.rfile.read(self.length) if self.length else b""
        self.consumed = self.length
        if len(data) < self.length:
            raise ApiError(400, f"the body ended after {len(data)} of {self.length} bytes")
        return data

    def copy(self, out, limit: int) -> int:
        self._check(limit)
        left = self.length
        while left:
            block = self.handler.rfile.read(min(left, 1 << 20))
            if not block:
                raise ApiError(400, f"the body ended after {self.length - left} of {self.length} bytes")
            out.write(block)
            left -= len(block)
            self.consumed += len(block)
        return self.length

    def drain(self) -> None:
        """Read off what no route read, so closing the connection does not reset it before
        the client reads the answer; a body too large to read off closes it at once."""
        left = self.length - self.consumed
        if left <= 0 or self.chunked:
            return
        if left > DRAIN_LIMIT:
            self.handler.close_connection = True
            self.consumed = self.length
            return
        while left > 0:
            block = self.handler.rfile.read(min(left, 1 << 20))
            if not block:
                break
            left -= len(block)
        self.consumed = self.length
