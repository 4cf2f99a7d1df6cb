"""Connector statements, forwarded to the Kafka Connect REST API as ksqlDB does."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from socksort.ksql.engine import KsqlError


def _call(connect_url: str | None, method: str, path: str, body: dict | None = None):
    if not connect_url:
        raise KsqlError("This ksql server has no Kafka Connect cluster: start it with --connect-url")
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{connect_url.rstrip('/')}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json",
                                              "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
            return response.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as exc:
        text = exc.read()
        try:
            message = json.loads(text).get("message", text.decode(errors="replace"))
        except ValueError:
            message = text.decode(errors="replace")
        return exc.code, {"message": message}
    except (urllib.error.URLError, OSError) as exc:
        raise KsqlError(f"Kafka Connect at {connect_url} did not answer: {exc}") from None


def create(connect_url: str | None, node) -> dict:
    """CREATE SOURCE|SINK CONNECTOR: the connector's info as Connect reports it."""
    config = dict(node.properties)
    status, existing = _call(connect_url, "GET", f"/connectors/{node.name}")
    if status == 200:
        if node.if_not_exists:
            return {"info": existing, "created": False}
        raise KsqlError(f"Connector {node.name} already exists")
    status, body = _call(connect_url, "POST", "/connectors", {"name": node.name, "config": config})
    if status not in (200, 201):
        raise KsqlError(f"Failed to create connector: {body.get('message', body)}")
    return {"info": body, "created": True}


def drop(connect_url: str | None, name: str, if_exists: bool) -> dict:
    status, body = _call(connect_url, "DELETE", f"/connectors/{name}")
    if status == 404 and if_exists:
        return {"name": name, "dropped": False}
    if status not in (200, 204):
        raise KsqlError(f"Failed to drop connector {name}: {(body or {}).get('message', status)}")
    return {"name": name, "dropped": True}


def describe(connect_url: str | None, name: str) -> dict:
    status, info = _call(connect_url, "GET", f"/connectors/{name}")
    if status != 200:
        raise KsqlError(f"Could not find connector {name}")
    _, state = _call(connect_url, "GET", f"/connectors/{name}/status")
    return {"info": info, "status": state}


def list_all(connect_url: str | None) -> list[dict]:
    status, body = _call(connect_url, "GET", "/connectors?expand=status&expand=info")
    if status != 200:
        raise KsqlError(f"Kafka Connect refused to list connectors: {body}")
    rows = []
    for name, entry in sorted((body or {}).items()):
        info = entry.get("info", {})
        state = entry.get("status", {}).get("connector", {}).get("state", "UNKNOWN")
        rows.append({"name": name, "type": info.get("type", "").upper(),
                     "className": info.get("config", {}).get("connector.class", ""),
                     "state": state})
    return rows
