"""SQL types of the subset, and converting JSON/DELIMITED field values to them.

Types are plain strings (``"BIGINT"``) so they cross module boundaries without ceremony.
DECIMAL exists only for literals such as ``2.0``; values of it are Python floats.
"""

from __future__ import annotations

import decimal
import math

BOOLEAN, INTEGER, BIGINT, DOUBLE, STRING, DECIMAL, NULL = (
    "BOOLEAN", "INTEGER", "BIGINT", "DOUBLE", "STRING", "DECIMAL", "NULL")

NUMERIC = (INTEGER, BIGINT, DECIMAL, DOUBLE)
_WIDTH = {INTEGER: 0, BIGINT: 1, DECIMAL: 2, DOUBLE: 3}

_ALIASES = {
    "BOOLEAN": BOOLEAN, "INT": INTEGER, "INTEGER": INTEGER, "BIGINT": BIGINT,
    "DOUBLE": DOUBLE, "VARCHAR": STRING, "STRING": STRING,
}

INT_MIN, INT_MAX = -2**31, 2**31 - 1
LONG_MIN, LONG_MAX = -2**63, 2**63 - 1


def from_name(name: str) -> str | None:
    """The type a column declaration names, or None when the subset lacks it."""
    if is_complex(name):
        return name             # the parser already spelled it canonically
    return _ALIASES.get(name.upper())


def is_numeric(t: str) -> bool:
    return t in _WIDTH


def wider(a: str, b: str) -> str:
    """The result type of arithmetic on a and b (INT → BIGINT → DECIMAL → DOUBLE)."""
    return a if _WIDTH[a] >= _WIDTH[b] else b


def base_type(t: str) -> str:
    """ARRAY, STRUCT or the type itself, as ksqlDB's SqlBaseType names it."""
    return t.split("<", 1)[0] if is_complex(t) else t


def comparable(a: str, b: str, op: str = "=") -> bool:
    """ksqlDB's ComparisonUtil: numbers with numbers, strings with strings, and booleans,
    arrays and structs with their own kind for = and <> only (whatever their elements)."""
    if a == NULL or b == NULL:
        return True
    if is_numeric(a):
        return is_numeric(b)
    if a == STRING:
        return b == STRING
    if base_type(a) in (BOOLEAN, "ARRAY", "STRUCT"):
        return base_type(b) == base_type(a) and op in ("=", "<>")
    return False


def display(t: str) -> str:
    """Type name as ksqlDB prints it in DESCRIBE and query headers."""
    return "DECIMAL" if t == DECIMAL else t


def holds_double(t: str) -> bool:
    """Whether values of ``t`` may hold a double (which JSON cannot write as NaN/Infinity)."""
    return t in (DOUBLE, DECIMAL) or (is_complex(t) and ("DOUBLE" in t or "DECIMAL" in t))


def json_safe(v):
    """``v`` as ksqlDB's JSON serializer writes it: a NaN or infinite double becomes the
    string Java prints for it ("NaN", "Infinity", "-Infinity"), at any depth."""
    if type(v) is float:
        return v if v - v == 0 else java_double_str(v)
    if type(v) is dict:
        return {k: json_safe(x) for k, x in v.items()}
    if type(v) is list:
        return [json_safe(x) for x in v]
    return v


def display_plain(t: str) -> str:
    """Type name as ksqlDB prints it in messages (struct field names unquoted)."""
    return display(t).replace("`", "")


# --- coercion of decoded field values ---------------------------------------------

class CoercionError(ValueError):
    pass


def coercer(t: str):
    """A function turning a JSON-decoded field value into a value of type ``t``."""
    found = _COERCERS.get(t)
    if found is None:
        found = _COERCERS[t] = _complex_coercer(t)
    return found


def _to_int(v, lo, hi, name):
    tv = type(v)
    if tv is int:
        if lo <= v <= hi:
            return v
        raise CoercionError(f"Can't coerce {v} to {name}: out of range")
    if v is None:
        return None
    if tv is bool:
        raise CoercionError(f"Can't convert type. sourceType: BooleanNode, requiredType: {name}")
    if tv is float:
        if v.is_integer():
            return _to_int(int(v), lo, hi, name)
        raise CoercionError(f"Can't convert type. sourceType: DoubleNode, requiredType: {name}")
    if tv is str:
        try:
            return _to_int(int(v.strip()), lo, hi, name)
        except ValueError:
            raise CoercionError(f"Can't coerce string to type. targetType: {name}") from None
    raise CoercionError(f"Can't convert type. sourceType: {tv.__name__}, requiredType: {name}")


def _coerce_int(v):
    return _to_int(v, INT_MIN, INT_MAX, INTEGER)


def _coerce_bigint(v):
    return _to_int(v, LONG_MIN, LONG_MAX, BIGINT)


def _coerce_double(v):
    tv = type(v)
    if tv is float:
        return v
    if v is None:
        return None
    if tv is int:
        return float(v)
    if tv is str:
        try:
            return float(v.strip())
        except ValueError:
            raise CoercionError("Can't coerce string to type. targetType: DOUBLE") from None
    raise CoercionError(f"Can't convert type. sourceType: {tv.__name__}, requiredType: DOUBLE")


def _coerce_string(v):
    tv = type(v)
    if tv is str or v is None:
        return v
    if tv is bool:
        return "true" if v else "false"
    if tv is int:
        return str(v)
    if tv is float:
        return java_double_str(v)
    raise CoercionError(f"Can't convert type. sourceType: {tv.__name__}, requiredType: STRING")


def _coerce_boolean(v):
    tv = type(v)
    if tv is bool or v is None:
        return v
    if tv is str:
        low = v.strip().lower()
        if low in ("true", "false"):
            return low == "true"
    raise CoercionError(f"Can't convert type. sourceType: {tv.__name__}, requiredType: BOOLEAN")


_COERCERS = {INTEGER: _coerce_int, BIGINT: _coerce_bigint, DOUBLE: _coerce_double,
             DECIMAL: _coerce_double, STRING: _coerce_string, BOOLEAN: _coerce_boolean}


def java_double_str(v: float) -> str:
    """Format a double like Java's Double.toString (ksqlDB's DELIMITED/string output)."""
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "Infinity" if v > 0 else "-Infinity"
    if v == 0:
        return "-0.0" if math.copysign(1.0, v) < 0 else "0.0"
    if 1e-3 <= abs(v) < 1e7:
        text = repr(v)
        return text if "." in text else text + ".0"
    # Shortest round-trip digits (Python's repr), laid out as d.dddE±n like Java. Where
    # one digit would do, Java picks the closest of the two-digit decimals instead
    # (Double.MIN_VALUE is 4.9E-324, not 5.0E-324).
    shortest = decimal.Decimal(repr(v))
    if len(shortest.as_tuple().digits) == 1:
        exact = decimal.Decimal(v)
        shortest = exact.quantize(decimal.Decimal(1).scaleb(exact.adjusted() - 1),
                                  rounding=decimal.ROUND_HALF_EVEN)
    sign, digit_tuple, exponent = shortest.as_tuple()
    power = exponent + len(digit_tuple) - 1
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    mantissa = digits[0] + "." + (digits[1:] or "0")
    return ("-" if sign else "") + f"{mantissa}E{power}"


# --- STRUCT and ARRAY (column declarations only, e.g. the processing-log stream) -------
# A complex type is its canonical text, as ksqlDB prints it in query headers:
# "STRUCT<`TYPE` INTEGER, `CAUSE` ARRAY<STRING>>". Values are dicts keyed by the field
# names and lists; expressions read struct fields with `->` (no [] in the subset).

def is_complex(t: str) -> bool:
    return t.startswith(("STRUCT<", "ARRAY<"))


def struct_type(fields: list) -> str:
    """The canonical STRUCT type of [(field name, type)]."""
    return "STRUCT<" + ", ".join(f"`{name}` {t}" for name, t in fields) + ">"


def array_type(element: str) -> str:
    return f"ARRAY<{element}>"


def split_complex(t: str):
    """("STRUCT", [(name, type)]) or ("ARRAY", element type) of a canonical complex type."""
    if t.startswith("ARRAY<"):
        return "ARRAY", t[6:-1]
    fields, i, body = [], 0, t[7:-1]
    while i < len(body):
        end = body.index("`", i + 1)
        name = body[i + 1:end]
        i = j = end + 2
        depth = 0
        while j < len(body) and not (depth == 0 and body.startswith(", ", j)):
            depth += {"<": 1, ">": -1}.get(body[j], 0)
            j += 1
        fields.append((name, body[i:j]))
        i = j + 2
    return "STRUCT", fields


def is_struct(t: str) -> bool:
    return t.startswith("STRUCT<")


def array_element(t: str) -> str:
    """The element type of ARRAY type ``t``."""
    return split_complex(t)[1]


def struct_fields(t: str) -> list:
    """[(field name, type)] of STRUCT type ``t``, in declaration order."""
    return list(split_complex(t)[1])


def struct_field(t: str, name: str) -> str | None:
    """The type of field ``name`` (exact name, as declared) of STRUCT type ``t``, or None."""
    return dict(split_complex(t)[1]).get(name)


def rest_schema(t: str) -> dict:
    """A column type as ksqlDB's REST API describes it: {type, fields, memberSchema}."""
    if not is_complex(t):
        return {"type": display(t), "fields": None, "memberSchema": None}
    kind, inner = split_complex(t)
    if kind == "ARRAY":
        return {"type": "ARRAY", "fields": None, "memberSchema": rest_schema(inner)}
    return {"type": "STRUCT", "memberSchema": None,
            "fields": [{"name": n, "schema": rest_schema(ft)} for n, ft in inner]}


def _complex_coercer(t: str):
    kind, inner = split_complex(t)
    if kind == "ARRAY":
        element = coercer(inner)

        def to_array(v):
            if v is None:
                return None
            if not isinstance(v, list):
                raise CoercionError(f"Can't convert type. sourceType: {type(v).__name__}, "
                                    f"requiredType: {t}")
            return [element(x) for x in v]
        return to_array
    fields = [(name, name.upper(), coercer(ft)) for name, ft in inner]

    def to_struct(v):
        if v is None:
            return None
        if not isinstance(v, dict):
            raise CoercionError(f"Can't convert type. sourceType: {type(v).__name__}, "
                                f"requiredType: STRUCT")
        upper = {k.upper(): x for k, x in v.items()}
        # JSON field names match struct fields case-insensitively, as columns do.
        return {name: convert(v[name] if name in v else upper.get(key))
                for name, key, convert in fields}
    return to_struct
