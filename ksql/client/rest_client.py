"""The one ksqlDB REST client: socksort's ksql-server or a real ksqlDB cluster.

The shell, ``ksql-apply``, ``pairs``, the dashboard, the benchmarks and the tests talk to a
server through here, so the timeouts, the HTTP/2 fallback and the error texts live once.
Statements (/ksql) and pull queries (/query) go through ksqlDB's Python client,
ksql-python-ng. Streamed queries (the shell's /query, the dashboard's /query-stream) go
through httpx, which ksql-python-ng is built on, because they are read as they arrive and
ended from another thread. Client and HTTP failures become one-line UserErrors.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import httpx
import ksql
from ksql.errors import KSQLError

from socksort.errors import UserError
from socksort.ksql.sql import variables
from socksort.net import HttpError, json_request

# Timeouts, in seconds.
STATEMENT_TIMEOUT_S = 60.0   # a /ksql request holds the answer until every statement ran
CONNECT_TIMEOUT_S = 10.0     # opening a streamed query; reading it waits as long as it runs
QUICK_TIMEOUT_S = 2.0        # /close-query, and SHOW QUERIES polled by the dashboard

DELIMITED = "application/vnd.ksqlapi.delimited.v1"
# ksqlDB serves /query-stream over HTTP/2 only; over HTTP/1.1 it answers with this code
# ("This endpoint is only available when using HTTP2"). Streams start on HTTP/1.1 (the
# embedded server answers both) and switch when a server says so.
HTTP2_ONLY_CODE = 40004


class QueryError(Exception):
    """The server refused a query or ended it with an error message."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Rows:
    columns: list[str]
    rows: list[list]


# --- error texts ------------------------------------------------------------------------

def unreachable(url: str, exc: Exception) -> str:
    return f"cannot reach the ksql server at {url}: {exc}"


def server_message(text: str) -> str:
    """The ``message`` of a server's JSON error answer (the text itself if there is none)."""
    start = text.find("{")
    if start >= 0:
        try:
            return json.loads(text[start:]).get("message", text)
        except (ValueError, AttributeError):
            pass
    return text


def error_from_body(body) -> QueryError:
    if isinstance(body, dict):
        return QueryError(str(body.get("message") or body), body.get("error_code"))
    return QueryError(str(body))


@contextmanager
def _errors(url: str):
    try:
        yield
    except KSQLError as exc:
        raise UserError(f"{url}: {exc.msg if hasattr(exc, 'msg') else exc}") from None
    except httpx.HTTPError as exc:
        raise UserError(unreachable(url, exc)) from None
    except ValueError as exc:  # ksql-python-ng's way of reporting a refused query
        raise UserError(f"{url}: {server_message(str(exc))}") from None


# --- statements and pull queries ---------------------------------------------------------

def client(url: str, timeout: float = STATEMENT_TIMEOUT_S):
    """ksql-python-ng's client for ``url`` (it asks /info for the server's version first)."""
    with _errors(url):
        return ksql.KSQLAPI(url, timeout=timeout)


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
            columns = schema_columns(item["header"]["schema"])
        elif "row" in item:
            rows.append(item["row"]["columns"])
        elif "errorMessage" in item:
            raise UserError(f"{url}: {item['errorMessage'].get('message', item['errorMessage'])}")
    return Rows(columns, rows)


def schema_columns(schema: str) -> list[str]:
    """The column names of /query's header schema ("`A` STRING, `B` BIGINT")."""
    return [part.strip().split(" ", 1)[0].strip("`") for part in schema.split(",") if part.strip()]


def substitute(text: str, values: dict[str, str]) -> str:
    """Fill ksqlDB ${name} variables client-side, as the ksql CLI does after DEFINE."""
    try:
        return variables.substitute(text, values)
    except variables.UndefinedVariable as exc:
        raise UserError(f"variable ${{{exc.args[0]}}} is used but not defined") from None


# --- streamed queries ---------------------------------------------------------------------

@contextmanager
def stream(url: str, path: str, body: dict, http2: bool = False,
           accept: str | None = None) -> Iterator:
    """POST ``body`` to a streaming endpoint (/query, /query-stream); the open httpx
    response, read as it arrives. ``http2``: HTTP/2 with prior knowledge, as ksqlDB's own
    clients connect for /query-stream. A connection that fails or breaks while the
    response is read raises ConnectionError with the one-line reason."""
    client = httpx.Client(http1=not http2, http2=http2,
                          timeout=httpx.Timeout(CONNECT_TIMEOUT_S, read=None))
    try:
        with client.stream("POST", f"{url.rstrip('/')}{path}", json=body,
                           headers={"Accept": accept} if accept else None) as response:
            yield response
    except httpx.HTTPError as exc:
        raise ConnectionError(unreachable(url, exc)) from None
    finally:
        client.close()


def refusal(response, http2: bool) -> QueryError:
    """Why a streamed query was refused; ``HTTP2_ONLY_CODE`` when the endpoint needs HTTP/2."""
    text = response.read().decode("utf-8", "replace")
    try:
        return error_from_body(json.loads(text))
    except ValueError:
        if response.status_code in (404, 405, 426) and not http2:
            return QueryError("endpoint needs HTTP/2", HTTP2_ONLY_CODE)
        return QueryError(f"ksql server answered HTTP {response.status_code}: {text[:200]}")


def close_query(url: str, query_id: str, http2: bool = False) -> None:
    """Ask the server to end a push query (it would notice the closed socket later)."""
    try:
        with httpx.Client(http1=not http2, http2=http2, timeout=QUICK_TIMEOUT_S) as client:
            client.post(f"{url.rstrip('/')}/close-query", json={"queryId": query_id})
    except httpx.HTTPError:
        pass


# --- which queries write the pipeline's tables ---------------------------------------------

def writing_queries(url: str, sinks: tuple[str, ...]) -> dict[str, str] | None:
    """The id of the persistent query writing each of ``sinks`` (``SHOW QUERIES`` on /ksql).

    A new sorting session drops and re-creates the tables, and with them their queries. The
    embedded engine ends push queries on a dropped source, but a server that leaves them
    open would keep them reading a table that no longer exists; comparing these ids over
    time tells the dashboard when to start its push queries again either way. None when
    the server does not answer within ``QUICK_TIMEOUT_S``.
    """
    try:
        answer = json_request(f"{url.rstrip('/')}/ksql", "POST",
                              {"ksql": "SHOW QUERIES;", "streamsProperties": {}}, QUICK_TIMEOUT_S)
    except (OSError, ValueError, HttpError):
        return None
    return writers_from_listing(answer, sinks)


def writers_from_listing(answer, sinks: tuple[str, ...]) -> dict[str, str]:
    """From a ``SHOW QUERIES`` answer, the query writing each sink (absent sinks are left out)."""
    found: dict[str, str] = {}
    entries = answer if isinstance(answer, list) else [answer]
    for entry in entries:
        for query in (entry or {}).get("queries") or ():
            for sink in query.get("sinks") or ():
                if sink.upper() in sinks and query.get("id"):
                    found[sink.upper()] = query["id"]
    return found
