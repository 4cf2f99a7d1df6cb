"""Engine tools: `socksort ksql-test-runner` and `socksort ksql-run` (in-process, no broker)."""

from __future__ import annotations


def register(commands) -> None:
    """Add the engine tools' subcommands."""
