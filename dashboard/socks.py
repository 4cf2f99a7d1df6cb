"""The open-set session's API: see the camera's showings, split, join and name socks.

  GET  /api/showings               the edge's showings (``/showings.json``), each crop as a URL
                                   below, and the names given: {"showings": [{"id", "label",
                                   "partner", "started_ms", "crops": [URL, ...]}], "names", "dropped"}
  GET  /api/showings/ID/K.jpg      crop K of showing ID, relayed from the edge
  POST /api/socks/split            {"label"}: the pair was two different socks
  POST /api/socks/join             {"labels": [A, B]}: the singles A and B are one pair, labelled A
  POST /api/socks/name             {"label", "name"}: show the label as the name, and add its
                                   showings' crops to the teach dataset as examples of that name
  GET  /api/socks/corrections      what was corrected in this session, in order

Split and join are made on the edge first (so it labels later frames accordingly), then
recorded in the :class:`~socksort.dashboard.corrections.CorrectionLog` that corrects the pair
table. The edge must run ``socksort edge --match``; with several cameras that match at a
``socksort match-service``, the service stands where the edge would (``--showings-url``).
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Callable

from socksort.dashboard import corrections
from socksort.dashboard.corrections import CorrectionLog, Join, Name, Split
from socksort.dashboard.teach import fetch
from socksort.dashboard.teach.web import MAX_IMAGE, ApiError, Request, Response, error, string_field
from socksort.errors import UserError
from socksort.examples import ExampleStore, validate_label

MAX_SHOWINGS_JSON = 4 * 1024 * 1024
CROP = re.compile(r"/api/showings/(\d{1,9})/(\d{1,4})\.jpg")


class SocksApi:
    def __init__(self, edge_url: str, log: CorrectionLog, examples: ExampleStore,
                 changed: Callable[[], None] = lambda: None):
        """``changed()`` is called after each correction, so the pair table is shown anew."""
        self.edge_url = edge_url.rstrip("/")
        self.log = log
        self.examples = examples
        self.changed = changed

    def handles(self, path: str) -> bool:
        return path == "/api/showings" or path.startswith("/api/socks/") or CROP.fullmatch(path) is not None

    def handle(self, request: Request) -> Response:
        routes = {("GET", "/api/showings"): self.showings, ("POST", "/api/socks/split"): self.split,
                  ("POST", "/api/socks/join"): self.join, ("POST", "/api/socks/name"): self.name,
                  ("GET", "/api/socks/corrections"): self.corrections}
        crop = CROP.fullmatch(request.path)
        try:
            if crop is not None:
                if request.method != "GET":
                    raise ApiError(405, f"{request.method} is not allowed on {request.path} (use GET)")
                return self.crop(int(crop.group(1)), int(crop.group(2)))
            route = routes.get((request.method, request.path))
            if route is None:
                methods = sorted(m for m, p in routes if p == request.path)
                if methods:
                    raise ApiError(405, f"{request.method} is not allowed on {request.path} (use {', '.join(methods)})")
                raise ApiError(404, f"no such endpoint: {request.path}")
            return route(request)
        except ApiError as exc:
            return error(exc.status, exc.message)
        except UserError as exc:
            return error(400, str(exc))

    # --- reading ----------------------------------------------------------------------

    def showings(self, request: Request) -> Response:
        album = self._album()
        shown = [{**entry, "crops": [f"/api/showings/{entry['id']}/{k}.jpg" for k in range(entry["crops"])]}
                 for entry in album["showings"]]
        return Response.of_json(200, {"showings": shown, "names": corrections.names(self.log.items()),
                                      "dropped": album.get("dropped", 0)})

    def crop(self, number: int, index: int) -> Response:
        try:
            fetched = fetch.get(f"{self.edge_url}/showings/{number}/{index}.jpg", MAX_IMAGE)
        except fetch.FetchFailed as exc:
            raise ApiError(404 if exc.status == 404 else 502, f"no crop from the edge: {exc}") from None
        response = Response(200, fetched.data, "image/jpeg")
        response.headers["Cache-Control"] = "max-age=3600"   # a showing's crops never change
        return response

    def corrections(self, request: Request) -> Response:
        kinds = {Split: "split", Join: "join", Name: "name"}
        return Response.of_json(200, {"corrections": [{"kind": kinds[type(c)], **vars(c)} for c in self.log.items()]})

    # --- correcting -------------------------------------------------------------------

    def split(self, request: Request) -> Response:
        label = string_field(request.json(), "label")
        answer = self._edge_post("/showings/split", {"label": label})
        self.log.add(Split(answer["label"], answer["new_label"]))
        self.changed()
        return Response.of_json(200, answer)

    def join(self, request: Request) -> Response:
        labels = request.json().get("labels")
        if not (isinstance(labels, list) and len(labels) == 2 and all(isinstance(x, str) for x in labels)):
            raise ApiError(400, "the JSON body needs 'labels' as a list of two labels")
        answer = self._edge_post("/showings/join", {"labels": labels})
        self.log.add(Join(answer["label"], answer["joined"]))
        self.changed()
        return Response.of_json(200, answer)

    def name(self, request: Request) -> Response:
        body = request.json()
        label = string_field(body, "label")
        name = validate_label(string_field(body, "name"))
        crops = [(entry["id"], k) for entry in self._album()["showings"] if entry["label"] == label
                 for k in range(entry["crops"])]
        if not crops:
            raise ApiError(404, f"the camera keeps no showing labelled {label!r} (it keeps its recent showings only)")
        added = []
        for number, k in crops:
            try:
                data = fetch.get(f"{self.edge_url}/showings/{number}/{k}.jpg", MAX_IMAGE).data
            except fetch.FetchFailed as exc:
                raise ApiError(502, f"no crop from the edge: {exc}") from None
            added.append(self.examples.add(data, name, name=f"crop {k} of showing {number}"))
        self.log.add(Name(label, name))
        self.changed()
        return Response.of_json(200, {"label": label, "name": name,
                                      "examples_added": sum(a.created for a in added),
                                      "examples": [a.example.id for a in added]})

    # --- the edge ---------------------------------------------------------------------

    def _album(self) -> dict:
        try:
            fetched = fetch.get(f"{self.edge_url}/showings.json", MAX_SHOWINGS_JSON)
        except fetch.FetchFailed as exc:
            raise ApiError(502, _without_match(exc) if exc.status == 404 else f"the edge: {exc}") from None
        return json.loads(fetched.data)

    def _edge_post(self, path: str, body: dict) -> dict:
        url = f"{self.edge_url}{path}"
        request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=fetch.TIMEOUT) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = _error_of(exc)
            if exc.code == 404 and "--match" in detail:
                raise ApiError(502, _without_match(detail)) from None
            raise ApiError(exc.code if exc.code in (400, 404, 409) else 502, detail) from None
        except (urllib.error.URLError, OSError) as exc:
            raise ApiError(502, f"the edge at {url} is unreachable ({getattr(exc, 'reason', exc)})") from None


def _error_of(exc: urllib.error.HTTPError) -> str:
    try:
        return json.loads(exc.read())["error"]
    except (ValueError, KeyError, TypeError):
        return f"the edge answered HTTP {exc.code}"


def _without_match(detail) -> str:
    return f"the camera keeps no showings: run it as `socksort edge --match` ({detail})"
