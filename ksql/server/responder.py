"""What the REST routes write their answers through, on HTTP/1.1 (``rest.Handler``) and
HTTP/2 (``http2``'s streams) alike, and the error either raises when the client is gone."""

from __future__ import annotations

from typing import Protocol

JSON_TYPE = "application/json"


class ClientGone(Exception):
    """The HTTP client closed the connection while a query was streaming."""


class Responder(Protocol):
    headers: object                     # the request's, looked up case-insensitively

    def send_json(self, status: int, obj) -> None: ...
    def start_empty(self, status: int) -> None: ...
    def start(self, content_type: str) -> None: ...
    def send(self, text: str) -> None: ...       # raises ClientGone
    def end(self) -> None: ...
