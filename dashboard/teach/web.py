"""What the teach API's routes take and give: a request, a response, an error with a status.

The routes never touch the socket. The dashboard's handler builds a :class:`Request`
(whose body is read only when a route asks for it, with that route's size limit) and
writes the :class:`Response` back, streaming it when it has a ``stream``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Callable, Iterator

from socksort.dashboard.teach import multipart

MB = 1024 * 1024
MAX_IMAGE = 10 * MB          # an upload over this answers 400
# A JSON body carries the image as base64 (4 bytes per 3) plus a little else.
MAX_JSON = MAX_IMAGE * 4 // 3 + 64 * 1024
MAX_FORM = MAX_IMAGE + 64 * 1024


class ApiError(Exception):
    """An answer other than success: the status and the one line that says why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class TooLarge(ApiError):
    def __init__(self, what: str, limit: int):
        super().__init__(400, f"{what} is over {limit // MB} MB")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]                      # names lower-cased
    read_body: Callable[[int], bytes]            # the whole body, or TooLarge past the limit
    copy_body: Callable[[object, int], int]      # the body into a binary file; TooLarge past the limit

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    @property
    def media_type(self) -> str:
        return self.header("content-type").split(";", 1)[0].strip().lower()

    def json(self, limit: int = MAX_JSON, *, required: bool = True) -> dict:
        """The body as a JSON object; an empty body is ``{}`` unless ``required``."""
        body = self.read_body(limit)
        if not body.strip():
            if required:
                raise ApiError(400, "the request needs a JSON object body")
            return {}
        try:
            value = json.loads(body)
        except UnicodeDecodeError:
            raise ApiError(400, "the body is not UTF-8 JSON") from None
        except ValueError as exc:
            raise ApiError(400, f"the body is not valid JSON ({exc})") from None
        if not isinstance(value, dict):
            raise ApiError(400, "the body must be a JSON object")
        return value

    def form(self, limit: int = MAX_FORM) -> dict[str, multipart.Part]:
        body = self.read_body(limit)
        try:
            return multipart.parse(body, self.header("content-type"))
        except multipart.BadMultipart as exc:
            raise ApiError(400, str(exc)) from None


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    stream: Iterator[bytes] | None = None        # written chunk by chunk, flushed each time
    length: int | None = None                    # of the stream, when known

    @classmethod
    def of_json(cls, status: int, obj) -> "Response":
        return cls(status, json.dumps(obj).encode("utf-8"))


def error(status: int, message: str) -> Response:
    return Response.of_json(status, {"success": False, "error": message})


def string_field(body: dict, name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"the JSON body needs {name!r} as a string")
    return value


def base64_image(body: dict) -> bytes:
    """The image bytes of a JSON body's ``base64`` field (a data: URL prefix is allowed)."""
    text = string_field(body, "base64")
    if text.startswith("data:"):
        text = text.partition(",")[2]
    if len(text) > MAX_JSON:
        raise TooLarge("the image", MAX_IMAGE)
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "'base64' is not valid base64") from None
    if len(data) > MAX_IMAGE:
        raise TooLarge("the image", MAX_IMAGE)
    return data


def upload(request: Request) -> tuple[bytes, str, dict[str, str]]:
    """An image from a multipart ``file`` part or a JSON ``base64`` field: (bytes, a name
    for messages, the other text fields)."""
    if request.media_type == "multipart/form-data":
        parts = request.form()
        if "file" not in parts:
            raise ApiError(400, "the form has no 'file' part")
        file = parts["file"]
        if len(file.data) > MAX_IMAGE:
            raise TooLarge("the image", MAX_IMAGE)
        fields = {name: part.text() for name, part in parts.items() if name != "file"}
        return file.data, repr(file.filename) if file.filename else "the uploaded file", fields
    body = request.json()
    fields = {k: v for k, v in body.items() if k != "base64"}
    return base64_image(body), "the base64 image", fields
