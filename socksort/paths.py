"""Where the project keeps its own files: everything runtime lives under the checkout.

``.socksort/`` holds service data and logs (``stack up``), ``.cache/`` holds downloads
(Maven's local repository and the like). Both are git-ignored. ``SOCKSORT_HOME``
moves the runtime folder, which tests use to keep their services apart.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def runtime_dir() -> Path:
    return Path(os.environ.get("SOCKSORT_HOME") or ROOT / ".socksort")


def cache_dir() -> Path:
    return ROOT / ".cache"
