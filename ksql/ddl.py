"""Declarations and inserts: CREATE STREAM/TABLE sources, sink properties, INSERT VALUES."""

from __future__ import annotations

from socksort.ksql import ast, formats
from socksort.ksql import types as T
from socksort.ksql.catalog import PSEUDO_COLUMNS, Column, Source
from socksort.ksql.errors import KsqlError, unsupported
from socksort.ksql.expressions import Scope, compile_expr
from socksort.ksql.parser import DURATION_UNITS
from socksort.ksql.records import Record

SOURCE_PROPS = {"KAFKA_TOPIC", "VALUE_FORMAT", "KEY_FORMAT", "FORMAT", "PARTITIONS", "REPLICAS",
                "TIMESTAMP", "WINDOW_TYPE", "WINDOW_SIZE", "VALUE_DELIMITER", "RETENTION_MS"}
SINK_PROPS = {"KAFKA_TOPIC", "VALUE_FORMAT", "KEY_FORMAT", "FORMAT", "PARTITIONS", "REPLICAS",
              "TIMESTAMP", "VALUE_DELIMITER", "RETENTION_MS"}


def source_from_statement(node: ast.CreateSource, text: str) -> Source:
    """The catalog entry a CREATE STREAM/TABLE (without AS SELECT) declares, checked as ksqlDB does."""
    props = {k.upper(): v for k, v in node.properties.items()}
    check_props(props, SOURCE_PROPS, node.pos)
    if "KAFKA_TOPIC" not in props:
        raise KsqlError('Missing required property "KAFKA_TOPIC" which has no default value.',
                        *node.pos)
    value_format = (props.get("VALUE_FORMAT") or props.get("FORMAT") or "").upper()
    if not value_format:
        raise KsqlError('Missing required property "VALUE_FORMAT" which has no default value.',
                        *node.pos)
    if value_format not in formats.VALUE_FORMATS:
        raise unsupported(f"VALUE_FORMAT '{value_format}'", node.pos)
    if props.get("VALUE_DELIMITER", ",") not in (",", "COMMA"):
        raise unsupported("VALUE_DELIMITER other than ','", node.pos)
    if not node.columns:
        raise unsupported("CREATE without a column list (schema inference)", node.pos)
    columns = []
    seen = set()
    for c in node.columns:
        t = T.from_name(c.type_name)
        if t is None:
            raise unsupported(f"column type {c.type_name}", c.pos)
        if c.name in seen:
            raise KsqlError(f"Duplicate column names: {c.name}", *c.pos)
        if c.name in PSEUDO_COLUMNS:
            raise KsqlError(f"'{c.name}' is a reserved column name.", *c.pos)
        if T.is_complex(t) and (c.key or value_format != formats.JSON):
            raise unsupported(f"a {t.split('<')[0]} column outside a JSON value", c.pos)
        seen.add(c.name)
        columns.append(Column(c.name, t, c.key))
    keys = [c for c in columns if c.key]
    if node.kind == "TABLE" and not keys:
        raise KsqlError("Tables require a PRIMARY KEY. Please define the PRIMARY KEY.", *node.pos)
    key_format = (props.get("KEY_FORMAT") or props.get("FORMAT") or "KAFKA").upper()
    if key_format == "DELIMITED" and not keys:
        key_format = formats.KAFKA
    if key_format not in (formats.KAFKA, formats.JSON):
        raise unsupported(f"KEY_FORMAT '{key_format}'", node.pos)
    if key_format == formats.KAFKA and len(keys) > 1:
        raise KsqlError("Key format does not support schema.\nformat: KAFKA\nreason: The "
                        "'KAFKA' format only supports a single field.", *node.pos)
    if key_format == formats.KAFKA and keys and keys[0].type == T.BOOLEAN:
        raise KsqlError("Key format does not support schema.\nformat: KAFKA\nreason: The "
                        "'KAFKA' format does not support type 'BOOLEAN'", *node.pos)
    window_kind, window_size = _window_props(props, node.pos)
    ts_col = _timestamp_column(props, columns, node.pos)
    columns = keys + [c for c in columns if not c.key]
    source = Source(node.name, node.kind, props["KAFKA_TOPIC"],
                    key_format if keys else formats.NONE, value_format, columns,
                    window_kind, window_size, ts_col,
                    int(props["PARTITIONS"]) if "PARTITIONS" in props else None, text,
                    properties=props)
    return source


def insert_record(node: ast.InsertValues, source: Source) -> tuple:
    """The record an INSERT INTO ... VALUES writes (decoded, and as bytes); the server
    produces it to the topic."""
    if source.windowed:
        raise unsupported("INSERT VALUES into a windowed source", node.pos)
    names = node.columns or [c.name for c in source.columns]
    if len(names) != len(node.values):
        raise KsqlError(f"Failed to prepare statement: Expected number columns and values to "
                        f"match: {names}, {len(node.values)}", *node.pos)
    by_name = {c.name: c for c in source.columns}
    given: dict = {}
    timestamp = None
    empty = Scope({}, unknown=lambda ref: KsqlError(
        f"Only literals are supported in VALUES: {ref.name}", *(ref.pos or node.pos)))
    for name, expr in zip(names, node.values):
        fn, _ = compile_expr(expr, empty)
        value = fn([])
        if name == "ROWTIME":
            timestamp = value
            continue
        column = by_name.get(name)
        if column is None:
            raise KsqlError(f"Column name {name} does not exist.", *node.pos)
        try:
            given[name] = T.coercer(column.type)(value)
        except T.CoercionError as exc:
            raise KsqlError(f"Failed to insert values into '{source.name}'. {exc}",
                            *node.pos) from None
    keys = source.key_columns
    key_format = source.key_format if keys else formats.KAFKA
    key = formats.key_output(key_format, [c.name for c in keys])(
        [given.get(c.name) for c in keys])
    values = source.value_columns
    value = formats.value_encoder(source.value_format, [c.name for c in values],
                                  [c.type for c in values])([given.get(c.name) for c in values])
    record = Record(source.topic, key, value, timestamp if timestamp is not None else 0)
    wire = (formats.serialize_key(key_format, [c.type for c in keys], key, None),
            formats.serialize_value(source.value_format, value))
    return record, wire


# WITH properties ksqlDB knows but the engine does not implement.
KSQLDB_ONLY_PROPS = {"KEY_SCHEMA_ID", "VALUE_SCHEMA_ID", "KEY_SCHEMA_FULL_NAME",
                     "VALUE_SCHEMA_FULL_NAME", "VALUE_AVRO_SCHEMA_FULL_NAME", "WRAP_SINGLE_VALUE",
                     "TIMESTAMP_FORMAT", "KEY_DELIMITER", "KEY_PROTOBUF_NULLABLE_REPRESENTATION",
                     "VALUE_PROTOBUF_NULLABLE_REPRESENTATION", "SOURCE_CONNECTOR", "CLEANUP_POLICY"}


def check_props(props: dict, allowed: set, pos) -> None:
    for name in props:
        if name in allowed:
            continue
        if name in KSQLDB_ONLY_PROPS or name in SOURCE_PROPS:
            raise unsupported(f"WITH property {name}", pos)
        raise KsqlError(f"Invalid config variable(s) in the WITH clause: {name}", *pos)


def _window_props(props: dict, pos):
    kind = props.get("WINDOW_TYPE")
    if kind is None:
        return None, None
    kind = kind.upper()
    if kind not in ("SESSION", "TUMBLING", "HOPPING"):
        raise KsqlError(f"Invalid WINDOW_TYPE '{kind}'", *pos)
    size = None
    if kind != "SESSION":
        text = props.get("WINDOW_SIZE")
        if text is None:
            raise KsqlError(f"{kind} windows require 'WINDOW_SIZE' to be provided in the WITH "
                            "clause. For example: 'WINDOW_SIZE'='10 SECONDS'", *pos)
        size = _duration(text, pos)
    return kind, size

def _timestamp_column(props: dict, columns: list, pos) -> str | None:
    name = props.get("TIMESTAMP")
    if name is None:
        return None
    upper = name.upper()
    match = [c for c in columns if c.name == upper or c.name == name]
    if not match:
        raise KsqlError(f"The TIMESTAMP column set in the WITH clause does not exist in the "
                        f"schema: '{upper}'", *pos)
    if match[0].type != T.BIGINT:
        raise unsupported("TIMESTAMP columns of a type other than BIGINT", pos)
    return match[0].name


def _duration(text: str, pos) -> int:
    parts = text.strip().split()
    if len(parts) == 2 and parts[0].isdigit() and parts[1].upper() in DURATION_UNITS:
        return int(parts[0]) * DURATION_UNITS[parts[1].upper()]
    raise KsqlError(f"Invalid duration: '{text}'", *pos)


def sink_timestamp(name: str, keys: list, values: list, pos):
    upper = name.upper()
    for i, c in enumerate(keys):
        if c.name in (upper, name):
            return lambda k, v, i=i: k[i]
    for i, c in enumerate(values):
        if c.name in (upper, name):
            return lambda k, v, i=i: v[i]
    raise KsqlError(f"The TIMESTAMP column set in the WITH clause does not exist in the schema: "
                    f"'{upper}'", *pos)


def timestamp_name(name: str | None, columns: list) -> str | None:
    if name is None:
        return None
    for c in columns:
        if c.name in (name, name.upper()):
            return c.name
    return None
