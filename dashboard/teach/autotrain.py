"""``--auto-train``: a quick retrain once the dataset has changed and uploads have paused.

A thread looks at the dataset version every :data:`POLL` seconds (the example store caches
hashes, so a look reads only new files). When the version differs from the one last
trained and has stayed the same for ``quiet`` seconds, it starts a quick job, unless one
runs (it tries again after). A dataset that cannot be trained (one class, a class of one
photo) waits for the next change. It never deploys: a person decides that.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from socksort.dashboard.teach.web import ApiError

POLL = 0.5
QUIET = 5.0


class AutoTrainer:
    def __init__(self, version: Callable[[], str], start_quick: Callable[[str], object],
                 busy: Callable[[], bool], trained: str | None = None, quiet: float = QUIET):
        self._version = version
        self._start_quick = start_quick     # called with the version it trains; ApiError if it cannot
        self._busy = busy
        self.quiet = quiet
        self.trained = trained              # the version last trained (or found trained)
        self.skipped: str | None = None     # a version that cannot be trained, and why
        self.reason: str | None = None
        self.started_jobs: list = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="auto-train", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def to_dict(self) -> dict:
        return {"enabled": True, "quiet_seconds": self.quiet, "trained_version": self.trained,
                "waiting_version": self.skipped, "waiting_reason": self.reason,
                "jobs_started": [getattr(job, "id", None) for job in self.started_jobs]}

    def _loop(self) -> None:
        seen, since = None, time.monotonic()
        while not self._stop.wait(POLL):
            try:
                version = self._version()
            except OSError:
                continue
            now = time.monotonic()
            if version != seen:
                seen, since = version, now
                continue
            if version in (self.trained, self.skipped) or now - since < self.quiet or self._busy():
                continue
            try:
                self.started_jobs.append(self._start_quick(version))
                self.trained, self.skipped, self.reason = version, None, None
            except ApiError as exc:
                if exc.status == 409:
                    continue        # a job started meanwhile; look again after it
                self.skipped, self.reason = version, exc.message
