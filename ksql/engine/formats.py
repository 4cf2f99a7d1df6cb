"""Key and value formats: turn record keys/values into column values and back.

Inputs may arrive as wire bytes (the server) or already decoded (the test runner's
JSON objects and DELIMITED lines); outputs are produced decoded and serialised to bytes
only on request (:func:`serialize_key`, :func:`serialize_value`).
"""

from __future__ import annotations

import json
import struct
from typing import NamedTuple

from socksort.ksql.engine import json_coercion as J
from socksort.ksql.sql import types as T
from socksort.ksql.sql.errors import KsqlError

KAFKA, JSON, DELIMITED, NONE = "KAFKA", "JSON", "DELIMITED", "NONE"
KEY_FORMATS = (KAFKA, JSON, NONE)
VALUE_FORMATS = (JSON, DELIMITED)


class DecodeError(ValueError):
    """A record that cannot be read with its source's declared format."""


class Window(NamedTuple):
    """A windowed key's window: [start, end) for "time", [start, end] for "session"."""
    start: int
    end: int
    kind: str            # "time" or "session"


# --- keys -----------------------------------------------------------------------------

def key_decoder(fmt: str, columns: list[tuple[str, str]], window_kind: str | None):
    """Build ``raw_key -> list of key column values`` (raises DecodeError).

    ``columns`` is [(name, type)]. A null key gives a list of Nones.
    """
    if not columns:
        return lambda raw: []
    coercers = [T.coercer(t) for _, t in columns]
    names = [n for n, _ in columns]
    strip = {None: 0, "time": 8, "session": 16}[window_kind]

    if fmt == KAFKA:
        ctype = columns[0][1]
        coerce = coercers[0]
        unpack = _kafka_key_unpacker(ctype)

        def decode(raw):
            if raw is None:
                return [None]
            if isinstance(raw, (bytes, bytearray)):
                if strip:
                    raw = raw[:-strip]
                return [unpack(bytes(raw))]
            try:
                return [coerce(raw)]
            except T.CoercionError as exc:
                raise DecodeError(f"key: {exc}") from None
        return decode

    json_coercers = [J.coercer(t) for _, t in columns]

    def decode_json(raw):
        if raw is None:
            return [None] * len(columns)
        text = None
        if isinstance(raw, (bytes, bytearray)):
            if strip:
                raw = raw[:-strip]
            text = raw
            try:
                raw = J.loads(raw)
            except ValueError as exc:           # UnicodeDecodeError included
                raise DecodeError(f"key is not JSON: {exc}") from None
        try:
            try:
                return key_columns(raw)
            except J.NeedsExactNumbers:
                return key_columns(J.exact_loads(text) if text is not None else J.exact_numbers(raw))
        except T.CoercionError as exc:
            raise DecodeError(f"key: {exc}") from None

    def key_columns(raw):
        if len(columns) == 1:
            if isinstance(raw, dict):
                raw = J.field_value(raw, names[0])
            return [json_coercers[0](raw)]
        if not isinstance(raw, dict):
            raise DecodeError("key is not a JSON object")
        out = []
        for coerce, name in zip(json_coercers, names):
            try:
                out.append(coerce(J.field_value(raw, name)))
            except J.JsonCoercionError as exc:
                raise exc.at(f".{name}") from None
        return out
    return decode_json


def _kafka_key_unpacker(ctype: str):
    def unpack(raw: bytes):
        try:
            if ctype == T.STRING:
                return raw.decode("utf-8")
            if ctype == T.INTEGER:
                return struct.unpack(">i", raw)[0]
            if ctype == T.BIGINT:
                return struct.unpack(">q", raw)[0]
            if ctype == T.DOUBLE:
                return struct.unpack(">d", raw)[0]
        except (struct.error, UnicodeDecodeError) as exc:
            raise DecodeError(f"key cannot be read as {ctype}: {exc}") from None
        raise DecodeError(f"KAFKA key format cannot hold {ctype}")
    return unpack


def window_from_key_bytes(raw: bytes, window_kind: str, size: int | None) -> Window:
    needed = 16 if window_kind == "session" else 8
    if len(raw) < needed:
        # A bad record (logged against the key), not a failure of the query reading it.
        raise DecodeError(f"key: a {window_kind}-windowed key ends in {needed} bytes of "
                          f"window, but the key has only {len(raw)} bytes")
    if window_kind == "session":
        end, start = struct.unpack(">qq", raw[-16:])
        return Window(start, end, "session")
    start = struct.unpack(">q", raw[-8:])[0]
    return Window(start, start + (size or 0), "time")


def key_output(fmt: str, names: list[str]):
    """Build ``key values -> decoded key`` as the case files and `Record.key` show it."""
    if not names:
        return lambda values: None
    if fmt == KAFKA or len(names) == 1:
        return lambda values: values[0]

    def multi(values):
        # A null Kafka key reads as all-null columns; write it back as a null key.
        for v in values:
            if v is not None:
                return dict(zip(names, values))
        return None
    return multi


def serialize_key(fmt: str, types_: list[str], key, window: Window | None) -> bytes | None:
    if key is None and window is None:
        return None
    if fmt == KAFKA:
        t = types_[0] if types_ else T.STRING
        if key is None:
            body = b""
        elif t == T.STRING:
            body = str(key).encode("utf-8")
        elif t == T.INTEGER:
            body = struct.pack(">i", key)
        elif t == T.BIGINT:
            body = struct.pack(">q", key)
        elif t == T.DOUBLE:
            body = struct.pack(">d", key)
        else:
            raise KsqlError(f"KAFKA key format cannot hold {t}")
    else:
        body = b"" if key is None else _encode_json(key).encode("utf-8")
    if window is None:
        return body
    if window.kind == "session":
        return body + struct.pack(">qq", window.end, window.start)
    return body + struct.pack(">q", window.start)


def key_serializer(fmt: str, types_: list[str]):
    """Build ``(key, window) -> bytes | None``: :func:`serialize_key` with the format's
    choices made once (a server serialises every output record)."""
    t = types_[0] if types_ else T.STRING
    if fmt == KAFKA and t == T.STRING:
        def body(key):
            return key.encode("utf-8") if type(key) is str else str(key).encode("utf-8")
    elif fmt == KAFKA and t not in (T.INTEGER, T.BIGINT, T.DOUBLE):
        def body(key):
            raise KsqlError(f"KAFKA key format cannot hold {t}")
    elif fmt == KAFKA:
        body = struct.Struct({T.INTEGER: ">i", T.BIGINT: ">q", T.DOUBLE: ">d"}[t]).pack
    else:
        def body(key):
            return _encode_json(key).encode("utf-8")
    pack_session = struct.Struct(">qq").pack
    pack_time = struct.Struct(">q").pack

    def serialize(key, window):
        if window is None:
            return None if key is None else body(key)
        head = b"" if key is None else body(key)
        if window.kind == "session":
            return head + pack_session(window.end, window.start)
        return head + pack_time(window.start)
    return serialize


def value_serializer(fmt: str):
    """Build ``decoded value -> bytes | None`` (see :func:`serialize_value`)."""
    if fmt == JSON:
        def serialize(value):
            return None if value is None else _encode_json(value).encode("utf-8")
    else:
        def serialize(value):
            return None if value is None else value.encode("utf-8")
    return serialize


def record_serializer(key_format: str, key_types: list[str], value_format: str):
    """Build ``record -> (key bytes, value bytes)`` for one topic's formats, with the usual
    cases (a windowless string or JSON key, a JSON value) written out inline."""
    key_bytes = key_serializer(key_format, key_types)
    value_bytes = value_serializer(value_format)
    string_key = key_format == KAFKA and (key_types[0] if key_types else T.STRING) == T.STRING
    if value_format != JSON or _c_encode is None or not (string_key or key_format == JSON):
        def serialize(record):
            return key_bytes(record.key, record.window), value_bytes(record.value)
        return serialize
    encode = _c_encode
    if string_key:
        def serialize(record):
            key, value = record.key, record.value
            if record.window is None and type(key) is str:
                kb = key.encode("utf-8")
            else:
                kb = key_bytes(key, record.window)
            try:
                return kb, None if value is None else "".join(encode(value, 0)).encode("utf-8")
            except ValueError:          # a NaN or infinite double: see _encode_json
                return kb, _encode_json(value).encode("utf-8")
        return serialize

    def serialize_json_key(record):
        key, value = record.key, record.value
        try:
            if record.window is None and key is not None:
                kb = "".join(encode(key, 0)).encode("utf-8")
            else:
                kb = key_bytes(key, record.window)
            return kb, None if value is None else "".join(encode(value, 0)).encode("utf-8")
        except ValueError:              # a NaN or infinite double: see _encode_json
            return key_bytes(key, record.window), value_bytes(value)
    return serialize_json_key


# --- values ---------------------------------------------------------------------------

_MISSING = object()


# Values of these Python types are already of the column's SQL type (ints need range checks).
_NATIVE = {T.STRING: str, T.DOUBLE: float, T.DECIMAL: float, T.BOOLEAN: bool}
_INT_RANGE = {T.INTEGER: (T.INT_MIN, T.INT_MAX), T.BIGINT: (T.LONG_MIN, T.LONG_MAX)}
_scan_json = json.JSONDecoder(parse_constant=J.reject_constant).scan_once
_encoder = json.JSONEncoder(separators=(",", ":"), check_circular=False, allow_nan=False)
# JSONEncoder.encode builds a fresh C encoder for every call, which costs more than the
# encoding of a small row; one built here gives the same text (no circular check: rows
# hold scalars only).
_c_encode = None if json.encoder.c_make_encoder is None else json.encoder.c_make_encoder(
    None, _encoder.default, json.encoder.encode_basestring_ascii, None, ":", ",", False, False,
    False)


def _encode_json(obj) -> str:
    """Compact JSON. NaN and infinite doubles are not JSON: ksqlDB's writer (Jackson, with
    its default QUOTE_NON_NUMERIC_NUMBERS) writes them as the strings "NaN", "Infinity" and
    "-Infinity", which a DOUBLE column reads back as the same double."""
    try:
        return _encoder.encode(obj) if _c_encode is None else "".join(_c_encode(obj, 0))
    except ValueError:
        obj = J.non_finite_as_text(obj)
        return _encoder.encode(obj) if _c_encode is None else "".join(_c_encode(obj, 0))


def _json_value(raw):
    """Parse JSON text (bytes/str, skipping json.loads' Python-level layers); a value that
    is not text was decoded already."""
    if isinstance(raw, (bytes, bytearray)):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"Failed to deserialize value: not UTF-8: {exc}") from None
    if not isinstance(raw, str):
        return raw
    try:
        return _scan_json(raw, 0)[0]    # what follows the value is ignored, as by Jackson
    except StopIteration:               # leading whitespace, or no JSON value at all
        try:
            return J.loads(raw)
        except ValueError as exc:
            raise DecodeError(f"Failed to deserialize value: not JSON: {exc}") from None
    except ValueError as exc:
        raise DecodeError(f"Failed to deserialize value: not JSON: {exc}") from None


def value_decoder(fmt: str, columns: list[tuple[str, str]]):
    """Build ``raw_value -> list of value column values`` (raises DecodeError); a JSON
    ``null`` gives None, a null value as a Kafka tombstone is."""
    coercers = [(n, T.coercer(t)) for n, t in columns]
    if fmt == JSON:
        # Per column: the field name that matched last time (messages repeat their names),
        # the Python type that needs no coercion, and the coercer.
        learned = [name for name, _ in columns]
        # An int already in its column's range needs no coercion either.
        plan = [(i, name, int if t in _INT_RANGE else _NATIVE.get(t),
                 *_INT_RANGE.get(t, (None, None)), J.coercer(t))
                for i, (name, t) in enumerate(columns)]
        row_type = J.row_type_text(columns)

        def read_columns(obj):
            values = []
            append = values.append
            name = ""
            try:
                for i, name, native, low, high, coerce in plan:
                    v = obj.get(learned[i], _MISSING)
                    if v is _MISSING:
                        v = J.field_value(obj, name)
                        if v is not None:
                            learned[i] = J.matching_key(obj, name)
                    if v is None or (type(v) is native and (low is None or low <= v <= high)):
                        append(v)
                    else:
                        append(coerce(v))
            except J.JsonCoercionError as exc:
                raise DecodeError(f"Failed to deserialize value: {exc.at('.' + name)}") from None
            return values

        def decode(raw):
            obj = raw if type(raw) is dict else _json_value(raw)
            if type(obj) is not dict:
                if obj is None:
                    return None
                raise DecodeError(f"Failed to deserialize value: Can't convert type. sourceType: "
                                  f"{J.node_name(obj)}, requiredType: {row_type}, path: $")
            try:
                return read_columns(obj)
            except J.NeedsExactNumbers:
                # A float where its digits matter: read the record again, numbers as written.
                text = raw if isinstance(raw, (bytes, bytearray, str)) else None
                return read_columns(J.exact_loads(text) if text is not None else J.exact_numbers(obj))
        return decode

    if fmt == DELIMITED:
        count = len(columns)

        def decode_delimited(raw):
            if isinstance(raw, (bytes, bytearray)):
                try:
                    raw = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise DecodeError(f"Failed to deserialize value: {exc}") from None
            if not isinstance(raw, str):
                raise DecodeError("Failed to deserialize value: DELIMITED value is not text")
            fields = raw.split(",") if count else ([] if raw == "" else raw.split(","))
            if len(fields) != count:
                raise DecodeError(f"Failed to deserialize value: Unexpected field count, "
                                  f"csvFields:{len(fields)} schemaFields:{count}")
            try:
                return [None if f == "" else c(f) for f, (_, c) in zip(fields, coercers)]
            except T.CoercionError as exc:
                raise DecodeError(f"Failed to deserialize value: {exc}") from None
        return decode_delimited
    raise KsqlError(f"VALUE_FORMAT {fmt} is not supported by the embedded engine")


def value_encoder(fmt: str, names: list[str], types_: list[str]):
    """Build ``value column values -> decoded value`` (dict for JSON, text for DELIMITED)."""
    if fmt == JSON:
        return lambda values: dict(zip(names, values))
    formatters = [_delimited_formatter(t) for t in types_]

    def encode(values):
        return ",".join("" if v is None else f(v) for f, v in zip(formatters, values))
    return encode


class RowLayout:
    """Where a query's sink puts its key and value columns in the records it writes
    (the shape :func:`key_output` and :func:`value_encoder` give them)."""

    __slots__ = ("key_shape", "key_names", "value_format", "value_names")

    def __init__(self, key_format: str, key_names: list[str], value_format: str,
                 value_names: list[str]):
        self.key_shape = ("none" if not key_names else
                          "scalar" if key_format == KAFKA or len(key_names) == 1 else "object")
        self.key_names = list(key_names)
        self.value_format = value_format
        self.value_names = list(value_names)


def _exact_positions(wanted: list[str], written: list[str]) -> list | None:
    """For each wanted column, its position among the written ones (None: not written),
    or None when only a case-insensitive match would find one (left to the decoders)."""
    if len({n.upper() for n in written}) != len(written):
        return None
    upper = {n.upper() for n in written}
    positions = []
    for name in wanted:
        if name in written:
            positions.append(written.index(name))
        elif name.upper() in upper:
            return None
        else:
            positions.append(None)
    return positions


def row_converter(layout: RowLayout, key_format: str, key_columns: list[tuple[str, str]],
                  value_format: str, value_columns: list[tuple[str, str]]):
    """Build ``(key values, value values | None) -> column list`` reading a record written
    with ``layout`` straight from the writer's column values, or None when only the
    decoders can read it.

    The list is what ``key_decoder(...)(record.key) + value_decoder(...)(record.value)``
    gives for the decoded key and value the writer made of those values (a tombstone's
    value columns are null), and it raises the same DecodeErrors.
    """
    if layout.value_format != JSON or value_format != JSON:
        return None
    key_names = [n for n, _ in key_columns]
    if not key_columns or layout.key_shape == "none":
        key_positions = [None] * len(key_columns)
    elif layout.key_shape == "scalar":
        if len(key_columns) != 1:
            return None                 # a scalar key read as several columns: an error
        key_positions = [0]
    else:
        if key_format == KAFKA:
            return None                 # an object read as a KAFKA key: an error
        key_positions = _exact_positions(key_names, layout.key_names)
    value_positions = _exact_positions([n for n, _ in value_columns], layout.value_names)
    if key_positions is None or value_positions is None:
        return None
    n_keys = len(key_columns)
    # A value already of its column's Python type (an int in range) is what the coercer
    # would return: only other values are coerced.
    # (KAFKA keys that arrive decoded are coerced as literals are; a JSON key of one
    # column is the bare value, at the path "$".)
    key_coercer = T.coercer if key_format == KAFKA else J.coercer
    key_checks = [(i, "" if n_keys == 1 else f".{name}", int if t in _INT_RANGE else _NATIVE.get(t),
                   *_INT_RANGE.get(t, (None, None)), key_coercer(t))
                  for i, (name, t) in enumerate(key_columns)]
    value_checks = [(n_keys + i, f".{name}", int if t in _INT_RANGE else _NATIVE.get(t),
                     *_INT_RANGE.get(t, (None, None)), J.coercer(t))
                    for i, (name, t) in enumerate(value_columns)]
    nulls = [None] * len(value_columns)
    identity = (key_positions == list(range(len(layout.key_names))) and
                value_positions == list(range(len(layout.value_names))))

    def convert(keys: list, values: list | None) -> list:
        if identity:
            row = keys + (nulls if values is None else values)
        else:
            row = [None if p is None else keys[p] for p in key_positions]
            if values is None:
                row += nulls
            else:
                row += [None if p is None else values[p] for p in value_positions]
        _coerce(row, key_checks, "key: ")
        if values is not None:
            _coerce(row, value_checks, "Failed to deserialize value: ")
        return row
    return convert


def _coerce(row: list, checks, what: str) -> None:
    """Coerce the columns whose decoded value is not already of the column's type (or in
    its range), as reading the writer's JSON would; a value that cannot be coerced makes
    the record undecodable."""
    path = ""
    try:
        for i, path, native, low, high, coerce in checks:
            v = row[i]
            if v is not None and not (type(v) is native and (low is None or low <= v <= high)):
                try:
                    row[i] = coerce(v)
                except J.NeedsExactNumbers:
                    row[i] = coerce(J.exact_numbers(v))
    except J.JsonCoercionError as exc:
        raise DecodeError(f"{what}{exc.at(path)}") from None
    except T.CoercionError as exc:
        raise DecodeError(f"{what}{exc}") from None


def _delimited_formatter(t: str):
    if t == T.BOOLEAN:
        return lambda v: "true" if v else "false"
    if t in (T.DOUBLE, T.DECIMAL):
        return T.java_double_str
    return str


def serialize_value(fmt: str, value) -> bytes | None:
    if value is None:
        return None
    if fmt == JSON:
        return _encode_json(value).encode("utf-8")
    return value.encode("utf-8")
