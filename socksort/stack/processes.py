"""Child processes the stack owns: start them detached, know them again, stop only them.

A service is started in its own session (so ``stack up`` may exit and leave it running,
and a stop signal reaches the whole process group). What we started is recorded as an
:class:`Identity` — pid plus the kernel's start time of that pid — so a later ``stack
down`` never signals a process that merely reused the number. Ports are checked before
a start: a port held by someone else is reported with the holder's pid and command
line, never adopted.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from socksort import atomic
from socksort.errors import UserError


class StillStarting(UserError):
    """A service that is alive and answering, but not ready yet after a long wait. Unlike
    other start failures it is left running: it may still be recovering."""


@dataclass(frozen=True)
class Identity:
    """Who a pid file means: the pid, its start time in clock ticks since boot, its command."""

    pid: int
    start_ticks: int
    command: str

    def alive(self) -> bool:
        """True while *this* process runs (not a later one that got the same pid)."""
        current = identify(self.pid)
        return current is not None and current.start_ticks == self.start_ticks


def identify(pid: int) -> Identity | None:
    """The identity of a running pid, or None if there is no such (live) process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name in field 2 may contain spaces and parentheses; fields after it don't.
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] == "Z":
        return None
    return Identity(pid, int(fields[19]), command_line(pid))


def command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)


def spawn(argv: list[str], log_path: Path, env: dict | None = None, cwd: Path | None = None,
          die_with_parent: bool = False) -> subprocess.Popen:
    """Start ``argv`` in a new session with stdout+stderr appended to ``log_path``.

    ``die_with_parent``: the kernel sends the child SIGTERM when we die, however we die —
    what tests want, so a killed test run leaks no broker. (util-linux's ``setpriv`` sets
    the signal and execs the program, so the pid stays the program's; a ``preexec_fn``
    would do the same but is unsafe in a process with threads.)
    """
    if die_with_parent and shutil.which("setpriv"):
        argv = ["setpriv", "--pdeathsig", "TERM", "--", *argv]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=env, cwd=cwd, start_new_session=True)


def stop(pid: int, timeout: float = 20.0, child: subprocess.Popen | None = None) -> None:
    """SIGTERM the process group led by ``pid``; SIGKILL it if still alive after ``timeout``.

    ``child`` is the Popen when we are the parent: waiting on it reaps the zombie, which
    polling /proc alone would mistake for a live process.
    """
    _signal_group(pid, signal.SIGTERM)
    if not _wait_gone(pid, timeout, child):
        _signal_group(pid, signal.SIGKILL)
        _wait_gone(pid, 10.0, child)


def kill(pid: int, child: subprocess.Popen | None = None) -> None:
    """SIGKILL the process group at once (what a crash looks like to the others)."""
    _signal_group(pid, signal.SIGKILL)
    _wait_gone(pid, 10.0, child)


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def _wait_gone(pid: int, timeout: float, child: subprocess.Popen | None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child is not None:
            if child.poll() is not None:
                return True
        elif identify(pid) is None:
            return True
        time.sleep(0.05)
    return False


# --- pid files ---------------------------------------------------------------------

def write_pid_file(path: Path, pid: int) -> Identity:
    identity = identify(pid)
    if identity is None:
        raise UserError(f"process {pid} exited before it could be recorded in {path}")
    atomic.write_json(path, asdict(identity))
    return identity


def read_pid_file(path: Path) -> Identity | None:
    """The recorded identity, or None if there is no (readable) pid file."""
    try:
        return Identity(**json.loads(path.read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None


# --- ports -------------------------------------------------------------------------

def listening_inodes(port: int) -> set[str]:
    """Socket inodes in LISTEN state on ``port`` (any address, IPv4 or IPv6)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            local, state, inode = cols[1], cols[3], cols[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


UNSEEN = "a process this user cannot inspect"


def port_holder(port: int) -> str | None:
    """Describe the process listening on ``port`` ("pid 123: /usr/sbin/mosquitto -c ..."),
    or None if nothing listens there."""
    inodes = listening_inodes(port)
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in wanted:
                    return f"pid {entry.name}: {command_line(int(entry.name))}"
            except OSError:
                continue
    return f"{UNSEEN} (another user's, e.g. a system service)"


UNSEEN_HOLDER_WAIT_S = 5.0


def ensure_port_free(port: int, what: str, hint: str = "") -> None:
    """Raise a one-line UserError naming the holder if something already listens on ``port``.

    A listener no process shows is usually one that is exiting (a JVM just SIGKILLed
    closes its sockets last): give it a few seconds to go before calling the port taken."""
    holder = port_holder(port)
    deadline = time.monotonic() + UNSEEN_HOLDER_WAIT_S
    while holder is not None and holder.startswith(UNSEEN) and time.monotonic() < deadline:
        time.sleep(0.2)
        holder = port_holder(port)
    if holder is not None:
        raise UserError(f"port {port} for {what} is already in use by {holder}; "
                        f"stop it{hint or ' or choose another port'}")


def log_tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(text[-lines:]) or "(empty log)"


class Launcher:
    """What every launcher shares: the child it started, stopping it, waiting for it.

    A subclass implements ``start()`` — spawn with :meth:`_spawn`, then :meth:`_wait_ready`
    — and sets ``what`` (for messages) and ``stop_timeout``.
    """

    what = "the service"
    stop_timeout = 20.0
    #: True for services a test starts: they must not outlive the test process.
    die_with_parent = False
    _child: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None and self._child.poll() is None else None

    def start(self, timeout: float):
        raise NotImplementedError

    def stop(self) -> None:
        if self._child is not None:
            stop(self._child.pid, timeout=self.stop_timeout, child=self._child)
            self._child = None

    def kill(self) -> None:
        """SIGKILL, as a crash would: no flushing, no goodbyes to clients."""
        if self._child is not None:
            kill(self._child.pid, child=self._child)
            self._child = None

    def restart(self, **start_options):
        self.stop()
        return self.start(**start_options)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _spawn(self, argv: list[str], log_path: Path) -> None:
        self._child = spawn(argv, log_path, die_with_parent=self.die_with_parent)

    def _wait_ready(self, ready, timeout: float, log_path: Path) -> None:
        """Poll ``ready()`` — True, or a string saying what is still wrong — until it is
        True; fail at once if the child exits, and stop it if the timeout passes."""
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self._child.poll() is not None:
                code = self._child.returncode
                self._child = None
                raise UserError(f"{self.what} exited with status {code} while starting: "
                                f"{log_tail(log_path)}")
            answer = ready()
            if answer is True:
                return
            last = answer or last
            time.sleep(0.2)
        self.stop()
        raise UserError(f"{self.what} did not answer within {timeout:g}s ({last}); log: {log_path}")
