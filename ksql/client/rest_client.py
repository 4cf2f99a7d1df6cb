"""Talking to a ksqlDB-compatible server (ours or a real one) with the ksql-python-ng client.

Every user command goes through here, so they work the same against socksort's
ksql-server and a ksqlDB cluster. Client and HTTP failures become one-line UserErrors.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass

from socksort.errors import UserError
from socksort.ksql.sql import variables


@dataclass(frozen=True)
class Rows:
    columns: list[str]
    rows: list[list]


@contextmanager
def _errors(url: str):
    import httpx
    from ksql.errors import KSQLError

    try:
        yield
    except KSQLError as exc:
        raise UserError(f"{url}: {exc.msg if hasattr(exc, 'msg') else exc}") from None
    except httpx.HTTPError as exc:
        raise UserError(f"cannot reach the ksql server at {url}: {exc}") from None
    except ValueError as exc:  # ksql-python-ng's way of reporting a refused query
        raise UserError(f"{url}: {_server_message(str(exc))}") from None


def _server_message(text: str) -> str:
    start = text.find("{")
    if start >= 0:
        try:
            return json.loads(text[start:]).get("message", text)
        except ValueError:
            pass
    return text


def client(url: str):
    import ksql

    with _errors(url):
        return ksql.KSQLAPI(url, timeout=60)


def run(url: str, text: str, properties: dict | None = None) -> list[dict]:
    """Run statements through /ksql; the list of entities the server returned."""
    api = client(url)
    with _errors(url):
        return api.ksql(text, stream_properties=properties or {})


def pull(url: str, select: str) -> Rows:
    """A pull query through /query: the column names and the rows."""
    api = client(url)
    with _errors(url):
        body = "".join(api.query(select))
    try:
        items = json.loads(body)
    except ValueError:
        raise UserError(f"{url}: the answer to {select!r} is not JSON: {body[:200]!r}") from None
    columns: list[str] = []
    rows: list[list] = []
    for item in items:
        if "header" in item:
            columns = [name.strip("`") for name, *_ in
                       (part.strip().split(" ", 1) for part in item["header"]["schema"].split(","))]
        elif "row" in item:
            rows.append(item["row"]["columns"])
        elif "errorMessage" in item:
            raise UserError(f"{url}: {item['errorMessage'].get('message', item['errorMessage'])}")
    return Rows(columns, rows)


def substitute(text: str, values: dict[str, str]) -> str:
    """Fill ksqlDB ${name} variables client-side, as the ksql CLI does after DEFINE."""
    try:
        return variables.substitute(text, values)
    except variables.UndefinedVariable as exc:
        raise UserError(f"variable ${{{exc.args[0]}}} is used but not defined") from None
