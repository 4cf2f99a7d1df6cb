"""Wiring: capture → (latest frame) → preprocess → (latest prepared frame) → inference →
publishers, and → (latest result) → annotate + JPEG → HTTP stream / DeepLens FIFO.

Each arrow-with-parentheses is a thread boundary, so preprocessing the next frame overlaps
with running the model on this one.

The model is one reference (``self.loaded``: card + runtime + classifier) that the inference
thread reads once per frame, so with ``--models`` the store follower (``models.py``) swaps
a freshly loaded model in between two frames without stopping anything else.

Every hand-over is either a one-slot buffer that keeps the newest item (frames, frames to
draw) or a publisher's bounded buffer, so no consumer can stall the camera. Frames are only
annotated and encoded while a viewer (a browser on /stream.mjpg, the FIFO) is waiting for
its next one, and at most ``stream_fps`` a second: the camera loop never pays for frames
nobody receives.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from socksort import modelcard
from socksort.config import HostPort, MqttUrl
from socksort.contract import BLANK_LABEL, MQTT_TOPIC
from socksort.edge_lambda import annotate, runtimes, signals
from socksort.edge_lambda.album import Album, LabelNumbers
from socksort.edge_lambda.classify import Classification, Classifier
from socksort.edge_lambda.fifo import FifoWriter
from socksort.edge_lambda.http import NO_ALBUM, EdgeHttpServer, JpegHub
from socksort.edge_lambda.metrics import RateMeter, StageTimes, prometheus_text
from socksort.edge_lambda.models import Loaded, StoreFollower
from socksort.edge_lambda.open_set import OpenSet
from socksort.edge_lambda.publish import (DEFAULT_BUFFER, MqttPublisher, Publisher, TlsOptions,
                                          greengrass_publisher)
from socksort.edge_lambda.showings import Threshold
from socksort.edge_lambda.sources import Capture, Frame, LatestFrame, Source, open_source
from socksort.edge_lambda.status import CameraStatus, EdgeStatus, ModelStatus, OutputStatus
from socksort.errors import UserError
from socksort.schema import Guess, Prediction


@dataclass
class EdgeConfig:
    model: Path | None            # a fixed model folder, or None with ``models``
    source: str
    runtime: str = "auto"
    mqtt_url: MqttUrl | None = None
    topic: str = MQTT_TOPIC
    http: HostPort | None = None
    device: str = field(default_factory=socket.gethostname)
    threshold: float = 0.0
    top_k: int = 3
    loop: bool = False
    unthrottled: bool = False
    fps: float | None = None
    max_frames: int | None = None
    fifo: Path | None = None
    buffer: int = DEFAULT_BUFFER
    threads: int | None = None
    tls: TlsOptions | None = None
    stream_fps: float | None = 15.0   # most frames per second drawn for viewers; None: all
    greengrass: bool = True       # publish through Greengrass too when running under it
    models: Path | None = None    # a model store whose current model is followed (instead of ``model``)
    match: bool = False           # open set: label showings sock-1, sock-2, ... by look (``open_set.py``)
    match_threshold: float | None = None   # a fixed similarity for a match; None: calibrated per session
    match_state: Path | None = None   # where the next sock-<n> is kept across restarts (None: memory only)
    match_service: str | None = None  # a match service that decides showings with every camera's looks


@dataclass
class _ToDraw:
    frame: Frame
    result: Classification
    fps: float
    model: str | None


class EdgeLoop:
    """The running edge function. ``start()`` loads and connects, ``run()`` classifies."""

    def __init__(self, config: EdgeConfig, *, publishers: list[Publisher] | None = None,
                 source: Source | None = None, log=None):
        self.config = config
        self.extra_publishers = publishers or []
        self._given_source = source
        self._source: Source | None = None
        self.log = log or (lambda text: print(f"socksort edge: {text}", file=sys.stderr, flush=True))
        self.times = StageTimes()
        self.rate = RateMeter()
        self.hub = JpegHub()
        self.frames_slot = LatestFrame()
        self.prepared_slot = LatestFrame()
        self.draw_slot: LatestFrame = LatestFrame()
        self.publishers: list[Publisher] = []
        self.classified = 0
        self.latest: Prediction | None = None
        self.started_at = time.time()
        self.capture: Capture | None = None
        self.http: EdgeHttpServer | None = None
        self.fifo = None
        self.loaded: Loaded | None = None     # swapped whole, between two frames
        self.follower: StoreFollower | None = None
        self.open_set: OpenSet | None = None   # with --match: the session's showings, per model
        # The showings of every --match session, their crops and corrections; numbers go on across sessions.
        # With a match service the service keeps them, for every camera.
        self.album = (Album(LabelNumbers(config.match_state, warn=self.log))
                      if config.match and not config.match_service else None)
        self.last_frame: Frame | None = None  # the newest camera frame, as captured (/snapshot.jpg?raw=1)
        self._stop = threading.Event()
        self._encoder = threading.Thread(target=self._encode_loop, name="edge-encode", daemon=True)
        self._preparer = threading.Thread(target=self._prepare_loop, name="edge-prepare", daemon=True)

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> "EdgeLoop":
        """Load, connect and start every thread; on failure stop what already started."""
        try:
            return self._start()
        except BaseException:
            self.stop(flush_timeout=0)
            raise

    def _start(self) -> "EdgeLoop":
        cfg = self.config
        if (cfg.model is None) == (cfg.models is None):
            raise UserError("the edge needs exactly one of a model folder (--model) and a model store (--models)")
        if cfg.models is not None and cfg.models.exists() and not cfg.models.is_dir():
            raise UserError(f"--models {cfg.models} is not a folder")
        card = modelcard.load(cfg.model) if cfg.model is not None else None
        # The source before the weights: a wrong --source is reported in a moment, not
        # after seconds of loading a model.
        self._source = source = self._given_source or open_source(cfg.source, cfg.fps)
        if cfg.model is not None:
            self._use(self._load_model(cfg.model, card))
        else:
            # The store's current model is loaded here, before the first frame, as --model's
            # is; then a thread of its own follows the store. An empty store (or a current
            # model that does not load) is waited out: the edge classifies nothing meanwhile.
            self.follower = StoreFollower(cfg.models, self._load_model, self._use, log=self.log)
            self.follower.check()
            if self.follower.waiting:
                self.log(self.follower.waiting)
            self.follower.start()
        if cfg.mqtt_url is not None:
            # A clean session needs no stable client id; a unique one keeps two edges with
            # the same device name from taking each other's connection away.
            self.publishers.append(MqttPublisher(cfg.mqtt_url, cfg.topic, buffer_size=cfg.buffer, tls=cfg.tls,
                                                 client_id=f"socksort-edge-{cfg.device}-{uuid.uuid4().hex[:6]}"))
        if cfg.greengrass:
            gg = greengrass_publisher()
            if gg is not None:
                self.publishers.append(gg)
        self.publishers.extend(self.extra_publishers)
        for publisher in self.publishers:
            publisher.log = publisher.log or self.log
            publisher.start()
        if cfg.http is not None:
            no_album = (f"this edge matches at the match service {cfg.match_service}: correct its showings there"
                        if cfg.match_service else NO_ALBUM)
            self.http = EdgeHttpServer(cfg.http, self.hub, self.status, self.metrics, self.raw_frame,
                                       album=self.album, no_album=no_album).start()
            self.log(f"live page on {self.http.url}/")
        if cfg.fifo is not None:
            self.fifo = FifoWriter(cfg.fifo, self.hub).start()
        self.capture = Capture(source, self.frames_slot, loop=cfg.loop,
                               unthrottled=cfg.unthrottled, log=self.log).start()
        self._preparer.start()
        self._encoder.start()
        return self

    def stop(self, flush_timeout: float = 5.0) -> None:
        self._stop.set()
        if self.follower:
            self.follower.stop()
        if self.capture:
            self.capture.stop()
        elif self._source is not None:
            self._source.close()
        self.prepared_slot.close()
        if self._preparer.is_alive():
            self._preparer.join(timeout=5)
        self.draw_slot.close()
        if self._encoder.is_alive():
            self._encoder.join(timeout=5)
        for publisher in self.publishers:
            publisher.stop(flush_timeout)
        if self.fifo:
            self.fifo.stop()
        if self.http:
            self.http.stop()

    def request_stop(self) -> None:
        self._stop.set()
        self.frames_slot.close()

    # --- the model ---------------------------------------------------------------------

    def _load_model(self, folder: Path, card=None) -> Loaded:
        """Card, runtime and warm-up: everything a model needs before it serves a frame
        (on the follower's thread when following a store)."""
        cfg = self.config
        card = card or modelcard.load(folder)
        runtime = runtimes.load(folder, card, cfg.runtime, cfg.threads, features=cfg.match)
        return Loaded(Path(folder), Classifier(card, runtime, cfg.threshold, cfg.top_k))

    def _use(self, loaded: Loaded) -> None:
        """Serve ``loaded`` from the next frame on: one reference assignment."""
        if self.config.match:
            # Looks from two models are not comparable: a new model starts a new session, whose
            # labels go on from the last one's so the pipeline never counts two socks as one.
            earlier = self.open_set
            self.open_set = OpenSet(loaded.classifier, threshold=Threshold(fixed=self.config.match_threshold),
                                    background=earlier.background if earlier else None, album=self.album,
                                    service=self.config.match_service, device=self.config.device, log=self.log)
        self.loaded = loaded
        card = loaded.card
        self.log(f"model {card.id or loaded.folder} {card.backbone} ({len(card.classes)} classes) "
                 f"on {loaded.classifier.runtime.name}")

    @property
    def card(self):
        return self.loaded.card if self.loaded else None

    @property
    def classifier(self) -> Classifier | None:
        return self.loaded.classifier if self.loaded else None

    # --- the inference thread ----------------------------------------------------------

    def run(self) -> int:
        """Classify frames until the source ends, ``max_frames`` or ``request_stop()``."""
        cfg, clock = self.config, time.perf_counter
        matching: OpenSet | None = None   # the open set this thread last fed
        for frame, prepared_by in self.prepared_slot:
            if self._stop.is_set():
                break
            t1 = clock()
            loaded = self.loaded   # once per frame: a swap lands between two frames
            clf = loaded.classifier
            batch = frame.batch if prepared_by is clf else clf.prepare(frame.image)
            height, width = frame.image.shape[:2]
            result = clf.classify_frame(batch, width, height)
            t2 = clock()
            prediction = Prediction(result.label, result.probability, frame.ts_ms, cfg.device,
                                    self.classified, result.top, model=loaded.id, objects=result.objects)
            open_set = self.open_set
            if matching is not None and open_set is not matching:
                self._publish(matching.flush(), matching)   # a swapped model's last showing, not lost
            matching = open_set
            if open_set is not None:
                ready = open_set.observe((prediction, frame.captured), frame.image, frame.ts_ms, result)
                result = open_set.drawn(result)
            else:
                ready = [((prediction, frame.captured), None)]
            t2b = clock()
            self._publish(ready, open_set)
            t3 = clock()
            self.times.add("inference", t2 - t1)
            if open_set is not None:
                self.times.add("match", t2b - t2)
            self.times.add("publish", t3 - t2b)
            self.classified += 1
            self.rate.tick()
            if self.hub.watched:
                self.draw_slot.put(_ToDraw(frame, result, self.rate.rate, loaded.id))
            if cfg.max_frames and self.classified >= cfg.max_frames:
                break
        if matching is not None:
            self._publish(matching.flush(), matching)   # the showing still open when the source ended
        self.frames_slot.close()   # nothing will take frames any more: let capture end
        return self.classified

    def _publish(self, ready: list, open_set: OpenSet | None) -> None:
        """Publish (prediction, captured) items; a label from ``open_set`` replaces the
        classifier's, its top list and boxes (ImageNet's classes say nothing of which sock)."""
        for (prediction, captured), label in ready:
            if label is not None:
                prediction = match_prediction(prediction, label, open_set.blank_class)
            payload = prediction.to_json()
            for publisher in self.publishers:
                publisher.publish(payload, captured)
            self.latest = prediction

    def _prepare_loop(self) -> None:
        """Preprocess the newest frame while the model works on the previous one."""
        lossless = self.config.unthrottled
        try:
            for frame in self.frames_slot:
                self.last_frame = frame
                loaded = self.loaded
                if loaded is None:
                    continue   # no model yet (an empty store): nothing to classify with
                began = time.perf_counter()
                # Prepared for this model; the inference thread prepares again in the rare
                # frame that reaches it after a swap to a model with another preprocessing.
                frame.batch = loaded.classifier.prepare(frame.image)
                self.times.add("preprocess", time.perf_counter() - began)
                self.prepared_slot.put((frame, loaded.classifier), wait=lossless)
        finally:
            self.prepared_slot.close()

    @property
    def dropped(self) -> int:
        """Frames read from the source but overwritten before the model saw them."""
        return self.frames_slot.dropped + self.prepared_slot.dropped

    def _encode_loop(self) -> None:
        clock = time.perf_counter
        for item in self.draw_slot:
            if not self.hub.watched:
                continue   # the viewer that asked went away, or was served meanwhile
            t0 = clock()
            # On a copy: the frame itself stays as the camera gave it (/snapshot.jpg?raw=1).
            image = annotate.draw(item.frame.image.copy(), item.result.label, item.result.probability,
                                  item.fps, " ".join(n for n in (item.model and f"model {item.model}",
                                                                 self._camera_note()) if n),
                                  objects=item.result.objects)
            t1 = clock()
            self.hub.publish(annotate.encode_jpeg(image))
            t2 = clock()
            self.times.add("annotate", t1 - t0)
            self.times.add("encode", t2 - t1)
            if self.config.stream_fps:
                # A person watching needs no more; the cores go to the model meanwhile, and
                # the next frame drawn is the newest one by then.
                self._stop.wait(max(0.0, t0 + 1 / self.config.stream_fps - clock()))

    def raw_frame(self) -> Frame | None:
        """The newest frame the camera gave, not drawn on (None before the first)."""
        return self.last_frame

    def _camera_note(self) -> str:
        return "" if self.capture is None or self.capture.alive else f"camera {self.capture.state}"

    # --- reporting ---------------------------------------------------------------------

    def status(self) -> EdgeStatus:
        cap = self.capture
        camera = CameraStatus(state=cap.state if cap else "starting", source=str(cap.source) if cap else "",
                              frames=cap.frames if cap else 0, dropped=self.dropped,
                              reopens=cap.reopens if cap else 0, error=cap.last_error if cap else "",
                              up=bool(cap and cap.alive))
        loaded, follower = self.loaded, self.follower
        model = ModelStatus(id=loaded.id if loaded else None, folder=str(loaded.folder) if loaded else "",
                            classes=tuple(loaded.card.classes) if loaded else (),
                            store=str(self.config.models) if self.config.models else "",
                            error=follower.error if follower else "",
                            waiting=follower.waiting if follower else "",
                            loading=follower.loading if follower else None)
        return EdgeStatus(device=self.config.device,
                          backbone=loaded.card.backbone if loaded else "",
                          runtime=loaded.classifier.runtime.name if loaded else "",
                          camera=camera, fps=self.rate.rate, uptime_seconds=time.time() - self.started_at,
                          classified=self.classified, latest=self.latest,
                          outputs=tuple(OutputStatus.of(p) for p in self.publishers), model=model,
                          match=self.open_set.status() if self.open_set else None)

    def metrics(self) -> str:
        return prometheus_text(self.status(), self.times)


def match_prediction(prediction: Prediction, label: str, blank_class: bool) -> Prediction:
    """The frame as --match publishes it: the showing's label, sure as the model's
    1 - p(Blank) is that something is in view (a model without a Blank class: the learned
    background's yes or no). The top list is the label alone: ImageNet's classes say
    nothing of which sock it is."""
    if blank_class:
        blank = next((g.probability for g in prediction.top if g.label == BLANK_LABEL), 0.0)
    else:
        blank = 100.0 if label == BLANK_LABEL else 0.0
    probability = blank if label == BLANK_LABEL else round(100.0 - blank, 2)
    return Prediction(label, probability, prediction.ts, prediction.device, prediction.seq,
                      (Guess(label, probability),), model=prediction.model)


def run_edge(config: EdgeConfig, *, publishers=None, source=None, flush_timeout: float = 5.0,
             log=None, stop_on_sigterm: bool = False) -> EdgeLoop:
    """Start, classify until done, flush and stop: the whole edge function, for callers
    that do not need to poke at it while it runs (the CLI, the Lambda, the component).

    ``flush_timeout`` stays short so a stop asked for while the broker is away still ends
    before a service manager's kill (Docker waits 10 s). ``stop_on_sigterm`` (main thread
    only) makes SIGTERM end the loop cleanly, installed before loading so a SIGTERM while
    the model loads also ends in a clean stop.
    """
    edge = EdgeLoop(config, publishers=publishers, source=source, log=log)
    if stop_on_sigterm:
        signals.stop_on_sigterm(edge.request_stop)
    edge.start()
    try:
        edge.run()
    finally:
        edge.stop(flush_timeout)
    return edge
