"""`socksort pairs`: the SOCK_PAIRS table, read and reset through the ksqlDB REST API.

Reading is a pull query. Resetting starts a new sorting session with statements any
ksqlDB server runs: terminate the pipeline's queries, drop what they built (deleting
their topics), and apply ksql/pipeline.ksql again with ``auto.offset.reset=latest``, so
the new queries count only frames that arrive from now on. The input stream over
``data_mqtt`` stays.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from socksort.contract import PAIRS
from socksort.errors import UserError
from socksort.ksql.client import draw, rest_client
from socksort.ksql.pipeline.files import PIPELINE_SQL
from socksort.ksql.pipeline.rows import PairRow
from socksort.ksql.sql import ast
from socksort.ksql.sql.parser import parse

def read(url: str) -> list[PairRow]:
    """The pair table, sorted by design."""
    try:
        result = rest_client.pull(url, f"SELECT * FROM {PAIRS};")
    except UserError as exc:
        if "does not exist" in str(exc) or "Could not find" in str(exc):
            raise UserError(f"{PAIRS} does not exist on {url}: run `socksort ksql-apply` first") from None
        raise
    index = {name.upper(): i for i, name in enumerate(result.columns)}
    missing = {"IMAGE", "PAIR_SEEN", "NUMBER_SOCKS_SEEN"} - set(index)
    if missing:
        raise UserError(f"{PAIRS} on {url} lacks columns {sorted(missing)}")
    pairs = [PairRow(row[index["IMAGE"]], row[index["PAIR_SEEN"]], int(row[index["NUMBER_SOCKS_SEEN"]]))
             for row in result.rows]
    return sorted(pairs, key=lambda p: p.image)


def to_json(pairs: list[PairRow]) -> str:
    """The pair table as `pairs --json` and `replay` print it."""
    return json.dumps([p.to_dict() for p in pairs], indent=2)


def table(pairs: list[PairRow]) -> str:
    """The pair table drawn as the ksql CLI draws query results."""
    return draw.table(("IMAGE", "PAIR_SEEN", "NUMBER_SOCKS_SEEN"),
                      [(p.image, p.pair_seen, p.number_socks_seen) for p in pairs])


@dataclass(frozen=True)
class PipelineObjects:
    """What ksql/pipeline.ksql creates, in creation order."""

    inputs: list[str]        # sources over topics nothing in the pipeline writes
    built: list[tuple[str, str, bool]]   # (kind, name, owns its topic) for everything else


def pipeline_objects(sql: str) -> PipelineObjects:
    inputs, built, written = [], [], set()
    for statement in parse(sql):
        node = statement.node
        props = {k.upper(): v for k, v in getattr(node, "properties", {}).items()}
        if isinstance(node, ast.CreateAsSelect):
            written.add(str(props.get("KAFKA_TOPIC", node.name)).upper())
            built.append((node.kind, node.name, True))
        elif isinstance(node, ast.CreateSource):
            if str(props.get("KAFKA_TOPIC", "")).upper() in written:
                built.append((node.kind, node.name, False))
            else:
                inputs.append(node.name)
    return PipelineObjects(inputs, built)


def reset_statements(url: str, sql: str) -> list[str]:
    """TERMINATE the queries writing pipeline objects, then DROP those objects, newest first."""
    objects = pipeline_objects(sql)
    names = {name.upper() for _, name, _ in objects.built}
    statements = []
    for entity in rest_client.run(url, "SHOW QUERIES;"):
        for query in entity.get("queries", []):
            if {sink.upper() for sink in query.get("sinks", [])} & names:
                statements.append(f"TERMINATE {query['id']};")
    for kind, name, owns_topic in reversed(objects.built):
        statements.append(f"DROP {kind} IF EXISTS {name}{' DELETE TOPIC' if owns_topic else ''};")
    return statements


def reset(url: str, sql_path: Path = PIPELINE_SQL) -> None:
    """Start a new sorting session: the pipeline rebuilt, counting only new frames."""
    sql = sql_path.read_text()
    for statement in reset_statements(url, sql):
        rest_client.run(url, statement)
    rest_client.run(url, sql, {"auto.offset.reset": "latest"})
