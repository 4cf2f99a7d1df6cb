"""``socksort match-service``: matching by look across cameras.

Each ``socksort edge --match --match-service URL`` still finds its own showings (its own
empty scene, its own frames) and makes each showing's look; at the close of a showing it
asks this service for the label. The service holds every camera's looks, so a sock shown to
one camera and its twin shown to another get one label, numbered once for all cameras.

Why here: a showing's label must be final before its frames go out (a label that changed
later would split the pipeline's count), so the match must be made when the showing closes,
where every camera's looks are, and only one place numbers the socks, so two cameras never
hand out the same ``sock-<n>`` for different socks. Frames, backgrounds and showings stay at
each camera: only a look (a few thousand numbers) and a few crops cross the network, once
per showing.

Looks from different models cannot be compared, so each model has its own pool; sock
numbers are shared by all pools. The service keeps the album of every camera's showings
(``album_http.py``'s routes), so the dashboard corrects a fleet here as it corrects one edge.

    POST /decide     {"device", "model", "look": [float, ...], "crops": [base64 JPEG, ...],
                     "started_ms"}: answers {"id", "label", "partner"}
    GET  /healthz    {"status": "ok", "showings", "pools"}
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import numpy as np

from socksort.config import HostPort
from socksort.edge_lambda import album_http
from socksort.edge_lambda.album import Album
from socksort.edge_lambda.showings import Pool, Showing, Threshold
from socksort.errors import UserError

MAX_DECIDE = 4 * 1024 * 1024    # a /decide body: a look and up to MAX_CROPS crops
MAX_CROPS = 16
MAX_LOOK = 16384                # values in a look


@dataclass(frozen=True)
class Decide:
    """One camera's showing, as it asks for its label."""
    device: str
    model: str
    look: np.ndarray              # L2-normalised here
    crops: tuple[bytes, ...]
    started_ms: int

    @classmethod
    def from_json(cls, body: bytes) -> "Decide":
        try:
            fields = json.loads(body)
        except ValueError:
            raise ValueError("the body is not JSON") from None
        if not isinstance(fields, dict):
            raise ValueError("the body must be a JSON object")
        device, model = album_http.text(fields, "device"), album_http.text(fields, "model")
        look = fields.get("look")
        if not (isinstance(look, list) and 0 < len(look) <= MAX_LOOK
                and all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in look)):
            raise ValueError(f'"look" must be a list of 1 to {MAX_LOOK} finite numbers')
        vector = np.asarray(look, dtype=np.float64)
        norm = float(np.linalg.norm(vector))
        if norm == 0:
            raise ValueError('"look" is all zeros')
        crops = fields.get("crops", [])
        if not (isinstance(crops, list) and len(crops) <= MAX_CROPS and all(isinstance(c, str) for c in crops)):
            raise ValueError(f'"crops" must be a list of at most {MAX_CROPS} base64 JPEG strings')
        try:
            images = tuple(base64.b64decode(c, validate=True) for c in crops)
        except (binascii.Error, ValueError):
            raise ValueError('a crop in "crops" is not valid base64') from None
        started = fields.get("started_ms", 0)
        if not isinstance(started, int) or isinstance(started, bool):
            raise ValueError('"started_ms" must be an integer')
        return cls(device, model, vector / norm, images, started)


class MatchService:
    """Every camera's showings, a pool per model, one album and one numbering."""

    def __init__(self, threshold: Threshold = Threshold(), numbers: Iterator[int] | None = None,
                 limit: int = 1024):
        self.album = Album(numbers, limit)
        self.threshold = threshold
        self._pools: dict[str, Pool] = {}

    @property
    def pools(self) -> int:
        return len(self._pools)

    def decide(self, asked: Decide) -> Showing:
        with self.album.lock:
            pool = self._pools.get(asked.model)
            if pool is None:
                pool = self._pools[asked.model] = Pool(self.threshold, self.album.numbers,
                                                       self.album.showing_numbers, self.album.lock)
            earlier = next((s.look for s in pool.showings if s.look is not None), None)
            if earlier is not None and earlier.shape != asked.look.shape:
                raise ValueError(f"the look has {asked.look.size} values; model {asked.model!r}'s looks "
                                 f"have {earlier.size}")
            showing = pool.decide(asked.look, [], asked.started_ms)
            self.album.add(showing, list(asked.crops), asked.started_ms, device=asked.device)
            return showing


class MatchServiceServer:
    def __init__(self, address: HostPort, service: MatchService):
        self.service = service
        try:
            self._server = ThreadingHTTPServer((address.host, address.port), _handler_class(service))
        except OSError as exc:
            raise UserError(f"cannot serve the match service on {address}: {exc.strerror or exc}") from None
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="match-service", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "MatchServiceServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _handler_class(service: MatchService):
    class Handler(BaseHTTPRequestHandler):
        server_version = "socksort-match-service"
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # one line per showing would drown the service's own
            pass

        def do_GET(self):
            path = self.path.partition("?")[0]
            if path == "/healthz":
                self._json(200, {"status": "ok", "showings": len(service.album.entries()), "pools": service.pools})
                return
            answer = album_http.get(service.album, path)
            self._send(*answer) if answer is not None else self._json(404, {"error": f"no such page: {path}"})

        def do_POST(self):
            path = self.path.partition("?")[0]
            length = int(self.headers.get("Content-Length") or 0)
            limit = MAX_DECIDE if path == "/decide" else album_http.MAX_BODY
            if path != "/decide" and path not in album_http.POSTS:
                self.close_connection = True   # the body is not read: it must not pass for a request
                self._json(404, {"error": f"no such page: {path}"})
                return
            if length > limit:
                self.close_connection = True
                self._json(400, {"error": f"the body is {length} bytes; {path} takes at most {limit}"})
                return
            body = self.rfile.read(length)
            if path != "/decide":
                self._send(*album_http.post(service.album, path, body))
                return
            try:
                showing = service.decide(Decide.from_json(body))
            except ValueError as exc:
                self._json(400, {"error": str(exc)})
                return
            self._json(200, {"id": showing.number, "label": showing.label, "partner": showing.partner})

        def _json(self, code: int, obj) -> None:
            self._send(code, "application/json", json.dumps(obj).encode())

        def _send(self, code: int, kind: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

    return Handler
