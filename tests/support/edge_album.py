"""An open-set camera's album, made here, served by the real edge page: for the tests of the
edge's /showings routes and of the dashboard's corrections that call them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import cv2
import numpy as np

from socksort.config import HostPort
from socksort.edge_lambda.album import Album
from socksort.edge_lambda.http import EdgeHttpServer, JpegHub
from socksort.edge_lambda.showings import Showing
from socksort.net import free_port


def jpeg(value: int, size: int = 40) -> bytes:
    """A plain grey square, ``value`` bright."""
    return cv2.imencode(".jpg", np.full((size, size, 3), value, np.uint8))[1].tobytes()


def add_showing(album: Album, label: str | None = None, partner: Showing | None = None,
                crops: tuple[bytes, ...] | None = None) -> Showing:
    """A decided showing, as the matcher hands it to the album: a new sock, or ``partner``'s pair."""
    showing = Showing(next(album.showing_numbers), label or f"sock-{next(album.numbers)}", None)
    if partner is not None:
        showing.partner, partner.partner = partner.number, showing.number
    # Each showing's crops differ from every other's, as photos of a sock do.
    crops = crops if crops is not None else (jpeg(200 - showing.number), jpeg(60 + showing.number))
    album.add(showing, list(crops), started_ms=1000 * showing.number)
    return showing


def pair_and_single() -> Album:
    """The pair sock-1 (showings 1 and 2) and the single sock-2 (showing 3)."""
    album = Album()
    first = add_showing(album)
    add_showing(album, "sock-1", partner=first)
    add_showing(album)
    return album


def serve(album: Album | None) -> EdgeHttpServer:
    """The edge page with ``album`` (None: an edge without --match) and nothing else to show."""
    def unused():
        raise AssertionError("not asked for here")

    return EdgeHttpServer(HostPort("127.0.0.1", free_port()), JpegHub(), unused, unused, album=album).start()


def post(url: str, body) -> tuple[int, dict]:
    """POST ``body`` (JSON, or bytes as they are) and read the JSON answer, whatever its status."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
