"""JSON field values -> column values, by the rules of ksqlDB's JSON deserializer.

The rules are those of ``KsqlJsonDeserializer`` and ``JsonSerdeUtils`` (confluentinc/ksql,
``ksqldb-serde/.../serde/json``; the same in v7.9.0, i.e. ksqlDB 0.29, and today), which
reads a record with Jackson (floats as exact ``BigDecimal``) and converts each node to its
column's type. What it converts is converted here the same way, and what it rejects raises
:class:`JsonCoercionError` with ksqlDB's message, so the record goes to the processing log.
``ksql/ENGINE.md`` ("JSON values") has the table.

Numbers whose digits matter (a JSON float read into a STRING, INTEGER or BIGINT column:
``97.30`` is the text ``"97.30"``, ``2.9999999999999999999`` truncates to 2) need the number
as written, which Python's float has lost: the coercers raise :class:`NeedsExactNumbers`,
and the caller decodes the record again with :func:`exact_loads` (floats as ``Decimal``), or,
for values that never were JSON text, maps floats with :func:`exact_numbers`. Both are off
the usual path, where every value already has its column's Python type.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal

from socksort.ksql.sql import types as T


class JsonCoercionError(T.CoercionError):
    """A JSON value ksqlDB's deserializer rejects; ``path`` is where, below ``$``."""

    def __init__(self, message: str, path: str = ""):
        super().__init__(message)
        self.message = message
        self.path = path

    def at(self, part: str) -> "JsonCoercionError":
        """The same error one level further out (a struct field ``.F`` or element ``[i]``)."""
        return JsonCoercionError(self.message, part + self.path)

    def __str__(self) -> str:
        return f"{self.message}, path: ${self.path}"


class NeedsExactNumbers(Exception):
    """A float met a column whose value depends on the number's digits as written."""


def reject_constant(name: str):
    """``NaN``/``Infinity`` are not JSON; Jackson refuses them, so the record is unreadable."""
    raise ValueError(f"Non-standard token '{name}'")


_PLAIN = json.JSONDecoder(parse_constant=reject_constant)
_EXACT = json.JSONDecoder(parse_float=Decimal, parse_constant=reject_constant)
_WHITESPACE = re.compile(r"[ \t\n\r]*")


def loads(text: str | bytes, exact: bool = False):
    """The JSON value at the start of ``text`` as Jackson's ``readTree`` reads it: leading
    whitespace skipped, anything after the value ignored (Jackson 2 leaves
    FAIL_ON_TRAILING_TOKENS off), NaN/Infinity refused; with ``exact``, every float as the
    ``Decimal`` it spells. ValueError when there is no JSON value."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8")
    return (_EXACT if exact else _PLAIN).raw_decode(text, _WHITESPACE.match(text).end())[0]


def exact_loads(text: str | bytes):
    """:func:`loads` with floats as Decimal."""
    return loads(text, exact=True)


def exact_numbers(value):
    """``value`` as our serializer's JSON reads back exactly: floats as the Decimal of their
    shortest text, NaN and infinities as the strings Jackson writes for them."""
    if type(value) is float:
        return Decimal(repr(value)) if math.isfinite(value) else java_double_text(value)
    if type(value) is dict:
        return {k: exact_numbers(v) for k, v in value.items()}
    if type(value) is list:
        return [exact_numbers(v) for v in value]
    return value


def java_double_text(value: float) -> str:
    """Double.toString of a NaN or infinite double."""
    return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")


def non_finite_as_text(value):
    """``value`` with NaN and infinite doubles as the strings Jackson writes for them."""
    if type(value) is float and not math.isfinite(value):
        return java_double_text(value)
    if type(value) is dict:
        return {k: non_finite_as_text(v) for k, v in value.items()}
    if type(value) in (list, tuple):
        return [non_finite_as_text(v) for v in value]
    return value


def field_value(obj: dict, name: str):
    """A column's (or struct field's) value in a JSON object, as ksqlDB looks it up: the key
    spelled exactly as the column, else a key that upper-cases to the column's name (the last
    such key wins); a missing field is null."""
    value = obj.get(name, _MISSING)
    if value is not _MISSING:
        return value
    found = None
    for key, value in obj.items():
        if key.upper() == name:
            found = value
    return found


def matching_key(obj: dict, name: str) -> str | None:
    """The key :func:`field_value` reads ``name`` from, or None."""
    if name in obj:
        return name
    found = None
    for key in obj:
        if key.upper() == name:
            found = key
    return found


_MISSING = object()


def coercer(t: str):
    """``JSON value -> value of column type t``; raises JsonCoercionError / NeedsExactNumbers."""
    found = _COERCERS.get(t)
    if found is None:
        found = _COERCERS[t] = _complex_coercer(t)
    return found


def node_name(value) -> str:
    """The Jackson node class ksqlDB names in its messages for a decoded JSON value."""
    kind = type(value)
    if kind is bool:
        return "BooleanNode"
    if kind is int:
        if T.INT_MIN <= value <= T.INT_MAX:
            return "IntNode"
        return "LongNode" if T.LONG_MIN <= value <= T.LONG_MAX else "BigIntegerNode"
    if kind is float:                           # as its JSON would read back
        return "DecimalNode" if math.isfinite(value) else "TextNode"
    if kind is Decimal:
        return "DecimalNode"
    if kind is str:
        return "TextNode"
    if kind is dict:
        return "ObjectNode"
    if kind is list:
        return "ArrayNode"
    return kind.__name__


def _cannot_convert(value, required: str) -> JsonCoercionError:
    return JsonCoercionError(f"Can't convert type. sourceType: {node_name(value)}, requiredType: {required}")


def _cannot_parse(required: str) -> JsonCoercionError:
    return JsonCoercionError(f"Can't coerce string to type. targetType: {required}")


# --- numbers ----------------------------------------------------------------------------

_JAVA_INT = re.compile(r"[+-]?\d+")                     # Integer.parseInt / Long.parseLong
_JAVA_DOUBLE = re.compile(                               # Double.parseDouble, after trim()
    r"(?P<sign>[+-]?)(?:(?P<special>NaN|Infinity)"
    r"|(?P<decimal>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)[fFdD]?"
    r"|(?P<hex>0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+)[fFdD]?)")
_JAVA_TRIMMED = "".join(map(chr, range(33)))             # String.trim() drops chars <= ' '


def _wrap(value: int, bits: int) -> int:
    """The low ``bits`` bits as a signed number: Java's intValue()/longValue() of a wider number."""
    half = 1 << (bits - 1)
    return ((value + half) & ((1 << bits) - 1)) - half


def _integral(bits: int, required: str):
    low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1

    def coerce(v):
        kind = type(v)
        if kind is int:
            return v if low <= v <= high else _wrap(v, bits)
        if v is None:
            return None
        if kind is float:
            raise NeedsExactNumbers
        if kind is Decimal:
            return _wrap(int(v), bits)          # the integral part, as BigDecimal.longValue()
        if kind is str:
            if _JAVA_INT.fullmatch(v):
                number = int(v)
                if low <= number <= high:
                    return number
            raise _cannot_parse(required)
        raise _cannot_convert(v, required)
    return coerce


def parse_java_double(text: str) -> float:
    """``Double.parseDouble(text)``; ValueError where Java throws NumberFormatException."""
    match = _JAVA_DOUBLE.fullmatch(text.strip(_JAVA_TRIMMED))
    if match is None:
        raise ValueError(text)
    sign = -1.0 if match["sign"] == "-" else 1.0
    if match["special"]:
        return float("nan") if match["special"] == "NaN" else sign * float("inf")
    if match["hex"]:
        return sign * float.fromhex(match["hex"])
    return sign * float(match["decimal"])


def _double(v):
    kind = type(v)
    if kind is float:
        return v
    if v is None:
        return None
    if kind is int:
        try:
            return float(v)
        except OverflowError:                   # BigInteger.doubleValue() saturates
            return float("inf") if v > 0 else float("-inf")
    if kind is Decimal:
        return float(v)
    if kind is str:
        try:
            return parse_java_double(v)
        except ValueError:
            raise _cannot_parse("DOUBLE") from None
    raise _cannot_convert(v, "DOUBLE")


def _boolean(v):
    if type(v) is bool or v is None:
        return v
    raise _cannot_convert(v, "BOOLEAN")


# --- text -------------------------------------------------------------------------------

def _big_decimal_text(d: Decimal) -> str:
    """BigDecimal.toString(): Python's Decimal follows the same scientific-notation rule;
    BigDecimal has no negative zero."""
    return str(d.copy_abs() if d.is_zero() else d)


def _string(v):
    """``processString``: a node's text; an object as its JSON, an array as ``[a, b]``."""
    kind = type(v)
    if kind is str or v is None:
        return v
    if kind is bool:
        return "true" if v else "false"
    if kind is int:
        return str(v)
    if kind is float:
        raise NeedsExactNumbers
    if kind is Decimal:
        return _big_decimal_text(v)
    if kind is dict:
        return _json_text(v)
    if kind is list:
        return "[" + ", ".join("null" if x is None else _string(x) for x in v) + "]"
    raise _cannot_convert(v, "STRING")


def _json_text(v) -> str:
    """Compact JSON as Jackson writes the object (keys in order, numbers as read, no
    escaping beyond JSON's own)."""
    kind = type(v)
    if v is None:
        return "null"
    if kind is bool:
        return "true" if v else "false"
    if kind is int:
        return str(v)
    if kind is Decimal:
        return _big_decimal_text(v)
    if kind is float:
        raise NeedsExactNumbers
    if kind is str:
        return _quoted(v)
    if kind is dict:
        return "{" + ",".join(_quoted(k) + ":" + _json_text(x) for k, x in v.items()) + "}"
    return "[" + ",".join(_json_text(x) for x in v) + "]"


_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\f": "\\f", "\n": "\\n",
                  "\r": "\\r"}
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')


def _quoted(text: str) -> str:
    """A JSON string as Jackson writes it: other control characters as upper-case \\u00XX."""
    return '"' + _NEEDS_ESCAPE.sub(
        lambda m: _SHORT_ESCAPES.get(m[0]) or f"\\u{ord(m[0]):04X}", text) + '"'


_COERCERS = {T.INTEGER: _integral(32, "INTEGER"), T.BIGINT: _integral(64, "BIGINT"),
             T.DOUBLE: _double, T.DECIMAL: _double, T.STRING: _string, T.BOOLEAN: _boolean}


# --- STRUCT and ARRAY -------------------------------------------------------------------

def connect_type_text(t: str) -> str:
    """A type as ksqlDB's messages print a nested schema: ``STRUCT<KIND INT, why ARRAY<VARCHAR>>``."""
    if not T.is_complex(t):
        return {T.INTEGER: "INT", T.STRING: "VARCHAR"}.get(t, t)
    kind, inner = T.split_complex(t)
    if kind == "ARRAY":
        return f"ARRAY<{connect_type_text(inner)}>"
    return "STRUCT<" + ", ".join(f"{n} {connect_type_text(ft)}" for n, ft in inner) + ">"


def _complex_coercer(t: str):
    kind, inner = T.split_complex(t)
    required = connect_type_text(t)
    if kind == "ARRAY":
        element = coercer(inner)

        def to_array(v):
            if v is None:
                return None
            if type(v) is not list:
                raise _cannot_convert(v, required)
            out = []
            for i, x in enumerate(v):
                try:
                    out.append(element(x))
                except JsonCoercionError as exc:
                    raise exc.at(f"[{i}]") from None
            return out
        return to_array
    fields = [(name, coercer(ft)) for name, ft in inner]

    def to_struct(v):
        if v is None:
            return None
        if type(v) is not dict:
            raise _cannot_convert(v, required)
        out = {}
        for name, convert in fields:
            try:
                out[name] = convert(field_value(v, name))
            except JsonCoercionError as exc:
                raise exc.at(f".{name}") from None
        return out
    return to_struct


def row_type_text(columns: list[tuple[str, str]]) -> str:
    """The STRUCT a JSON value of these columns must be, as ksqlDB's message names it."""
    return connect_type_text(T.struct_type(columns))
