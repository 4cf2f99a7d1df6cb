"""The DeepLens project stream: JPEG frames written to the FIFO ``/tmp/results.mjpeg``,
which the device's own video viewer reads.

Opening a FIFO for writing blocks until a reader appears, so it is opened non-blocking and
retried: no viewer means no frames asked for (so none drawn) and never a stalled thread.
A frame that finds the pipe full is skipped (counted) rather than queued.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
from pathlib import Path

from socksort.edge_lambda.http import JpegHub
from socksort.errors import UserError

DEEPLENS_FIFO = "/tmp/results.mjpeg"


class FifoWriter:
    def __init__(self, path: str | Path, hub: JpegHub, retry_seconds: float = 0.5):
        self.path = Path(path)
        self.hub = hub
        self.retry_seconds = retry_seconds
        self.written = 0
        self.skipped = 0
        self._fd: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="edge-fifo", daemon=True)

    def start(self) -> "FifoWriter":
        if not self.path.exists():
            os.mkfifo(self.path)
        elif not stat.S_ISFIFO(self.path.stat().st_mode):
            raise UserError(f"{self.path} exists and is not a FIFO")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._close()

    def _run(self) -> None:
        while not self._stop.is_set() and not self.hub.closed:
            # Frames are asked for only once a viewer has the FIFO open: nobody reading
            # means nothing drawn or encoded for it.
            if self._fd is None and not self._open():
                self._stop.wait(self.retry_seconds)
                continue
            for jpeg in self.hub.follow(self._stop):
                self._write(jpeg)
                if self._fd is None:
                    break

    def _open(self) -> bool:
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:  # ENXIO: nobody reads the FIFO yet
                raise
            return False
        return True

    def _write(self, jpeg: bytes) -> None:
        view = memoryview(jpeg)
        try:
            sent = os.write(self._fd, view)
        except BlockingIOError:
            self.skipped += 1
            return
        except BrokenPipeError:
            self._close()   # the viewer left; reopen when one comes back
            return
        # A frame started must be finished, or the reader loses its place in the stream.
        while sent < len(view) and not self._stop.is_set():
            try:
                sent += os.write(self._fd, view[sent:])
            except BlockingIOError:
                self._stop.wait(0.005)
            except BrokenPipeError:
                self._close()
                return
        self.written += 1

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
