"""SIGTERM as a clean stop, for the edge's long-running commands (edge, camera, worker).

A service manager (systemd, Docker, Greengrass) stops a process with SIGTERM; Python's
default would kill it mid-frame, leaving predictions unflushed and a transaction open.
"""

from __future__ import annotations

import signal
import threading
from typing import Callable


def stop_on_sigterm(request_stop: Callable[[], None]) -> bool:
    """Call ``request_stop`` on SIGTERM. Python lets only the main thread set a handler, so
    elsewhere (a test running the loop in a thread) nothing is installed; returns whether it was."""
    if threading.current_thread() is not threading.main_thread():
        return False
    signal.signal(signal.SIGTERM, lambda *_: request_stop())
    return True
