"""ksqlDB's ``${name}`` variable substitution, shared by the server and the clients.

Only ``${identifier}`` is a variable; other ``${...}`` forms, such as Kafka Connect's
``${file:/path:key}`` config references, pass through untouched.
"""

from __future__ import annotations

import re

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class UndefinedVariable(KeyError):
    """A ``${name}`` whose name was not defined."""


def substitute(text: str, variables: dict) -> str:
    """``text`` with every ``${name}`` replaced (names are case-insensitive)."""
    lowered = {str(k).lower(): str(v) for k, v in variables.items()}

    def value(match: re.Match) -> str:
        name = match.group(1)
        if name.lower() not in lowered:
            raise UndefinedVariable(name)
        return lowered[name.lower()]
    return _VARIABLE.sub(value, text)
