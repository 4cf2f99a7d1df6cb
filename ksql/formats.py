"""Key and value formats: turn record keys/values into column values and back.

Inputs may arrive as wire bytes (the server) or already decoded (the test runner's
JSON objects and DELIMITED lines); outputs are produced decoded and serialised to bytes
only on request (:func:`serialize_key`, :func:`serialize_value`).
"""

from __future__ import annotations

import json
import struct
from typing import NamedTuple

from socksort.ksql import types as T
from socksort.ksql.errors import KsqlError

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

    def decode_json(raw):
        if raw is None:
            return [None] * len(columns)
        if isinstance(raw, (bytes, bytearray)):
            if strip:
                raw = raw[:-strip]
            try:
                raw = json.loads(raw)
            except ValueError as exc:
                raise DecodeError(f"key is not JSON: {exc}") from None
        try:
            if len(columns) == 1:
                if isinstance(raw, dict):
                    raw = _field(raw, names[0])
                return [coercers[0](raw)]
            if not isinstance(raw, dict):
                raise DecodeError("key is not a JSON object")
            return [c(_field(raw, n)) for c, n in zip(coercers, names)]
        except T.CoercionError as exc:
            raise DecodeError(f"key: {exc}") from None
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
        if all(v is None for v in values):
            return None
        return dict(zip(names, values))
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


# --- values ---------------------------------------------------------------------------

_MISSING = object()


def _field(obj: dict, name: str):
    """Look a column up in a JSON object: exact name first, then case-insensitively."""
    v = obj.get(name, _MISSING)
    if v is not _MISSING:
        return v
    upper = name.upper()
    for k, v in obj.items():
        if k.upper() == upper:
            return v
    return None


# Values of these Python types are already of the column's SQL type (ints need range checks).
_NATIVE = {T.STRING: str, T.DOUBLE: float, T.DECIMAL: float, T.BOOLEAN: bool}
_scan_json = json.JSONDecoder().scan_once
_encode_json = json.JSONEncoder(separators=(",", ":")).encode


def _json_object(raw) -> dict:
    """Parse a JSON object from bytes/str (skipping json.loads' Python-level layers)."""
    if isinstance(raw, (bytes, bytearray)):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"Failed to deserialize value: not UTF-8: {exc}") from None
    if isinstance(raw, str):
        try:
            obj, end = _scan_json(raw, 0)
            if end != len(raw) and raw[end:].strip():
                raise ValueError(f"extra data at char {end}")
        except StopIteration:
            try:
                obj = json.loads(raw)
            except ValueError as exc:
                raise DecodeError(f"Failed to deserialize value: not JSON: {exc}") from None
        except ValueError as exc:
            raise DecodeError(f"Failed to deserialize value: not JSON: {exc}") from None
    else:
        obj = raw
    if type(obj) is not dict:
        raise DecodeError("Failed to deserialize value: expected a JSON object, got "
                          f"{type(obj).__name__}")
    return obj


def _matching_name(obj: dict, name: str) -> str:
    if name in obj:
        return name
    upper = name.upper()
    return next((k for k in obj if k.upper() == upper), name)


def value_decoder(fmt: str, columns: list[tuple[str, str]]):
    """Build ``raw_value -> list of value column values`` (raises DecodeError)."""
    coercers = [(n, T.coercer(t)) for n, t in columns]
    if fmt == JSON:
        # Per column: the field name that matched last time (messages repeat their names),
        # the Python type that needs no coercion, and the coercer.
        learned = [name for name, _ in columns]
        plan = [(i, name, _NATIVE.get(t), T.coercer(t)) for i, (name, t) in enumerate(columns)]

        def decode(raw):
            if type(raw) is not dict:
                raw = _json_object(raw)
            values = []
            append = values.append
            try:
                for i, name, native, coerce in plan:
                    v = raw.get(learned[i], _MISSING)
                    if v is _MISSING:
                        v = _field(raw, name)
                        if v is not None:
                            learned[i] = _matching_name(raw, name)
                    if v is None or type(v) is native:
                        append(v)
                    else:
                        append(coerce(v))
            except T.CoercionError as exc:
                raise DecodeError(f"Failed to deserialize value: {exc}") from None
            return values
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
