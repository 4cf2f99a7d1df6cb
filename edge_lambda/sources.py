"""Frame sources (webcam, video file, network camera, image folder, DeepLens ``awscam``)
and the capture thread that keeps only the latest frame.

Capture never waits for inference: it overwrites the one-slot buffer and counts what it
overwrote, so a slow model drops frames instead of building a queue. A recording (video
file or image folder) is stamped with ``start + position``, so a replay publishes the same
timestamps however loaded the machine is; played throttled it keeps its own frame rate,
unthrottled it hands over every frame as soon as the consumer takes the previous one.
A live camera that stops delivering is reopened with backoff; ``Capture.state`` says so.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from socksort import images
from socksort.edge_lambda.handoff import Handoff
from socksort.errors import UserError

# OpenCV is imported inside the sources that read with it; awscam exists only on a DeepLens.

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
DEFAULT_FPS = 25.0
NETWORK_TIMEOUT_MS = 5000


@dataclass
class Frame:
    image: np.ndarray   # HxWx3 uint8 BGR
    index: int          # position in the source, from 0
    ts_ms: int          # epoch milliseconds of the frame
    captured: float     # time.monotonic() when it was grabbed, for latency figures
    batch: np.ndarray | None = None   # the prepared network input, once preprocessed


class LatestFrame(Handoff):
    """A one-slot buffer between capture and inference; overwriting counts a drop."""

    def __init__(self):
        super().__init__()
        self._frame: Frame | None = None
        self.dropped = 0

    def put(self, frame: Frame, wait: bool = False) -> None:
        """Store ``frame``; with ``wait`` first let the consumer take the previous one.

        Once closed the consumer is gone: the frame is discarded, not counted as dropped.
        """
        with self._cond:
            while wait and self._frame is not None and not self._closed:
                self._cond.wait(0.5)
            if self._closed:
                return
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self._cond.notify_all()

    def take(self, timeout: float | None = None) -> Frame | None:
        """The newest frame, or None when closed and empty or after ``timeout`` seconds."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._frame is not None or self._closed, timeout):
                return None
            frame, self._frame = self._frame, None
            self._cond.notify_all()
            return frame

    def __iter__(self):
        """Take item after item until the slot is closed and empty (how consumers end)."""
        while True:
            item = self.take(timeout=0.5)
            if item is not None:
                yield item
            elif self._closed:
                return


class Source:
    """Something that yields BGR frames. ``recording`` sources have a position and an end."""

    recording = False
    fps: float | None = None

    def open(self) -> None:
        """Connect; raise OSError saying why it cannot be read."""

    def read(self) -> np.ndarray | None:
        """The next frame, or None when the source failed or ended."""
        raise NotImplementedError

    def rewind(self) -> bool:
        return False

    def close(self) -> None:
        pass


class VideoSource(Source):
    """OpenCV: a webcam index, a video file, or an RTSP/HTTP URL."""

    def __init__(self, target: int | str, recording: bool, fps: float | None = None):
        self.target = target
        self.recording = recording
        self.fps = fps
        self._cap = None

    def __str__(self) -> str:
        return f"camera {self.target}" if isinstance(self.target, int) else str(self.target)

    def open(self) -> None:
        import cv2
        if isinstance(self.target, str) and "://" in self.target:
            # Without timeouts FFmpeg waits for a dead network camera forever.
            cap = cv2.VideoCapture(self.target, cv2.CAP_FFMPEG,
                                   [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, NETWORK_TIMEOUT_MS,
                                    cv2.CAP_PROP_READ_TIMEOUT_MSEC, NETWORK_TIMEOUT_MS])
        else:
            cap = cv2.VideoCapture(self.target)
        if not cap.isOpened():
            cap.release()
            raise OSError(f"cannot open video source {self}")
        self._cap = cap
        if self.fps is None and self.recording:
            rate = cap.get(cv2.CAP_PROP_FPS)
            self.fps = float(rate) if rate and 0 < rate < 1000 else DEFAULT_FPS

    def read(self) -> np.ndarray | None:
        if self._cap is None:
            return None
        ok, image = self._cap.read()
        return image if ok and image is not None else None

    def rewind(self) -> bool:
        import cv2
        return self._cap is not None and self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class FolderSource(Source):
    """A folder of still images played in name order as if it were a video."""

    recording = True

    def __init__(self, folder: Path, fps: float | None = None):
        self.folder = folder
        self.fps = fps or DEFAULT_FPS
        self._paths: list[Path] = []
        self._next = 0
        self.unreadable: set[Path] = set()

    def __str__(self) -> str:
        return str(self.folder)

    def open(self) -> None:
        self._paths = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self._paths:
            raise OSError(f"image folder {self.folder} holds no {'/'.join(IMAGE_SUFFIXES)} files")
        self._next = 0

    def read(self) -> np.ndarray | None:
        while self._next < len(self._paths):
            path = self._paths[self._next]
            self._next += 1
            try:
                return images.read(path)
            except images.UnreadableImage as exc:
                # Skipped, as every stage skips or refuses it, never classified; said once
                # (a looped folder would repeat it each round).
                if path not in self.unreadable:
                    self.unreadable.add(path)
                    print(f"socksort edge: skipping {exc}", file=sys.stderr, flush=True)
        return None

    def rewind(self) -> bool:
        self._next = 0
        return bool(self._paths)


class AwscamSource(Source):
    """The DeepLens camera: ``awscam.getLastFrame()`` returns ``(ok, bgr_frame)``."""

    def __init__(self, module=None):
        self._awscam = module

    def __str__(self) -> str:
        return "awscam"

    def open(self) -> None:
        if self._awscam is None:
            try:
                import awscam
            except ImportError:
                raise OSError("source 'awscam' needs the DeepLens awscam module") from None
            self._awscam = awscam

    def read(self) -> np.ndarray | None:
        ok, image = self._awscam.getLastFrame()
        return image if ok and image is not None else None


def parse_source(spec: str, fps: float | None = None) -> Source:
    """Turn ``--source`` into a Source, naming what is wrong if it cannot be one."""
    text = spec.strip()
    if text == "awscam":
        return AwscamSource()
    if text.isdigit():
        return VideoSource(int(text), recording=False, fps=fps)
    if "://" in text:
        return VideoSource(text, recording=False, fps=fps)
    path = Path(text).expanduser()
    if path.is_dir():
        return FolderSource(path, fps)
    if path.is_file():
        return VideoSource(str(path), recording=True, fps=fps)
    raise UserError(f"source {spec!r} is not a camera index, URL, video file, image folder or 'awscam'")


def open_source(spec: str, fps: float | None = None) -> Source:
    source = parse_source(spec, fps)
    try:
        source.open()
    except OSError as exc:
        raise UserError(str(exc)) from None
    return source


class Capture:
    """The capture thread: reads the source into a LatestFrame, reopening a lost camera."""

    def __init__(self, source: Source, slot: LatestFrame, *, loop: bool = False,
                 unthrottled: bool = False, backoff: tuple[float, float] = (0.5, 10.0),
                 clock=time.time, log=None):
        self.source = source
        self.slot = slot
        self.loop = loop
        self.unthrottled = unthrottled
        self.backoff = backoff
        self.clock = clock
        self.log = log or (lambda text: None)
        self.state = "starting"   # live | lost | ended | stopped
        self.frames = 0
        self.reopens = 0
        self.last_error = ""
        self.read_seconds = 0.0
        self._delay = backoff[0]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="edge-capture", daemon=True)

    def start(self) -> "Capture":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.slot.close()
        self._thread.join(timeout=10)
        self.source.close()

    @property
    def alive(self) -> bool:
        return self.state in ("starting", "live")

    def _run(self) -> None:
        try:
            self._capture()
        except Exception as exc:  # a crashed capture must show up on /healthz, not vanish
            self.state, self.last_error = "lost", f"capture failed: {exc}"
        finally:
            self.slot.close()

    def _capture(self) -> None:
        start_ms = int(self.clock() * 1000)
        started = time.monotonic()
        index = 0
        while not self._stop.is_set():
            began = time.monotonic()
            image = self.source.read()
            self.read_seconds += time.monotonic() - began
            if image is None:
                if self.source.recording:
                    if self.loop and index > 0 and self.source.rewind():
                        continue
                    self.state = "ended"
                    return
                if not self._reopen():
                    return
                continue
            if self.state == "lost":
                self.log(f"camera {self.source} is back after {self.reopens} reopen(s)")
            self.state = "live"
            self._delay = self.backoff[0]
            if self.source.recording:
                fps = self.source.fps or DEFAULT_FPS
                ts_ms = start_ms + round(index * 1000 / fps)
                if not self.unthrottled:
                    self._stop.wait(max(0.0, started + index / fps - time.monotonic()))
            else:
                ts_ms = int(self.clock() * 1000)
            self.slot.put(Frame(image, index, ts_ms, time.monotonic()),
                          wait=self.unthrottled and self.source.recording)
            self.frames += 1
            index += 1
        self.state = "stopped"

    def _reopen(self) -> bool:
        """Reopen a live source with growing pauses; False when asked to stop meanwhile."""
        self.state = "lost"
        self.last_error = f"{self.source} stopped delivering frames"
        self.log(f"camera lost: {self.last_error}; reopening with backoff")
        while not self._stop.is_set():
            self.source.close()
            # The pause keeps growing until a frame arrives, even when opening succeeds
            # but reading fails again at once.
            delay, self._delay = self._delay, min(self._delay * 2, self.backoff[1])
            if self._stop.wait(delay):
                return False
            try:
                self.source.open()
            except OSError as exc:
                self.last_error = str(exc)
                continue
            self.reopens += 1
            return True
        return False
