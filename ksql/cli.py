"""Commands of the ksql stage: the engine's tools and the user's side, registered on `socksort`."""

from __future__ import annotations

from socksort.ksql import tool_cli, user_cli


def register(commands) -> None:
    tool_cli.register(commands)
    user_cli.register(commands)
