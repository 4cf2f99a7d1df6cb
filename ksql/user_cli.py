"""The user's side: `ksql-server`, `ksql-apply`, `ksql` shell, `pairs`, `replay`."""

from __future__ import annotations


def register(commands) -> None:
    """Add the user-facing ksql subcommands."""
