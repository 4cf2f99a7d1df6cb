"""Declarations and inserts: CREATE STREAM/TABLE sources, sink properties, INSERT VALUES."""

from __future__ import annotations

import re

from socksort.ksql.engine import formats
from socksort.ksql.engine.analysis import SYSTEM_COLUMNS
from socksort.ksql.engine.catalog import Column, Source
from socksort.ksql.engine.records import Record
from socksort.ksql.sql import ast
from socksort.ksql.sql import types as T
from socksort.ksql.sql.errors import KsqlError, KsqlPrepareError, unsupported
from socksort.ksql.sql.expressions import Scope, compile_expr, format_expr
from socksort.ksql.sql.parser import json_literal

SOURCE_PROPS = {"KAFKA_TOPIC", "VALUE_FORMAT", "KEY_FORMAT", "FORMAT", "PARTITIONS", "REPLICAS",
                "TIMESTAMP", "WINDOW_TYPE", "WINDOW_SIZE", "VALUE_DELIMITER", "RETENTION_MS"}
SINK_PROPS = {"KAFKA_TOPIC", "VALUE_FORMAT", "KEY_FORMAT", "FORMAT", "PARTITIONS", "REPLICAS",
              "TIMESTAMP", "VALUE_DELIMITER", "RETENTION_MS"}


def source_from_statement(node: ast.CreateSource, text: str) -> Source:
    """The catalog entry a CREATE STREAM/TABLE (without AS SELECT) declares, checked as
    ksqlDB checks it (its WITH properties, default formats, schema, timestamp, formats)."""
    props = {k.upper(): v for k, v in node.properties.items()}
    check_props(props, SOURCE_PROPS, node.pos)
    check_format_props(props, node.pos)
    if "KAFKA_TOPIC" not in props:
        raise KsqlError('Missing required property "KAFKA_TOPIC" which has no default value.',
                        *node.pos)
    window_kind, window_size = _window_props(props, node.pos)
    value_format = (props.get("VALUE_FORMAT") or props.get("FORMAT") or "").upper()
    if not value_format:
        raise KsqlError("Statement is missing the 'VALUE_FORMAT' property from the WITH clause. "
                        "Either provide one or set a default via the "
                        "'ksql.persistence.default.format.value' config.", *node.pos)
    if value_format not in formats.VALUE_FORMATS:
        raise unsupported(f"VALUE_FORMAT '{value_format}'", node.pos)
    check_delimiter(props, value_format, node.pos)
    if not node.columns:
        # JSON and DELIMITED values have no schema to infer (that takes the Schema Registry).
        raise KsqlError("The statement does not define any columns.", *node.pos)
    columns = _columns(node)
    keys = [c for c in columns if c.key]
    ts_col = None
    if node.kind == "STREAM":
        ts_col = _timestamp_column(props, columns, node.pos)
    elif not keys:
        raise KsqlError("Tables require a PRIMARY KEY. Please define the PRIMARY KEY.", *node.pos)
    else:
        ts_col = _timestamp_column(props, columns, node.pos)
    key_format = (props.get("KEY_FORMAT") or props.get("FORMAT") or "KAFKA").upper()
    if key_format == "DELIMITED" and not keys:
        key_format = formats.KAFKA
    check_key_format(key_format, keys, node.pos)
    check_value_format(value_format, [c for c in columns if not c.key], node.pos)
    if window_kind is not None and not keys:
        raise KsqlError("Windowed sources require a key column.", *node.pos)
    columns = keys + [c for c in columns if not c.key]
    return Source(node.name, node.kind, props["KAFKA_TOPIC"],
                  key_format if keys else formats.NONE, value_format, columns,
                  window_kind, window_size, ts_col,
                  int(props["PARTITIONS"]) if "PARTITIONS" in props else None, text,
                  properties=props)


def _columns(node: ast.CreateSource) -> list:
    names = [c.name for c in node.columns]
    duplicates = [n for n in dict.fromkeys(names) if names.count(n) > 1]
    if duplicates:
        raise KsqlError("Duplicate column names: " + ", ".join(f"`{n}`" for n in duplicates),
                        *node.pos)
    columns = []
    for c in node.columns:
        if c.name in SYSTEM_COLUMNS:
            raise KsqlError(f"'{c.name}' is a reserved column name. You cannot use it as a name "
                            "for a column.", *c.pos)
        t = T.from_name(c.type_name)
        if t is None:
            raise unsupported(f"column type {c.type_name}", c.pos)
        if T.is_complex(t) and c.key:
            raise unsupported(f"a key column of type {t.split('<')[0]}", c.pos)
        columns.append(Column(c.name, t, c.key))
    return columns


def check_delimiter(props: dict, value_format: str, pos) -> None:
    """VALUE_DELIMITER is one character (or TAB/SPACE), of DELIMITED values; the engine
    reads ',' only."""
    text = props.get("VALUE_DELIMITER")
    if text is None:
        return
    if not text.strip():
        raise KsqlPrepareError("Configuration VALUE_DELIMITER is invalid: Delimiter cannot be "
                               "empty, if you meant to have a tab or space for delimiter, please "
                               "use the special values 'TAB' or 'SPACE'\nExample valid value: ';'")
    if len(text) != 1 and text not in ("TAB", "SPACE"):
        raise KsqlPrepareError(f"Configuration VALUE_DELIMITER is invalid: Invalid delimiter "
                               f"value: '{text}'. Delimiter must be a single character or "
                               "TAB,SPACE\nExample valid value: ';'")
    if value_format != formats.DELIMITED:
        raise KsqlError(f"{value_format} does not support the following configs: [delimiter]",
                        *pos)
    if text != ",":
        raise unsupported("VALUE_DELIMITER other than ','", pos)


def check_format_props(props: dict, pos) -> None:
    """FORMAT sets both formats, so it cannot come with KEY_FORMAT or VALUE_FORMAT."""
    if "FORMAT" not in props:
        return
    for other in ("KEY_FORMAT", "VALUE_FORMAT"):
        if other in props:
            raise KsqlError(f"Cannot supply both '{other}' and 'FORMAT' properties, as 'FORMAT' "
                            "sets both key and value formats. Either use just 'FORMAT', or use "
                            "'KEY_FORMAT' and 'VALUE_FORMAT'.", *pos)


def check_key_format(key_format: str, keys: list, pos) -> None:
    """The key format can hold the key columns (ksqlDB checks this building its serdes)."""
    if key_format not in formats.KEY_FORMATS:
        raise unsupported(f"KEY_FORMAT '{key_format}'", pos)
    described = "[" + ", ".join(f"`{c.name}` {T.display_plain(c.type)} KEY" for c in keys) + "]"
    if key_format == formats.NONE and keys:
        raise KsqlError(f"The 'NONE' format can only be used when no columns are defined. Got: "
                        f"{described}", *pos)
    if key_format == formats.KAFKA and len(keys) > 1:
        raise KsqlError(f"Key format does not support schema.\nformat: KAFKA\nschema: "
                        f"Persistence{{columns={described}, features=[]}}\nreason: The 'KAFKA' "
                        f"format only supports a single field. Got: {described}", *pos)
    if key_format == formats.KAFKA and keys and keys[0].type not in (
            T.INTEGER, T.BIGINT, T.DOUBLE, T.STRING):
        raise KsqlError(f"Key format does not support schema.\nformat: KAFKA\nschema: "
                        f"Persistence{{columns={described}, features=[]}}\nreason: The 'KAFKA' "
                        f"format does not support type '{T.display_plain(keys[0].type)}'", *pos)


def check_value_format(value_format: str, values: list, pos) -> None:
    """DELIMITED values hold scalars only."""
    if value_format != formats.DELIMITED:
        return
    for c in values:
        if T.is_complex(c.type):
            raise KsqlError(f"The 'DELIMITED' format does not support type "
                            f"'{c.type.split('<')[0]}', column: `{c.name}`", *pos)


def insert_of_row(target: str, row: dict) -> ast.InsertValues:
    """The INSERT VALUES one /inserts-stream row stands for: its column names and each JSON
    value as the literal written the same way (names upper-cased as ksqlDB reads them)."""
    if not row:
        raise KsqlError("An inserted row needs at least one column")
    return ast.InsertValues(target.upper(), [name.upper() for name in row],
                            [json_literal(value) for value in row.values()])


def insert_record(node: ast.InsertValues, source: Source) -> tuple:
    """The record an INSERT INTO ... VALUES writes (decoded, and as bytes); the server
    produces it to the topic. Checked as ksqlDB's InsertValuesExecutor checks it."""
    where = node.pos or (None, None)    # an /inserts-stream row has no statement text
    if source.windowed:
        raise KsqlError("Cannot insert values into windowed stream/table!", *where)
    try:
        given, timestamp = _insert_values(node, source)
    except KsqlError as exc:
        raise KsqlError(f"Failed to insert values into '{source.name}'. {exc.message}",
                        *where) from None
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


# The conversions INSERT VALUES makes (ksqlDB's strict value coercer): a number to a
# wider number, nothing else.
_INSERT_WIDENING = {(T.INTEGER, T.BIGINT), (T.INTEGER, T.DOUBLE), (T.BIGINT, T.DOUBLE),
                    (T.DECIMAL, T.DOUBLE)}


def _insert_values(node: ast.InsertValues, source: Source) -> tuple:
    names = node.columns or [c.name for c in source.columns]
    if len(names) != len(node.values):
        shown = ", ".join(f"`{n}`" for n in (node.columns or []))
        raise KsqlError(f"Expected a value for each column. Expected Columns: [{shown}]. Got "
                        f"[{', '.join(format_expr(v) for v in node.values)}]")
    by_name = {c.name: c for c in source.columns}
    by_name["ROWTIME"] = Column("ROWTIME", T.BIGINT)
    for name in names:
        if name not in by_name and name not in ("ROWPARTITION", "ROWOFFSET"):
            raise KsqlError(f"Column name `{name}` does not exist.")
        if name in ("ROWPARTITION", "ROWOFFSET"):
            raise KsqlError(f"Inserting into column `{name}` is not allowed.")

    def failed(message):
        raise KsqlError(message)
    scope = Scope({}, unknown=lambda ref: KsqlError(
        f"Unsupported column reference in insert value: {format_expr(ref)}"), on_error=failed)
    given: dict = {}
    for name, expr in zip(names, node.values):
        fn, t = compile_expr(expr, scope)
        value = fn([])
        column = by_name[name]
        if value is not None and t != column.type:
            if (t, column.type) not in _INSERT_WIDENING:
                shown = T.java_double_str(value) if isinstance(value, float) else (
                    str(value).lower() if isinstance(value, bool) else value)
                raise KsqlError(f"Expected type {T.display_plain(column.type)} for field "
                                f"`{name}` but got {T.base_type(t)}({shown})")
            value = float(value) if column.type == T.DOUBLE else value
        given[name] = value
    missing = [c.name for c in source.key_columns if c.name not in given]
    if source.kind == "TABLE" and missing:
        raise KsqlError(f"Value for primary key column(s) {', '.join(missing)} is required "
                        "for tables")
    return given, given.pop("ROWTIME", None)


# WITH properties ksqlDB knows but the engine does not implement.
KSQLDB_ONLY_PROPS = {"KEY_SCHEMA_ID", "VALUE_SCHEMA_ID", "KEY_SCHEMA_FULL_NAME",
                     "VALUE_SCHEMA_FULL_NAME", "VALUE_AVRO_SCHEMA_FULL_NAME", "WRAP_SINGLE_VALUE",
                     "TIMESTAMP_FORMAT", "KEY_DELIMITER", "KEY_PROTOBUF_NULLABLE_REPRESENTATION",
                     "VALUE_PROTOBUF_NULLABLE_REPRESENTATION", "SOURCE_CONNECTOR", "CLEANUP_POLICY"}


# WITH properties ksqlDB declares as numbers (its ConfigDef types).
_NUMBER_PROPS = {"PARTITIONS": "INT", "REPLICAS": "SHORT", "RETENTION_MS": "LONG"}


def check_props(props: dict, allowed: set, pos) -> None:
    for name in props:
        if name in allowed:
            continue
        if name in KSQLDB_ONLY_PROPS or name in SOURCE_PROPS:
            raise unsupported(f"WITH property {name}", pos)
        raise KsqlError(f"Invalid config variable(s) in the WITH clause: {name}", *pos)
    for name, kind in _NUMBER_PROPS.items():
        if name in props and not re.fullmatch(r"\s*[+-]?\d+\s*", str(props[name])):
            raise KsqlError(f"Invalid value {props[name]} for property {name}: Not a number "
                            f"of type {kind}", *pos)


def _window_props(props: dict, pos):
    kind = props.get("WINDOW_TYPE")
    size_text = props.get("WINDOW_SIZE")
    size = None if size_text is None else duration("WINDOW_SIZE", size_text, pos)
    if kind is None:
        if size is not None:
            raise KsqlError("'WINDOW_SIZE' should not be set for SESSION windows.", *pos)
        return None, None
    kind = kind.upper()
    if kind not in ("SESSION", "TUMBLING", "HOPPING"):
        raise KsqlError(f"Invalid value {props['WINDOW_TYPE']} for property WINDOW_TYPE: String "
                        "must be one of: SESSION, HOPPING, TUMBLING", *pos)
    if kind == "SESSION":
        if size is not None:
            raise KsqlError("'WINDOW_SIZE' should not be set for SESSION windows.", *pos)
        return kind, None
    if size is None:
        raise KsqlError(f"{kind} windows require 'WINDOW_SIZE' to be provided in the WITH "
                        "clause. For example: 'WINDOW_SIZE'='10 SECONDS'", *pos)
    return kind, size

def _timestamp_column(props: dict, columns: list, pos) -> str | None:
    name = props.get("TIMESTAMP")
    if name is None:
        return None
    return _timestamp(name, columns, pos)[0].name


def _timestamp(name: str, columns: list, pos) -> tuple:
    """(column, index) of the TIMESTAMP property's column, checked as ksqlDB's
    TimestampExtractionPolicyFactory checks it (it must be a BIGINT here)."""
    upper = name.upper()
    for i, c in enumerate(columns):
        if c.name in (upper, name):
            if c.type == T.STRING:
                raise KsqlError("A String timestamp field has been specified without also "
                                "specifying the timestamp_format", *pos)
            if c.type != T.BIGINT:
                raise KsqlError(f"Timestamp column, `{c.name}`, should be LONG(INT64), TIMESTAMP, "
                                "or a String with a timestamp_format specified.", *pos)
            return c, i
    raise KsqlError(f"The TIMESTAMP column set in the WITH clause does not exist in the schema: "
                    f"'{upper}'", *pos)


_TIME_UNITS = {"NANOSECONDS": 1e-6, "MICROSECONDS": 1e-3, "MILLISECONDS": 1, "SECONDS": 1000,
               "MINUTES": 60_000, "HOURS": 3_600_000, "DAYS": 86_400_000}


def duration(prop: str, text: str, pos) -> int:
    """A '10 SECONDS' property value in ms, read as ksqlDB's DurationParser reads it."""
    parts = re.split(r"\s", text)
    try:
        if len(parts) != 2:
            raise ValueError(f"Expected 2 tokens, got: {len(parts)}")
        if not re.fullmatch(r"[+-]?\d+", parts[0]):
            raise ValueError(f"Not numeric: '{parts[0]}'")
        unit = parts[1].upper()
        unit = unit if unit.endswith("S") else unit + "S"
        if unit not in _TIME_UNITS:
            raise ValueError(f"Unknown time unit: '{parts[1].upper()}'\nSupported time units "
                             f"are: {', '.join(_TIME_UNITS)}")
    except ValueError as exc:
        raise KsqlError(f"Configuration {prop} is invalid: Invalid duration: '{text}'. {exc}",
                        *pos) from None
    return int(int(parts[0]) * _TIME_UNITS[unit])


def sink_timestamp(name: str, keys: list, values: list, pos):
    """``(key values, value values) -> timestamp`` for a sink's TIMESTAMP property."""
    _, i = _timestamp(name, keys + values, pos)
    if i < len(keys):
        return lambda k, v, i=i: k[i]
    return lambda k, v, i=i - len(keys): v[i]


def timestamp_name(name: str | None, columns: list) -> str | None:
    if name is None:
        return None
    for c in columns:
        if c.name in (name, name.upper()):
            return c.name
    return None
