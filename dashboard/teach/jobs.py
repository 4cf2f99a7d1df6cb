"""Training jobs: ``socksort train --images ... --events`` as a subprocess, one at a time.

The dashboard never imports the training stage: it runs the command and reads its JSON
event lines (``step``, ``epoch``, then ``done`` or ``error``) on a thread of the job's own,
so the HTTP server, the MJPEG relay and the event streams never wait for training. Each
job keeps its events (bounded) so an event stream that connects late gets what happened
so far, then the live events, then the end.

Cancelling sends SIGTERM to the command's own process, which unwinds, removing its
unfinished model folder, and stops its data-loading workers. Not to the whole process group:
a worker interrupted while it holds the loader's queue lock leaves the main process waiting
for that lock forever (seen here about one time in four). The command turns SIGTERM into
KeyboardInterrupt, which Python drops when it lands inside a finaliser (MXNet's
``DataLoader.__del__``: "Exception ignored in ..."), so the signal is sent again every
:data:`RESEND_EVERY` seconds until the command ends; after :data:`KILL_AFTER` seconds its
whole group is killed. After a cancel, the hidden staging folders a command writes a model
into are removed, so a cancelled job leaves no half-written model behind either way. If
the command still finished its model before a signal took, the job says ``done``: the
model exists. Once the command has exited, whatever is left of its group is killed, so no
stray worker keeps its output pipe open.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from socksort import examples
from socksort.dashboard.teach.web import ApiError
from socksort.errors import UserError

MODES = ("quick", "full")
ACTIVE = ("queued", "running")
MAX_EVENTS = 5000          # per job; the oldest go first, counted in ``events_dropped``
KEEP_JOBS = 50             # finished jobs remembered for GET /api/train/{job}
KILL_AFTER = 30.0          # seconds a cancelled job gets to stop before SIGKILL
RESEND_EVERY = 2.0         # seconds between SIGTERMs to a cancelled job still running
STRAGGLERS_AFTER = 2.0     # seconds a finished command's leftover processes get before SIGKILL
STAGING = re.compile(r"\.[0-9a-f]{12}\..*\.partial")   # atomic.replace_folder's name for a model being written


@dataclass
class Job:
    id: str
    mode: str
    dataset_version: str
    created: float = field(default_factory=time.time)
    state: str = "queued"
    progress: float = 0.0
    model: str | None = None
    reused: bool | None = None
    error: str | None = None
    started: float | None = None
    finished: float | None = None
    events: deque = field(default_factory=deque)   # (seq, type, data)
    next_seq: int = 1
    events_dropped: int = 0
    process: subprocess.Popen | None = None
    cancel_requested: bool = False
    killed: bool = False
    changed: threading.Condition = field(default_factory=threading.Condition)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def to_dict(self) -> dict:
        return {"job": self.id, "state": self.state, "mode": self.mode, "progress": round(self.progress, 4),
                "model": self.model, "reused": self.reused, "error": self.error,
                "dataset_version": self.dataset_version, "created": _iso(self.created),
                "started": _iso(self.started), "finished": _iso(self.finished),
                "events": self.next_seq - 1, "events_dropped": self.events_dropped}

    def add_event(self, kind: str, data: dict) -> None:
        """Record an event and wake every stream waiting on this job (changed held)."""
        self.events.append((self.next_seq, kind, data))
        self.next_seq += 1
        if len(self.events) > MAX_EVENTS:
            self.events.popleft()
            self.events_dropped += 1
        self.changed.notify_all()


def check_trainable(classes: dict[str, int]) -> None:
    """400 naming the class unless the dataset has two classes of at least two photos."""
    try:
        examples.check_trainable(classes)
    except UserError as exc:
        raise ApiError(400, str(exc)) from None


def train_command(images: Path, models: Path, mode: str) -> list[str]:
    return [sys.executable, "-m", "socksort", "train", "--images", str(images), "--models", str(models),
            "--mode", mode, "--events"]


class Jobs:
    """The training jobs of one dashboard: at most one queued or running at a time."""

    def __init__(self, images: Path, models: Path, on_finished=None):
        self.images = Path(images)
        self.models = Path(models)
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._on_finished = on_finished   # called with the job once it ends

    # --- asking -----------------------------------------------------------------------

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise ApiError(404, f"no training job {job_id!r}")
        return job

    def all(self) -> list[Job]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.created)

    def running(self) -> Job | None:
        with self._lock:
            return next((job for job in self._jobs.values() if job.active), None)

    # --- starting and stopping --------------------------------------------------------

    def start(self, mode: str, classes: dict[str, int], dataset_version: str) -> Job:
        if mode not in MODES:
            raise ApiError(400, f"mode {mode!r} is not one of {', '.join(MODES)}")
        with self._lock:
            busy = next((job for job in self._jobs.values() if job.active), None)
            if busy is not None:
                raise ApiError(409, f"training job {busy.id} is still {busy.state}; "
                                    f"wait for it or cancel it first")
            check_trainable(classes)
            job = Job(uuid.uuid4().hex[:12], mode, dataset_version)
            self._jobs[job.id] = job
            self._forget_old()
        threading.Thread(target=self._run, args=(job,), name=f"train-{job.id}", daemon=True).start()
        return job

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        with job.changed:
            if not job.active:
                raise ApiError(409, f"training job {job.id} already ended ({job.state})")
            job.cancel_requested = True
            process = job.process
            if process is None:        # not started yet: it never will be
                self._finish(job, "cancelled", None)
                return job
        try:
            process.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass   # it ended meanwhile
        threading.Thread(target=self._kill_if_stuck, args=(job, process), daemon=True,
                         name=f"train-{job.id}-kill").start()
        return job

    def stop_all(self, timeout: float = 10.0) -> None:
        """Cancel what runs and wait for it to end (the dashboard is shutting down)."""
        job = self.running()
        if job is None:
            return
        try:
            self.cancel(job.id)
        except ApiError:
            return
        with job.changed:
            job.changed.wait_for(lambda: not job.active, timeout=timeout)

    def _kill_if_stuck(self, job: Job, process: subprocess.Popen) -> None:
        deadline = time.monotonic() + KILL_AFTER
        while time.monotonic() < deadline:
            try:
                process.wait(timeout=RESEND_EVERY)
                return
            except subprocess.TimeoutExpired:
                try:
                    process.send_signal(signal.SIGTERM)   # the last one may have been dropped
                except ProcessLookupError:
                    return
        job.killed = True
        _signal_group(process, signal.SIGKILL)

    def _remove_staging(self) -> None:
        """The hidden folders a stopped command was writing models into (one job runs at a
        time, so any there now are its own)."""
        if not self.models.is_dir():
            return
        for path in self.models.iterdir():
            if path.is_dir() and STAGING.fullmatch(path.name):
                shutil.rmtree(path, ignore_errors=True)

    def _forget_old(self) -> None:
        ended = sorted((j for j in self._jobs.values() if not j.active), key=lambda j: j.created)
        for job in ended[:max(0, len(self._jobs) - KEEP_JOBS)]:
            del self._jobs[job.id]

    # --- the job's own thread ---------------------------------------------------------

    def _run(self, job: Job) -> None:
        command = train_command(self.images, self.models, job.mode)
        with job.changed:
            if job.cancel_requested:
                return
            try:
                # Its own process group, so a cancel reaches every process training starts.
                job.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                               stdin=subprocess.DEVNULL, process_group=0,
                                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
            except OSError as exc:
                self._finish(job, "failed", f"cannot start socksort train: {exc}")
                return
            job.state = "running"
            job.started = time.time()
            job.add_event("state", {"state": "running"})
        stderr_tail: deque[str] = deque(maxlen=50)
        reader = threading.Thread(target=_drain, args=(job.process.stderr, stderr_tail), daemon=True,
                                  name=f"train-{job.id}-stderr")
        reader.start()
        threading.Thread(target=_reap, args=(job.process,), daemon=True, name=f"train-{job.id}-reap").start()
        done: dict | None = None
        reported_error: str | None = None
        for raw in job.process.stdout:
            event = _parse_event(raw)
            if event is None:
                continue
            kind = event["type"]
            with job.changed:
                if kind == "step" and isinstance(event.get("progress"), (int, float)):
                    job.progress = min(1.0, max(job.progress, float(event["progress"])))
                elif kind == "done":
                    done = event
                elif kind == "error" and isinstance(event.get("error"), str):
                    reported_error = event["error"]
                job.add_event(kind, event)
        returncode = job.process.wait()
        reader.join(timeout=5)
        if job.cancel_requested:
            self._remove_staging()
        with job.changed:
            finished = returncode == 0 and done is not None and isinstance(done.get("model"), str)
            if job.cancel_requested and not finished:
                self._finish(job, "cancelled", None)
            elif finished:
                job.model = done["model"]
                job.reused = bool(done.get("reused"))
                job.progress = 1.0
                self._finish(job, "done", None)
            else:
                self._finish(job, "failed", reported_error or _error_line(stderr_tail, returncode))

    def _finish(self, job: Job, state: str, error: str | None) -> None:
        """End a job (``job.changed`` held): the final state, then the end of its events."""
        job.state = state
        job.error = error
        job.finished = time.time()
        job.add_event("end", job.to_dict())
        if self._on_finished is not None:
            threading.Thread(target=self._on_finished, args=(job,), daemon=True).start()


def _parse_event(raw: bytes) -> dict | None:
    try:
        event = json.loads(raw)
    except ValueError:
        return None   # a stray line (a library printing to stdout) is not an event
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return None
    return event


def _drain(stream, tail: deque) -> None:
    for raw in stream:
        line = raw.decode("utf-8", "replace").rstrip()
        if line:
            tail.append(line)


def _error_line(stderr_tail: deque, returncode: int) -> str:
    """The command's own one-line error, else its last words, else its exit status."""
    lines = list(stderr_tail)
    for line in reversed(lines):
        if line.startswith("socksort: error:"):
            return line[len("socksort: error:"):].strip()
    if returncode < 0:
        return f"socksort train was killed by signal {-returncode}"
    return lines[-1] if lines else f"socksort train exited with status {returncode}"


def _reap(process: subprocess.Popen) -> None:
    """Once the command has exited, end what is left of its process group."""
    process.wait()
    time.sleep(STRAGGLERS_AFTER)
    _signal_group(process, signal.SIGKILL)


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass   # already gone


def _iso(stamp: float | None) -> str | None:
    if stamp is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))


def follow(job: Job, after: int = 0, keepalive: float = 10.0, stopping: threading.Event | None = None):
    """The job's events after sequence number ``after``, as (seq, type, data): first those
    already recorded, then each new one as it comes, ending after the ``end`` event. Yields
    None when ``keepalive`` seconds pass without one (the caller sends a comment)."""
    while True:
        with job.changed:
            pending = [event for event in job.events if event[0] > after]
            if not pending and job.active:
                job.changed.wait(timeout=keepalive)
                pending = [event for event in job.events if event[0] > after]
            ended = not job.active and all(event[0] <= after for event in job.events)
        if not pending:
            if ended or (stopping is not None and stopping.is_set()):
                return
            yield None
            continue
        for event in pending:
            after = event[0]
            yield event
            if event[1] == "end":
                return
