"""A call to Kafka Connect is retried while Connect says its group rebalances, and only then."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from socksort.connect_rest import connect_request
from socksort.net import HttpError


class Connect:
    """A stand-in REST endpoint that gives the listed refusals first, then 200 {"ok": true}."""

    def __init__(self, refusals: list[tuple[int, str]]):
        self.refusals = list(refusals)
        self.calls = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.calls += 1
                status, message = outer.refusals.pop(0) if outer.refusals else (200, "")
                body = json.dumps({"ok": True} if status == 200 else {"error_code": status, "message": message})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/connectors/x/config"


@pytest.fixture
def connect_with():
    servers = []

    def make(refusals):
        servers.append(Connect(refusals))
        return servers[-1]
    yield make
    for server in servers:
        server.server.shutdown()


def test_a_request_refused_during_a_rebalance_succeeds_once_it_settles(connect_with):
    connect = connect_with([(500, "Request cannot be completed because a rebalance is expected"),
                            (409, "Cannot complete request momentarily due to stalled/no leader")])
    assert connect_request(connect.url, "PUT", {"a": "b"}, wait_s=10) == {"ok": True}
    assert connect.calls == 3


def test_a_server_error_that_is_not_a_rebalance_is_raised_at_once(connect_with):
    connect = connect_with([(500, "java.lang.NullPointerException")])
    with pytest.raises(HttpError, match="NullPointerException"):
        connect_request(connect.url, "PUT", {}, wait_s=10)
    assert connect.calls == 1


def test_a_rebalance_that_outlasts_the_wait_is_raised(connect_with):
    connect = connect_with([(409, "stalled")] * 50)
    with pytest.raises(HttpError, match="409"):
        connect_request(connect.url, "PUT", {}, wait_s=0)
    assert connect.calls == 1
