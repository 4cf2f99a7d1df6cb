"""The dashboard's HTTP side: the page, its event stream, the camera stream, a reset.

Routes:
  GET  /             the page (static/index.html)
  GET  /static/NAME  the page's script and style
  GET  /events       server-sent events (pairs, showings, frames, current, health, queries)
  GET  /api/state    everything the page shows, as one JSON object
  POST /api/session  a new sorting session (what ``socksort pairs --reset`` does)
  GET  /stream.mjpg  the edge function's annotated stream, relayed
  GET  /healthz      the dashboard itself answers

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
from urllib.parse import urlsplit

from socksort.dashboard.app import Dashboard
from socksort.dashboard.sse import comment

STATIC = Path(__file__).resolve().parent / "static"
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}
KEEPALIVE_S = 10.0


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
        if path == "/":
            return self._static("index.html")
        if path.startswith("/static/"):
            return self._static(path[len("/static/"):])
        if path == "/events":
            return self._events()
        if path == "/api/state":
            return self._json(200, self.server.dashboard.state())
        if path == "/stream.mjpg":
            return self._relay_stream()
        if path == "/healthz":
            return self._json(200, {"ok": True})
        self._json(404, {"error": f"no such page: {path}"})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if path == "/api/session":
            ok, message = self.server.dashboard.new_session()
            return self._json(200 if ok else 502, {"ok": ok, "message": message})
        self._json(404, {"error": f"no such endpoint: {path}"})

    # --- responses ------------------------------------------------------------------

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
