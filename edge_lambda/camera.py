"""``socksort camera``: a thin camera. Frames in, JPEG records to ``camera_frames`` out; no model.

capture (``sources.Capture``, the edge's own: any ``--source`` ``socksort edge`` reads) →
one-slot latest frame → encode (resize to ``--max-side``, JPEG at ``--quality``, at most
``--fps``) → a bounded queue that drops its oldest frame (counted) when Kafka is slow →
the sender thread → an idempotent producer (key = device, headers ts/seq/content-type).
``seq`` counts the frames this camera queued, from 0; a frame the queue dropped leaves a
gap, so a reader can see it.
"""

from __future__ import annotations

import collections
import sys
import threading
import time
from dataclasses import dataclass

import numpy as np

from socksort import contract
from socksort.edge_lambda import fleet_kafka, framewire, signals
from socksort.edge_lambda.metrics import RateMeter
from socksort.edge_lambda.sources import Capture, LatestFrame, Source, open_source
from socksort.errors import UserError

# OpenCV and confluent-kafka are imported inside the functions that use them.

REPORT_EVERY_S = 5.0


@dataclass
class CameraConfig:
    source: str
    device: str
    bootstrap: str
    fps: float | None = None          # a recording's rate (or the cap on a live camera's)
    quality: int = 80
    max_side: int | None = 640
    queue: int = 30                    # frames waiting for Kafka before the oldest is dropped
    frames: int | None = None          # stop after queueing this many
    loop: bool = False
    partition: int | None = None       # None: Kafka's hash of the device id picks it


@dataclass(frozen=True)
class Encoded:
    seq: int
    ts: int
    jpeg: bytes


class DropOldest:
    """A bounded FIFO: putting into a full one drops (and counts) the oldest item."""

    def __init__(self, size: int):
        if size < 1:
            raise ValueError("the queue must hold at least one frame")
        self._items: collections.deque = collections.deque()
        self.size = size
        self.dropped = 0
        self._closed = False
        self._cond = threading.Condition()

    def put(self, item) -> None:
        with self._cond:
            if len(self._items) >= self.size:
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self._cond.notify_all()

    def take(self, timeout: float | None = None):
        """The oldest item; None after ``timeout`` or when closed and empty."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._items or self._closed, timeout):
                return None
            return self._items.popleft() if self._items else None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)


def encode(image: np.ndarray, quality: int, max_side: int | None) -> bytes:
    import cv2

    height, width = image.shape[:2]
    if max_side and max(height, width) > max_side:
        scale = max_side / max(height, width)
        image = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))),
                           interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise UserError("OpenCV could not encode a frame as JPEG")
    return data.tobytes()


class ThinCamera:
    def __init__(self, config: CameraConfig, source: Source | None = None, log=None):
        self.config = config
        self.log = log or (lambda text: print(f"socksort camera: {text}", file=sys.stderr, flush=True))
        self._given_source = source
        self.slot = LatestFrame()
        self.queue = DropOldest(config.queue)
        self.capture: Capture | None = None
        self.queued = 0
        self.sent = 0                  # acknowledged by Kafka
        self.failed = 0                # refused by Kafka (delivery report with an error)
        self.last_error = ""
        self.rate = RateMeter(window=120)
        self._producer = None
        self._stop = threading.Event()
        self._sender = threading.Thread(target=self._send_loop, name="camera-send", daemon=True)

    def start(self) -> "ThinCamera":
        from confluent_kafka import Producer

        cfg = self.config
        source = self._given_source or open_source(cfg.source, cfg.fps)
        fleet_kafka.ensure_topics(cfg.bootstrap, {contract.CAMERA_FRAMES: contract.FRAME_PARTITIONS})
        self._producer = Producer({
            **fleet_kafka.client_config(cfg.bootstrap), "enable.idempotence": True, "acks": "all",
            "linger.ms": 5, "message.max.bytes": 2 * 1024 * 1024,
            # librdkafka's own queue stays small: frames wait in ours, where the oldest goes first.
            "queue.buffering.max.messages": max(2, cfg.queue), "message.timeout.ms": 30000})
        # A recording is handed over frame by frame (none overwritten) and paced here at its
        # own rate: played as a camera would film it, every frame of it sent.
        self.capture = Capture(source, self.slot, loop=cfg.loop, unthrottled=source.recording,
                               log=self.log).start()
        self._sender.start()
        self.log(f"{source} as device {cfg.device!r} → Kafka {cfg.bootstrap} topic {contract.CAMERA_FRAMES}")
        return self

    def request_stop(self) -> None:
        self._stop.set()

    def run(self, stop_on_sigterm: bool = False) -> None:
        """Encode and queue frames until the source ends, ``--frames`` or a stop."""
        if stop_on_sigterm:
            signals.stop_on_sigterm(self.request_stop)
        cfg = self.config
        source = self.capture.source
        recording = source.recording
        rate = (source.fps or cfg.fps) if recording else cfg.fps
        next_report = time.monotonic() + REPORT_EVERY_S
        started = next_frame = time.monotonic()
        try:
            while not self._stop.is_set():
                if cfg.frames is not None and self.queued >= cfg.frames:
                    break
                if recording and rate:
                    self._stop.wait(max(0.0, started + self.queued / rate - time.monotonic()))
                elif rate:   # a live camera: at most --fps, the newest frame each time
                    self._stop.wait(max(0.0, next_frame - time.monotonic()))
                    next_frame = max(next_frame + 1 / rate, time.monotonic())
                frame = self.slot.take(timeout=0.5)
                if frame is None:
                    if not self.capture.alive and self.capture.state != "lost":
                        break   # a recording ended
                    continue
                self.queue.put(Encoded(self.queued, frame.ts_ms,
                                       encode(frame.image, cfg.quality, cfg.max_side)))
                self.queued += 1
                if time.monotonic() >= next_report:
                    next_report = time.monotonic() + REPORT_EVERY_S
                    self.log(self.summary())
        finally:
            self.stop()

    def stop(self, flush_timeout: float = 30.0) -> None:
        if self.capture is not None:
            self.capture.stop()
        self.queue.close()
        if self._sender.is_alive():
            self._sender.join(timeout=flush_timeout)
        if self._producer is not None:
            self._producer.flush(flush_timeout)

    def summary(self) -> str:
        capture_drops = self.slot.dropped
        return (f"{self.queued} frames queued, {self.sent} sent ({self.rate.rate:.1f}/s), "
                f"{self.queue.dropped} dropped by the queue (Kafka slow), {capture_drops} skipped by "
                f"capture, {self.failed} refused by Kafka, {len(self.queue)} waiting")

    def undelivered(self) -> int:
        return self.queued - self.sent

    @property
    def _placement(self) -> dict:
        return {} if self.config.partition is None else {"partition": self.config.partition}

    def _send_loop(self) -> None:
        device = self.config.device.encode("utf-8")
        while True:
            item = self.queue.take(timeout=0.2)
            if item is None:
                self._producer.poll(0)
                if self.queue._closed and not len(self.queue):
                    return
                continue
            while True:
                try:
                    self._producer.produce(contract.CAMERA_FRAMES, value=item.jpeg, key=device,
                                           headers=framewire.headers(item.ts, item.seq), timestamp=item.ts,
                                           on_delivery=self._delivered, **self._placement)
                    break
                except BufferError:
                    # librdkafka's queue is full: Kafka is slow. Wait here; meanwhile our
                    # queue drops its oldest frames, not the capture loop.
                    self._producer.poll(0.05)
            self._producer.poll(0)

    def _delivered(self, err, msg) -> None:
        if err is None:
            self.sent += 1
            self.rate.tick()
        else:
            self.failed += 1
            self.last_error = err.str()
