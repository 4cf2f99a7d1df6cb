"""A TCP proxy for tests about connections: it forwards to a server, can cut every open
connection at once (a network blip, as the client sees it) and can hold the next ones
silent: accepted, read from, never forwarded nor answered, never closed (a server that
accepts a socket and then says nothing)."""

from __future__ import annotations

import socket
import threading


class TcpProxy:
    def __init__(self, host: str, port: int):
        self._target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = self._listener.getsockname()
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._silent_to_come = 0
        self.held = 0                     # connections accepted and held silent so far
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def hold_next(self, count: int = 1) -> None:
        with self._lock:
            self._silent_to_come += count

    def cut(self) -> None:
        """Close every forwarded connection, both ways."""
        with self._lock:
            sockets, self._open = self._open, []
        for sock in sockets:
            _close(sock)

    def close(self) -> None:
        self._closed = True
        _close(self._listener)
        self.cut()

    def __enter__(self) -> "TcpProxy":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                silent = self._silent_to_come > 0
                if silent:
                    self._silent_to_come -= 1
                    self.held += 1
                self._open.append(client)
            if silent:
                threading.Thread(target=_drain, args=(client,), daemon=True).start()
                continue
            try:
                server = socket.create_connection(self._target, timeout=5)
                server.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open.append(server)
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        _close(source)
        _close(sink)


def _drain(sock: socket.socket) -> None:
    try:
        while sock.recv(65536):
            pass
    except OSError:
        pass


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
