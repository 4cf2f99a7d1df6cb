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


def ksql_conformance_dir() -> Path:
    """The shared ksqlDB conformance cases (``../shared/ksql-conformance`` next to the
    checkout, or next to the folder of worktrees); ``SOCKSORT_KSQL_CONFORMANCE`` overrides."""
    if os.environ.get("SOCKSORT_KSQL_CONFORMANCE"):
        return Path(os.environ["SOCKSORT_KSQL_CONFORMANCE"])
    candidates = [ROOT.parent / "shared" / "ksql-conformance",
                  ROOT.parent.parent / "shared" / "ksql-conformance"]
    return next((c for c in candidates if c.is_dir()), candidates[0])


def ksql_git_mirror() -> Path:
    """A git directory of confluentinc/ksql (ksqlDB's own tests): ``SOCKSORT_KSQL_GIT``, else
    where the tool ``fetch github:confluentinc/ksql`` puts its mirror on this machine."""
    return Path(os.environ.get("SOCKSORT_KSQL_GIT") or "/work/.mirror/confluentinc+ksql/repo")
