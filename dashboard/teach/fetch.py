"""Fetching one image over HTTP: bounded in time and size, every failure one line."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

TIMEOUT = 5.0


class FetchFailed(Exception):
    """The URL gave no usable answer; the message says why, naming the URL."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status   # the HTTP status the server answered, if it answered


@dataclass(frozen=True)
class Fetched:
    url: str
    data: bytes


def get(url: str, limit: int, timeout: float = TIMEOUT) -> Fetched:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchFailed(f"{url!r} is not an http:// or https:// URL")
    request = urllib.request.Request(url, headers={"Accept": "image/*"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise FetchFailed(f"{url} answered {int(declared)} bytes, over the {limit // (1024 * 1024)} MB limit")
            data = response.read(limit + 1)
    except urllib.error.HTTPError as exc:
        raise FetchFailed(f"{url} answered HTTP {exc.code}", status=exc.code) from None
    except (urllib.error.URLError, OSError, socket.timeout) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchFailed(f"{url} is unreachable ({reason})") from None
    if len(data) > limit:
        raise FetchFailed(f"{url} answered more than the {limit // (1024 * 1024)} MB limit")
    return Fetched(url, data)
