"""``multipart/form-data`` bodies (RFC 7578), parsed without the removed ``cgi`` module.

The body is already in memory and bounded by the caller (uploads are at most a few MB), so
this is a plain split on the boundary. Only what a form upload needs is read from each
part's headers: the field ``name`` and the ``filename`` from ``Content-Disposition``. A
part's declared ``Content-Type`` is kept but means nothing here: the teach API decodes an
upload's bytes to decide whether it is an image.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message

from socksort.errors import UserError


class BadMultipart(UserError):
    """A body that is not the multipart/form-data it claims to be."""


@dataclass(frozen=True)
class Part:
    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None

    def text(self) -> str:
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError:
            raise BadMultipart(f"form field {self.name!r} is not UTF-8 text") from None


def boundary_of(content_type: str) -> str:
    """The boundary parameter of a ``multipart/form-data`` Content-Type header."""
    header = Message()
    header["Content-Type"] = content_type
    if header.get_content_type() != "multipart/form-data":
        raise BadMultipart(f"expected multipart/form-data, got {header.get_content_type()!r}")
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary or len(boundary) > 200:
        raise BadMultipart("the multipart/form-data Content-Type has no boundary")
    return boundary


def parse(body: bytes, content_type: str) -> dict[str, Part]:
    """The parts of a form body by field name (the first of a repeated name wins)."""
    delimiter = b"--" + boundary_of(content_type).encode("latin-1")
    start = body.find(delimiter)
    if start < 0:
        raise BadMultipart("the multipart body does not contain its boundary")
    parts: dict[str, Part] = {}
    position = start + len(delimiter)
    while True:
        if body.startswith(b"--", position):
            return parts   # the closing delimiter
        if not body.startswith(b"\r\n", position):
            raise BadMultipart("a multipart boundary is not followed by a line break")
        position += 2
        end = body.find(b"\r\n" + delimiter, position)
        if end < 0:
            raise BadMultipart("the multipart body ends before its closing boundary")
        part = _part(body[position:end])
        parts.setdefault(part.name, part)
        position = end + 2 + len(delimiter)


def _part(raw: bytes) -> Part:
    head, separator, data = raw.partition(b"\r\n\r\n")
    if not separator:
        if raw.startswith(b"\r\n"):          # no headers at all
            head, data = b"", raw[2:]
        else:
            raise BadMultipart("a multipart part has no blank line after its headers")
    headers = Message()
    for line in head.decode("utf-8", "replace").split("\r\n"):
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip()] = value.strip()
    disposition = headers.get("Content-Disposition")
    if disposition is None:
        raise BadMultipart("a multipart part has no Content-Disposition header")
    field = Message()
    field["Content-Disposition"] = disposition
    name = field.get_param("name", header="Content-Disposition")
    if not isinstance(name, str) or not name:
        raise BadMultipart("a multipart part's Content-Disposition names no field")
    filename = field.get_filename()
    return Part(name=name, data=data, filename=filename, content_type=headers.get("Content-Type"))
