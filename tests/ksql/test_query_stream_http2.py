"""A real ksqlDB serves /query-stream over HTTP/2 only and refuses HTTP/1.1 with error 40004
("This endpoint is only available when using HTTP2"). No ksqlDB runs here, so this test
builds a server that behaves that way on the `h2` protocol library, and checks that the
client's push query (the dashboard's) switches to HTTP/2 (prior knowledge, as ksqlDB's clients connect)
and reads the rows.
"""

from __future__ import annotations

import json
import socket
import threading

import h2.config
import h2.connection
import h2.events

from socksort.ksql.client import PushQuery

PREFACE = b"PRI * HTTP/2.0"
HEADER = {"queryId": "q1", "columnNames": ["IMAGE", "PAIR_SEEN", "NUMBER_SOCKS_SEEN"],
          "columnTypes": ["STRING", "STRING", "BIGINT"]}
ROWS = [["Google", "Pair", 2], ["Mongo", "Un-matched", 1]]


class Http2OnlyServer(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.http1_refused = 0
        self.http2_queries: list[dict] = []

    def run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def handle(self, conn: socket.socket) -> None:
        with conn:
            first = conn.recv(65536)
            if first.startswith(PREFACE):
                self.http2(conn, first)
            else:
                self.http1(conn, first)

    def http1(self, conn, first: bytes) -> None:
        self.http1_refused += 1
        body = json.dumps({"@type": "generic_error", "error_code": 40004,
                           "message": "This endpoint is only available when using HTTP2"}).encode()
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)

    def http2(self, conn, data: bytes) -> None:
        h2conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        h2conn.initiate_connection()
        conn.sendall(h2conn.data_to_send())
        bodies: dict[int, bytes] = {}
        while data:
            for event in h2conn.receive_data(data):
                if isinstance(event, h2.events.DataReceived):
                    bodies[event.stream_id] = bodies.get(event.stream_id, b"") + event.data
                    h2conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    self.http2_queries.append(json.loads(bodies.get(event.stream_id, b"{}")))
                    h2conn.send_headers(event.stream_id, [(":status", "200"),
                                                          ("content-type", "application/vnd.ksqlapi.delimited.v1")])
                    lines = [json.dumps(HEADER)] + [json.dumps(row) for row in ROWS]
                    h2conn.send_data(event.stream_id, ("\n".join(lines) + "\n").encode())
            conn.sendall(h2conn.data_to_send())
            try:
                data = conn.recv(65536)
            except OSError:
                return

    def close(self) -> None:
        self.sock.close()


def test_a_server_that_needs_http2_gets_it_and_the_rows_arrive():
    server = Http2OnlyServer()
    server.start()
    rows, statuses, got_all = [], [], threading.Event()

    def on_row(row):
        rows.append(row)
        if len(rows) == len(ROWS):
            got_all.set()

    query = PushQuery(f"http://127.0.0.1:{server.port}", "SELECT * FROM SOCK_PAIRS EMIT CHANGES;",
                      on_reset=lambda header: None, on_row=on_row,
                      on_status=lambda ok, detail: statuses.append((ok, detail)))
    query.start()
    try:
        assert got_all.wait(20), f"rows {rows}, statuses {statuses}"
    finally:
        query.stop()
        query.join(5)
        server.close()
    assert server.http1_refused >= 1
    assert server.http2_queries[0]["sql"] == "SELECT * FROM SOCK_PAIRS EMIT CHANGES;"
    assert server.http2_queries[0]["properties"]["auto.offset.reset"] == "earliest"
    assert rows[:2] == [{"IMAGE": "Google", "PAIR_SEEN": "Pair", "NUMBER_SOCKS_SEEN": 2},
                        {"IMAGE": "Mongo", "PAIR_SEEN": "Un-matched", "NUMBER_SOCKS_SEEN": 1}]
    assert (True, "running") in statuses
