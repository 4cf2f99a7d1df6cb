"""Small network helpers shared by the stack, the tests and the benchmarks."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (for tests and benchmarks that start servers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, timeout: float = 30.0) -> bool:
    """Poll until something accepts TCP connections on host:port, or the timeout passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return True
        time.sleep(0.1)
    return False


class HttpError(Exception):
    """An HTTP error answer, carrying the server's own message (its JSON ``message`` when it
    sends one, as Kafka Connect and ksqlDB do) so callers can show it in one line."""

    def __init__(self, status: int, message: str):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


def json_request(url: str, method: str = "GET", body: object | None = None, timeout: float = 30) -> object:
    """Send ``body`` as JSON and return the parsed JSON answer (None for an empty one).

    Raises :class:`HttpError` for an error status, ``OSError`` when nothing answers and
    ``ValueError`` when the answer is not JSON.
    """
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            message = json.loads(raw).get("message", raw.decode(errors="replace"))
        except (ValueError, AttributeError):
            message = raw.decode(errors="replace")
        raise HttpError(exc.code, message) from None
    return json.loads(raw) if raw else None
