"""Connector statements, forwarded to the Kafka Connect REST API as ksqlDB does."""

from __future__ import annotations

from dataclasses import dataclass

from socksort.ksql.engine import KsqlError, StatementResult
from socksort.connect_rest import connect_request
from socksort.net import HttpError


@dataclass(frozen=True)
class ConnectorCreated(StatementResult):
    """CREATE SOURCE|SINK CONNECTOR: the connector's info as Connect reports it."""
    info: dict
    created: bool             # False: IF NOT EXISTS found it there already


@dataclass(frozen=True)
class ConnectorDropped(StatementResult):
    name: str
    dropped: bool             # False: IF EXISTS found nothing


@dataclass(frozen=True)
class ConnectorDescribed(StatementResult):
    info: dict
    status: dict | None       # None while Connect has no status for it yet (or any more)


@dataclass(frozen=True)
class ConnectorsListed(StatementResult):
    """SHOW CONNECTORS: name, type, className and state of each."""
    connectors: list[dict]


def _call(connect_url: str | None, method: str, path: str, body: dict | None = None):
    """Connect's answer to one REST call; :class:`HttpError` when Connect refuses it."""
    if not connect_url:
        raise KsqlError("This ksql server has no Kafka Connect cluster: start it with --connect-url")
    try:
        return connect_request(f"{connect_url.rstrip('/')}{path}", method, body)
    except (OSError, ValueError) as exc:
        raise KsqlError(f"Kafka Connect at {connect_url} did not answer: {exc}") from None


def _find(connect_url: str | None, name: str) -> dict | None:
    """The connector's info, or None when Connect has no connector of that name."""
    try:
        return _call(connect_url, "GET", f"/connectors/{name}")
    except HttpError as exc:
        if exc.status == 404:
            return None
        raise KsqlError(f"Kafka Connect refused to describe connector {name}: {exc.message}") from None


def create(connect_url: str | None, node) -> ConnectorCreated:
    existing = _find(connect_url, node.name)
    if existing is not None:
        if node.if_not_exists:
            return ConnectorCreated(existing, False)
        raise KsqlError(f"Connector {node.name} already exists")
    try:
        info = _call(connect_url, "POST", "/connectors", {"name": node.name, "config": dict(node.properties)})
    except HttpError as exc:
        raise KsqlError(f"Failed to create connector: {exc.message}") from None
    return ConnectorCreated(info, True)


def drop(connect_url: str | None, name: str, if_exists: bool) -> ConnectorDropped:
    try:
        _call(connect_url, "DELETE", f"/connectors/{name}")
    except HttpError as exc:
        if exc.status == 404 and if_exists:
            return ConnectorDropped(name, False)
        raise KsqlError(f"Failed to drop connector {name}: {exc.message}") from None
    return ConnectorDropped(name, True)


def describe(connect_url: str | None, name: str) -> ConnectorDescribed:
    info = _find(connect_url, name)
    if info is None:
        raise KsqlError(f"Could not find connector {name}")
    try:
        state = _call(connect_url, "GET", f"/connectors/{name}/status")
    except HttpError:
        state = None  # just created or just deleted: describe what there is
    return ConnectorDescribed(info, state)


def list_all(connect_url: str | None) -> ConnectorsListed:
    try:
        body = _call(connect_url, "GET", "/connectors?expand=status&expand=info")
    except HttpError as exc:
        raise KsqlError(f"Kafka Connect refused to list connectors: {exc.message}") from None
    rows = []
    for name, entry in sorted((body or {}).items()):
        info = entry.get("info", {})
        state = entry.get("status", {}).get("connector", {}).get("state", "UNKNOWN")
        rows.append({"name": name, "type": info.get("type", "").upper(),
                     "className": info.get("config", {}).get("connector.class", ""),
                     "state": state})
    return ConnectorsListed(rows)
