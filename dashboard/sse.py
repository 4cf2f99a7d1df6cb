"""Server-sent events: the wire framing and a hub that fans events out to every open page.

Each page gets its own bounded queue. A page that stops reading (a background tab, a slow
link) must never stall the parts that publish — the ksql relay, the MQTT subscriber — so
when its queue is full the oldest event is dropped and counted, and the page catches up
from the next snapshot. The hub also remembers the latest event of each "state" kind
(pairs, health, ...) so a page that connects late starts from the current picture.
"""

from __future__ import annotations

import itertools
import json
import queue
import threading
from dataclasses import dataclass, field


def frame(event: str | None, data, event_id: int | None = None) -> bytes:
    """One SSE message. ``data`` is JSON-encoded unless it already is text.

    A newline inside the data would end the field early, so every line of the text gets
    its own ``data:`` field; the browser joins them back with newlines.
    """
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    if event:
        lines.append(f"event: {event}")
    lines.extend(f"data: {line}" for line in text.split("\n"))
    return ("\n".join(lines) + "\n\n").encode()


def comment(text: str = "") -> bytes:
    """A comment line: ignored by the browser, keeps proxies from closing an idle stream."""
    return f": {text}\n\n".encode()


@dataclass
class Client:
    """One open event stream, read by the HTTP handler thread that serves it."""

    queue: "queue.Queue[bytes]"
    dropped: int = 0
    closed: bool = False

    def next(self, timeout: float) -> bytes | None:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None


@dataclass
class Hub:
    """Fan-out of events to clients, each with a queue of at most ``per_client`` events."""

    per_client: int = 256
    _clients: list[Client] = field(default_factory=list)
    _latest: dict[str, bytes] = field(default_factory=dict)
    _ids: "itertools.count[int]" = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    dropped_total: int = 0

    def connect(self, first: list[bytes] = ()) -> Client:
        """A new client: it gets ``first`` (its own greeting), then the latest state."""
        client = Client(queue.Queue(maxsize=self.per_client))
        with self._lock:
            for message in [*first, *self._latest.values()]:
                self._offer(client, message)
            self._clients.append(client)
        return client

    def disconnect(self, client: Client) -> None:
        with self._lock:
            client.closed = True
            if client in self._clients:
                self._clients.remove(client)

    def publish(self, event: str, data, *, state: bool = False) -> None:
        """Send an event to every client; ``state=True`` also keeps it for late joiners."""
        with self._lock:
            message = frame(event, data, next(self._ids))
            if state:
                self._latest[event] = message
            for client in self._clients:
                self._offer(client, message)

    def clients(self) -> int:
        with self._lock:
            return len(self._clients)

    def _offer(self, client: Client, message: bytes) -> None:
        # Called with the lock held, so only this thread puts; the reader may take
        # concurrently, which can only make room.
        while True:
            try:
                client.queue.put_nowait(message)
                return
            except queue.Full:
                try:
                    client.queue.get_nowait()
                except queue.Empty:
                    continue
                client.dropped += 1
                self.dropped_total += 1
