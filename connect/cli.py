"""Commands of the connect stage, registered on the one `socksort` CLI."""

from __future__ import annotations


def register(commands) -> None:
    """Add this stage's subcommands to `commands` (argparse subparsers)."""
