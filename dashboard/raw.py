"""The raw per-frame labels, straight from MQTT, for the timeline and the "now" panel.

The dashboard subscribes to the camera's topic itself instead of reading Kafka: the
timeline is there to show what smoothing removes, so it must show the frames before any
of the pipeline touched them. Frames older than the window are forgotten; frames the
page has not been sent yet wait in a bounded list that drops (and counts) the oldest.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from socksort import mqtt
from socksort.config import MqttUrl
from socksort.contract import MQTT_TOPIC
from socksort.schema import Prediction, SchemaError


@dataclass(frozen=True)
class Frame:
    ts: int
    label: str
    probability: float
    device: str
    seq: int | None
    model: str | None = None   # the id of the model that made it, when the camera says

    def compact(self) -> list:
        return [self.ts, self.label, round(self.probability, 1), self.device, self.seq]


class RawTimeline:
    """The last ``window_ms`` of frames, the current label, and the classification rate."""

    def __init__(self, window_ms: int = 60_000, pending_limit: int = 2000, clock=time.monotonic):
        self.window_ms = window_ms
        self.pending_limit = pending_limit
        self.clock = clock
        self._frames: collections.deque[Frame] = collections.deque()
        self._pending: list[Frame] = []
        self._arrivals: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()
        self.received = 0
        self.rejected = 0
        self.dropped = 0
        self.last_error = ""

    def add_payload(self, payload: bytes, topic: str = MQTT_TOPIC) -> Frame | None:
        """One camera message. As in the pipeline, a message without ``ts`` is timed by its
        arrival and one without ``device`` is named by its MQTT topic."""
        try:
            prediction = Prediction.from_json(payload)
        except SchemaError as exc:
            with self._lock:
                self.rejected += 1
                self.last_error = str(exc)
            return None
        ts = prediction.ts if prediction.ts is not None else int(time.time() * 1000)
        frame = Frame(ts, prediction.image, prediction.probability,
                      prediction.device or topic, prediction.seq, prediction.model)
        self.add(frame)
        return frame

    def add(self, frame: Frame) -> None:
        with self._lock:
            self.received += 1
            self._frames.append(frame)
            self._pending.append(frame)
            if len(self._pending) > self.pending_limit:
                excess = len(self._pending) - self.pending_limit
                del self._pending[:excess]
                self.dropped += excess
            self._arrivals.append(self.clock())
            self._trim()

    def take_pending(self) -> list[Frame]:
        with self._lock:
            pending, self._pending = self._pending, []
            return pending

    def frames(self) -> list[Frame]:
        with self._lock:
            self._trim()
            return list(self._frames)

    def current(self) -> dict | None:
        """The newest frame's label and probability, and frames per second lately."""
        with self._lock:
            if not self._frames:
                return None
            newest = self._frames[-1]
            return {"label": newest.label, "probability": newest.probability,
                    "device": newest.device, "ts": newest.ts, "fps": self._fps(), "model": newest.model}

    def _fps(self, span: float = 2.0) -> float:
        now = self.clock()
        while self._arrivals and self._arrivals[0] < now - span:
            self._arrivals.popleft()
        if len(self._arrivals) < 2:
            return 0.0
        # Intervals between the frames seen, not frames per span: a stream that just
        # started is not averaged against the empty part of the span.
        elapsed = self._arrivals[-1] - self._arrivals[0]
        return round((len(self._arrivals) - 1) / elapsed, 1) if elapsed > 0 else 0.0

    def _trim(self) -> None:
        if not self._frames:
            return
        newest = self._frames[-1].ts
        while self._frames and self._frames[0].ts < newest - self.window_ms:
            self._frames.popleft()


class MqttFeed:
    """Subscribes to the prediction topic and feeds a :class:`RawTimeline`."""

    def __init__(self, url: MqttUrl, topic: str, timeline: RawTimeline, client_id: str | None = None,
                 ca_file: Path | None = None):
        self.url = url
        self.ca_file = ca_file
        self.topic = topic
        self.timeline = timeline
        self.client_id = client_id or f"socksort-dashboard-{id(self):x}"
        self.connected = False
        self.state = "not started"
        self._client = None

    def start(self) -> None:
        client = mqtt.new_client(self.url, self.client_id, self.ca_file)
        client.reconnect_delay_set(min_delay=1, max_delay=5)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail
        client.on_message = lambda _c, _u, message: self.timeline.add_payload(message.payload,
                                                                             message.topic)
        self._client = client
        self.state = f"connecting to {self.url}"
        # connect_async + loop_start: a broker that is down at start is retried in the
        # background instead of failing the dashboard.
        client.connect_async(self.url.host, self.url.port, keepalive=15)
        client.loop_start()

    def stop(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties=None) -> None:
        if reason_code.is_failure:
            self.connected = False
            self.state = f"broker {self.url} refused the connection: {reason_code}"
            return
        self.connected = True
        self.state = f"subscribed to {self.topic} and {self.topic}/+ on {self.url}"
        # Cameras that name no device publish one level below, as the connector reads them.
        client.subscribe([(self.topic, 0), (f"{self.topic}/+", 0)])

    def _on_connect_fail(self, _client, _userdata) -> None:
        self.connected = False
        # paho does not say why; over TLS an untrusted certificate fails the same way.
        why = "no MQTT broker answers, or its TLS certificate is not trusted" if self.url.tls else \
            "no MQTT broker answers"
        self.state = f"{why} at {self.url}; retrying"

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties=None) -> None:
        was_connected, self.connected = self.connected, False
        # A refused CONNECT is followed by a disconnect; keep the refusal, it says why.
        if was_connected:
            self.state = f"disconnected from {self.url} ({reason_code}); reconnecting"
