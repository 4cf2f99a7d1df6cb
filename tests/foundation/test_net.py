"""socksort.net.json_request: the one JSON-over-HTTP call the stack and the ksql engine share."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from socksort.net import HttpError, free_port, json_request


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass

    def _answer(self, status: int, body: bytes, content_type: str = "application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/refused-json":
            self._answer(409, json.dumps({"error_code": 409, "message": "Connector x already exists"}).encode())
        elif self.path == "/refused-text":
            self._answer(500, b"Internal Server Error", "text/plain")
        elif self.path == "/empty":
            self._answer(204, b"")
        else:
            self._answer(200, json.dumps({"path": self.path}).encode())

    def do_PUT(self):
        length = int(self.headers["Content-Length"])
        received = json.loads(self.rfile.read(length))
        self._answer(200, json.dumps({"received": received,
                                      "content_type": self.headers["Content-Type"]}).encode())


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_the_body_goes_as_json_and_the_answer_comes_back_parsed(server):
    answer = json_request(f"{server}/config", "PUT", {"mqtt.qos": "1"})
    assert answer == {"received": {"mqtt.qos": "1"}, "content_type": "application/json"}


def test_an_empty_answer_is_none(server):
    assert json_request(f"{server}/empty") is None


def test_a_refusal_carries_the_servers_own_message(server):
    with pytest.raises(HttpError) as refused:
        json_request(f"{server}/refused-json")
    assert (refused.value.status, refused.value.message) == (409, "Connector x already exists")


def test_a_refusal_without_json_carries_its_text(server):
    with pytest.raises(HttpError) as refused:
        json_request(f"{server}/refused-text")
    assert (refused.value.status, refused.value.message) == (500, "Internal Server Error")


def test_nothing_listening_is_an_os_error_not_an_http_error():
    with pytest.raises(OSError):
        json_request(f"http://127.0.0.1:{free_port()}/connectors", timeout=2)
