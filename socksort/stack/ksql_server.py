"""The ksql engine as a service of the stack: ``socksort ksql-server`` in a child process.

The stack starts the engine through its command, exactly as a user would, and asks it
through ksqlDB's REST API whether it answers (``/info``) and whether it has rebuilt its
state (``/healthcheck``'s ``commandRunner``).
"""

from __future__ import annotations

import importlib.util
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from socksort import progress
from socksort.errors import UserError
from socksort.net import HttpError, json_request
from socksort.stack import processes

# The ksql stage's server; the stack runs it as `socksort ksql-server`, never imports it.
SERVER_MODULE = "socksort.ksql.server"


def ksql_engine_available() -> bool:
    """Whether this installation has the ksql engine's server (``socksort ksql-server``).

    Asked of the ksql package itself, without importing its server: the stack talks to the
    engine only through its command and its REST API."""
    return importlib.util.find_spec(SERVER_MODULE) is not None


@dataclass(eq=False)
class KsqlServer(processes.Launcher):
    """``socksort ksql-server`` as a child process of the stack.

    :meth:`start` returns once the engine has rebuilt its state (replayed its command topic
    over its input), as ksqlDB answers only then; until that, it prints what the engine
    still waits for."""

    workdir: Path
    bootstrap_servers: str
    port: int
    connect_url: str
    host: str = "127.0.0.1"
    command_topic: str | None = None   # None: the server's default

    what = "the ksql engine"
    #: how long a rebuild may go without progress before :meth:`wait_rebuilt` gives up
    rebuild_stall_timeout = 120.0

    def __post_init__(self):
        self.workdir = Path(self.workdir)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "ksql.log"

    def start(self, timeout: float = 120) -> "KsqlServer":
        processes.ensure_port_free(self.port, "the ksql engine", " or choose another port with --ksql-port")
        log = self.log_path
        progress.step(f"starting the ksql engine on {self.url} (logs: {log})")
        argv = [sys.executable, "-m", "socksort", "ksql-server", "--bootstrap", self.bootstrap_servers,
                "--listen", f"{self.host}:{self.port}", "--connect-url", self.connect_url]
        if self.command_topic:
            argv += ["--command-topic", self.command_topic]
        self._spawn(argv, log)
        progress.step(f"waiting for the ksql engine at {self.url}/info")
        self._wait_ready(lambda: http_answers(f"{self.url}/info"), timeout, log)
        self.wait_rebuilt()
        return self

    def wait_rebuilt(self) -> None:
        """Wait until the engine has replayed its commands and caught up with its input,
        saying what it waits for; as long as it makes progress, without a time limit."""
        progress.step("waiting for the ksql engine to rebuild its state (replaying its commands "
                      "over its input topics)")
        said, since = None, time.monotonic()
        while (waiting := rebuild_waits_for(self.url)) is not None:
            if self._child is not None and self._child.poll() is not None:
                code, self._child = self._child.returncode, None
                raise UserError(f"{self.what} exited with status {code} while rebuilding its "
                                f"state: {processes.log_tail(self.log_path)}")
            if waiting != said:
                progress.step(f"the ksql engine is rebuilding its state: {waiting}")
                said, since = waiting, time.monotonic()
            elif time.monotonic() - since > self.rebuild_stall_timeout:
                raise UserError(f"{self.what} made no progress rebuilding its state for "
                                f"{self.rebuild_stall_timeout:g}s ({waiting}); log: {self.log_path}")
            time.sleep(0.5)
        progress.step("the ksql engine has rebuilt its state")


def rebuild_waits_for(url: str, fetch=json_request) -> str | None:
    """None once the ksql server at ``url`` has rebuilt its state, else what it waits for.

    ksqlDB reports its command replay as the ``commandRunner`` detail of /healthcheck;
    socksort's server adds ``waitingFor``."""
    try:
        health = fetch(f"{url}/healthcheck", timeout=5)
    except HttpError as exc:
        return f"/healthcheck answered HTTP {exc.status} ({exc.message[:100]})"
    except (OSError, ValueError) as exc:
        return f"/healthcheck did not answer ({exc})"
    if not isinstance(health, dict):
        return "/healthcheck answered no JSON object"
    runner = (health.get("details") or {}).get("commandRunner")
    if runner is None:
        return None if health.get("isHealthy") else "the server reports itself unhealthy"
    return None if runner.get("isHealthy") else runner.get("waitingFor") or "its command replay"


def http_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= response.status < 300
    except (OSError, ValueError):
        return False
