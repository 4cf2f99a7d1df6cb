"""``socksort capture``: photos of one thing from a camera, video, stream or folder.

Frames are taken at most every ``--every`` seconds (the video's own clock for a file,
the wall clock for a webcam, a live rtsp/http stream, or a camera's still-image URL
ending in .jpg/.png, which is fetched once per interval) and a frame too similar to one already saved
is skipped, so 30 photos show 30 views rather than 30 copies of one. Photos go to
``OUT/LABEL/LABEL-0000.jpg``, numbered after any already there, each written
atomically: Ctrl-C keeps every photo saved so far.
"""

from __future__ import annotations

import re
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import cv2
import numpy as np

from socksort import atomic, images
from socksort.examples import MIN_CHANGE, thumbnail
from socksort.errors import UserError
from socksort.im2rec.lists import DEFAULT_EXTS, SkippedFile
from socksort.im2rec.render import encode_jpeg
from socksort.progress import Bar

VIDEO_EXTS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
MAX_READ_FAILURES = 50  # consecutive failed reads before a live source counts as gone
MAX_SNAPSHOT_FAILURES = 5
SNAPSHOT_TIMEOUT = 10.0  # seconds to wait for one still image


@dataclass(frozen=True)
class CaptureSpec:
    label: str
    count: int
    source: str
    out: Path
    every: float = 0.5         # seconds between photos
    min_change: float = MIN_CHANGE  # mean thumbnail difference (0-255) that makes a new view
    quality: int = 95


# A frame, None when a camera or stream gave none, or the UnreadableImage of a folder's file.
Frame = np.ndarray | images.UnreadableImage | None


@dataclass
class CaptureResult:
    folder: Path
    saved: list[Path] = field(default_factory=list)
    duplicates: int = 0
    unreadable: int = 0
    unreadable_files: list[SkippedFile] = field(default_factory=list)  # a folder source's, named


def frames(source: str, every: float = 0.5) -> Iterator[tuple[float | None, Frame]]:
    """(time in seconds or None for no clock, frame) from any source; the frame is None if
    unreadable, or for a folder's file the UnreadableImage naming it."""
    path = Path(source)
    if path.is_dir():
        yield from _folder_frames(path)
    elif _is_snapshot_url(source):
        yield from _snapshot_frames(source, every)
    elif source.isdigit():
        yield from _video_frames(cv2.VideoCapture(int(source)), source, wall_clock=True)
    elif "://" in source:
        # rtsp:// and http:// cameras are live: their own frame rate claims are unreliable
        yield from _video_frames(cv2.VideoCapture(source), source, wall_clock=True)
    elif path.suffix.lower() in VIDEO_EXTS:
        if not path.is_file():
            raise UserError(f"--source {source}: no such file")
        yield from _video_frames(cv2.VideoCapture(source), source, wall_clock=False)
    else:
        raise UserError(f"--source {source}: not a webcam index, video file, rtsp/http URL or folder")


def _is_snapshot_url(source: str) -> bool:
    parts = urlsplit(source)
    return parts.scheme in ("http", "https") and Path(parts.path).suffix.lower() in DEFAULT_EXTS


def _snapshot_frames(url: str, every: float) -> Iterator[tuple[float, np.ndarray | None]]:
    """A network camera's still-image URL, fetched once per `every` seconds."""
    started, failures, first = time.monotonic(), 0, True
    while failures < MAX_SNAPSHOT_FAILURES:
        fetched = time.monotonic()
        try:
            with urllib.request.urlopen(url, timeout=SNAPSHOT_TIMEOUT) as reply:
                data = reply.read()
            failures = 0
        except (OSError, ValueError) as exc:
            if first:
                raise UserError(f"--source {url}: cannot fetch it ({exc})") from None
            failures += 1
            data = b""
        first = False
        try:
            frame = images.decode(data, url) if data else None
        except images.UnreadableImage:
            frame = None                # a snapshot cut short: the next one will do
        yield fetched - started, frame
        time.sleep(max(0.0, every - (time.monotonic() - fetched)))


def _folder_frames(folder: Path) -> Iterator[tuple[None, Frame]]:
    """A folder's images in name order; photos have no common clock, so every one is due."""
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in DEFAULT_EXTS)
    if not paths:
        raise UserError(f"--source {folder}: no .jpg/.jpeg/.png images in this folder")
    for path in paths:
        try:
            yield None, images.read(path)
        except images.UnreadableImage as exc:
            yield None, exc             # named in the result, not saved


def _video_frames(capture, source: str, wall_clock: bool) -> Iterator[tuple[float, np.ndarray | None]]:
    if not capture.isOpened():
        raise UserError(f"--source {source}: cannot open it (no such camera, file or stream?)")
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    started, number, failures = time.monotonic(), 0, 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                failures += 1
                if not wall_clock or failures >= MAX_READ_FAILURES:
                    return  # a file or stream that ended, or a camera that went away
                time.sleep(0.02)
                continue
            failures = 0
            # media time for files and streams (so a video is not sampled at decoding speed)
            stamp = time.monotonic() - started if wall_clock else number / fps
            number += 1
            yield stamp, frame
    finally:
        capture.release()


def next_number(folder: Path, label: str) -> int:
    taken = [int(m.group(1)) for p in folder.glob(f"{label}-*.jpg")
             if (m := re.fullmatch(re.escape(label) + r"-(\d+)\.jpg", p.name))]
    return max(taken, default=-1) + 1


def capture(spec: CaptureSpec) -> CaptureResult:
    source = frames(spec.source, spec.every)
    try:
        first = next(source, None)  # opens (and so validates) the source before any folder is made
        if first is None:
            raise UserError(f"--source {spec.source}: no frames could be read")
        folder = spec.out / spec.label
        folder.mkdir(parents=True, exist_ok=True)
        return _take(spec, _chain(first, source), folder)
    finally:
        source.close()  # releases a camera as soon as we are done with it


def _take(spec: CaptureSpec, source, folder: Path) -> CaptureResult:
    """Save due, new-looking frames until spec.count photos are saved or the source ends."""
    result = CaptureResult(folder)
    number = next_number(folder, spec.label)
    kept: list[np.ndarray] = []
    due = 0.0
    with Bar(spec.count, f"capture {spec.label}") as bar:
        for stamp, frame in source:
            if frame is None or isinstance(frame, images.UnreadableImage):
                result.unreadable += 1
                if frame is not None:
                    result.unreadable_files.append(SkippedFile(frame.name, "unreadable", frame.reason))
                continue
            if stamp is not None and stamp < due:
                continue
            thumb = thumbnail(frame)
            if any(np.abs(thumb - seen).mean() < spec.min_change for seen in kept):
                result.duplicates += 1
                continue
            path = folder / f"{spec.label}-{number:04d}.jpg"
            atomic.write_bytes(path, encode_jpeg(frame, spec.quality))
            result.saved.append(path)
            kept.append(thumb)
            number += 1
            due = (stamp or 0.0) + spec.every
            bar.update(status=f"{result.duplicates} near-duplicates skipped")
            if len(result.saved) >= spec.count:
                break
    return result


def _chain(first, rest):
    yield first
    yield from rest
