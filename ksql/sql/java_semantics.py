"""The built-in functions as ksqlDB's Java UDFs compute them.

ksqlDB's functions are Java methods: string positions and lengths count UTF-16 code
units, `String.trim()` strips the characters up to U+0020, ints and longs wrap around,
`Math.round` rounds half up and saturates, doubles order with NaN above +Infinity and
-0.0 below 0.0. Each function here follows its ksqlDB source
(ksqldb-engine/src/main/java/io/confluent/ksql/function/udf/...), edge arguments
included; the registry (functions.py) decides which one an argument list calls.
"""

from __future__ import annotations

import decimal
import math
import re
from array import array

from socksort.ksql.sql import types as T

_ASTRAL = re.compile("[\U00010000-\U0010FFFF]")
_JAVA_WHITESPACE = "".join(chr(c) for c in range(0x21))     # what String.trim() strips


# --- strings as UTF-16 code units ----------------------------------------------------

def _bmp(s: str) -> bool:
    """True when every character is one UTF-16 code unit (Python indexes then agree)."""
    return s.isascii() or _ASTRAL.search(s) is None


def units(s: str) -> str:
    """``s`` with each character outside the BMP split into its two surrogates, so that
    Python's indexes and lengths are Java's."""
    if _bmp(s):
        return s
    return "".join(map(chr, array("H", s.encode("utf-16-le", "surrogatepass"))))


def from_units(u: str) -> str:
    """The inverse of :func:`units` (surrogate pairs joined again)."""
    if _bmp(u) and not any("\ud800" <= c <= "\udfff" for c in u):
        return u
    return u.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def utf16_len(s: str) -> int:
    return len(s) if _bmp(s) else len(units(s))


def _int32(v: int) -> int:
    return (v + 2**31) % 2**32 - 2**31


def substring(s: str, pos: int, length: int | None = None) -> str:
    """SUBSTRING: 1-based; position 0 is 1; a negative position counts from the end;
    the end is clamped (Java's int arithmetic: start + length may wrap)."""
    u = units(s)
    n = len(u)
    start = max(n + pos, 0) if pos < 0 else max(min(pos - 1, n), 0)
    if length is None:
        return from_units(u[start:])
    end = max(min(_int32(start + length), n), start)
    return from_units(u[start:end])


def trim(s: str) -> str:
    return s.strip(_JAVA_WHITESPACE)


def length(s: str) -> int:
    return utf16_len(s)


def lpad(s: str, target: int, padding: str) -> str | None:
    if not padding or target < 0:
        return None
    u, p = units(s), units(padding)
    fill = max(target - len(u), 0)
    return from_units(((p * (fill // len(p) + 1))[:fill] + u)[:target])


def rpad(s: str, target: int, padding: str) -> str | None:
    if not padding or target < 0:
        return None
    u, p = units(s), units(padding)
    fill = max(target - len(u), 0)
    return from_units((u + p * (fill // len(p) + 1))[:target])


def concat(*parts) -> str:
    return "".join([p for p in parts if p is not None])


def instr(s, sub, position=1, occurrence=1) -> int:
    """INSTR: the 1-based position of the occurrence-th match of ``sub``, searching from
    ``position`` (backwards when negative), or 0; a null string or substring gives 0."""
    if s is None or sub is None:
        return 0
    if position is None or occurrence is None:
        raise TypeError("position and occurrence are int parameters and cannot be null")
    u, su = units(s), units(sub)
    if abs(position) > len(u):
        return 0
    if position < 0:
        # StringUtils.reverse keeps surrogate pairs together: reverse the characters.
        return _find(units(s[::-1]), units(sub[::-1]), -position, occurrence, True)
    return _find(u, su, position, occurrence, False)


def _find(u: str, su: str, position: int, occurrence: int, backwards: bool) -> int:
    i = _ordinal_index(_commons_substring(u, position - 1), su, occurrence)
    if i == -1:
        return 0
    return len(u) - position - i - len(su) + 2 if backwards else i + position


def _commons_substring(u: str, start: int) -> str:
    """commons-lang StringUtils.substring(str, start): a negative start counts from the end."""
    if start < 0:
        start = max(len(u) + start, 0)
    return u[start:]


def _ordinal_index(u: str, su: str, ordinal: int) -> int:
    """commons-lang StringUtils.ordinalIndexOf: overlapping matches count."""
    if ordinal <= 0:
        return -1
    if not su:
        return 0
    index = -1
    for _ in range(ordinal):
        index = u.find(su, index + 1)
        if index < 0:
            return -1
    return index


# --- numbers ------------------------------------------------------------------------

def abs_int(v: int) -> int:
    """Math.abs(int): the absolute value, except Integer.MIN_VALUE, which stays."""
    return v if v == T.INT_MIN else abs(v)


def abs_long(v: int) -> int:
    return v if v == T.LONG_MIN else abs(v)


def round_half_up(v: float) -> int:
    """Math.round(double): the closest long, ties up; NaN is 0, out-of-range saturates."""
    if v != v:
        return 0
    if v >= 2.0**63:
        return T.LONG_MAX
    if v <= -(2.0**63):
        return T.LONG_MIN
    r = math.floor(v)
    return r + 1 if v - r >= 0.5 else r


def round_places(v: float, places: int) -> float:
    """ROUND(double, places): BigDecimal.valueOf(v).setScale(places, HALF_UP for
    positive values, HALF_DOWN otherwise); a NaN or infinite value cannot be rounded."""
    if not math.isfinite(v):
        raise ValueError(f"Character {v} is neither a decimal digit number, decimal point, "
                         "nor \"e\" notation exponential mark.")
    mode = decimal.ROUND_HALF_UP if v > 0 else decimal.ROUND_HALF_DOWN
    exact = decimal.Decimal(repr(v))
    with decimal.localcontext() as ctx:
        ctx.prec = max(len(exact.as_tuple().digits) + abs(places) + 2, 28)
        return float(exact.quantize(decimal.Decimal(1).scaleb(-places), rounding=mode))


def round_decimal(v: float, places: int = 0) -> float:
    """ROUND(DECIMAL[, places]): the same rounding, kept a DECIMAL."""
    return round_places(v, places)


def floor_double(v: float) -> float:
    """Math.floor: infinities, NaN and the sign of zero pass through."""
    if not math.isfinite(v):
        return v
    r = float(math.floor(v))
    return math.copysign(r, v) if r == 0 else r


def ceil_double(v: float) -> float:
    if not math.isfinite(v):
        return v
    r = math.ceil(v)
    return math.copysign(0.0, v) if r == 0 else float(r)


def sign(v) -> int:
    """Integer.signum / (int) Math.signum: NaN is 0."""
    return (v > 0) - (v < 0)


def sqrt(v) -> float:
    """Math.sqrt: NaN below zero (Python would raise)."""
    v = float(v)
    return math.sqrt(v) if v >= 0 or v != v else math.nan


def ln(v) -> float:
    """Math.log: -Infinity at zero, NaN below."""
    v = float(v)
    if v > 0:
        return math.log(v)
    return -math.inf if v == 0 else math.nan


def exp(v) -> float:
    """Math.exp: +Infinity on overflow."""
    try:
        return math.exp(v)
    except OverflowError:
        return math.inf


# --- ordering -------------------------------------------------------------------------

def double_key(v: float) -> tuple:
    """Double.compareTo's order: -0.0 below 0.0, NaN above everything."""
    return (v != v, v, math.copysign(1.0, v))


def string_key(s: str) -> bytes:
    """String.compareTo's order: by UTF-16 code unit (which differs from Python's code
    point order only past the BMP)."""
    return s.encode("utf-16-be", "surrogatepass")


def string_less(a: str, b: str) -> bool:
    """a < b as String.compareTo orders them, without encoding in the usual case."""
    if _bmp(a) and _bmp(b):
        return a < b
    return string_key(a) < string_key(b)


def double_less(a: float, b: float) -> bool:
    """a < b as Double.compareTo orders them (also cheap in the usual case)."""
    if a < b:
        return True
    if a > b or (a == b and a != 0):
        return False
    return double_key(a) < double_key(b)


def greatest(key):
    """GREATEST over one type: the largest non-null argument by ``key`` (None: natural)."""
    def pick(*values):
        present = [v for v in values if v is not None]
        if not present:
            return None
        return max(present, key=key) if key is not None else max(present)
    return pick


def least(key):
    def pick(*values):
        present = [v for v in values if v is not None]
        if not present:
            return None
        return min(present, key=key) if key is not None else min(present)
    return pick


def not_equal_number(a, b) -> bool:
    """``<>`` on numbers as ksqlDB compiles it, (a < b) || (a > b): false for NaN."""
    return a < b or a > b


def string_ordering(op: str):
    """<, <=, >, >= on strings by String.compareTo."""
    less = string_less
    return {"<": less, ">": lambda a, b: less(b, a),
            "<=": lambda a, b: not less(b, a), ">=": lambda a, b: not less(a, b)}[op]


def equals_for(left: str, right: str):
    """``a.equals(b)`` for values of two ARRAY/STRUCT types, as Java compares them: arrays
    element by element, a struct only to a struct of the same schema, Integer never equal
    to Long, Double by its bits (NaN equal to NaN, -0.0 not to 0.0), null equal to null."""
    if T.base_type(left) != T.base_type(right):
        return lambda a, b: False
    if T.base_type(left) == "ARRAY":
        element = equals_for(T.array_element(left), T.array_element(right))
        return lambda a, b: len(a) == len(b) and all(
            (x is None and y is None) or (x is not None and y is not None and element(x, y))
            for x, y in zip(a, b))
    if T.base_type(left) == "STRUCT":
        if left != right:
            return lambda a, b: False
        fields = [(name, equals_for(t, t)) for name, t in T.struct_fields(left)]
        return lambda a, b: all(
            (a.get(n) is None and b.get(n) is None)
            or (a.get(n) is not None and b.get(n) is not None and eq(a[n], b[n]))
            for n, eq in fields)
    if left != right and not ({left, right} <= {T.DOUBLE, T.DECIMAL}):
        return lambda a, b: False          # Integer.equals(Long) and the like
    if left in (T.DOUBLE, T.DECIMAL):
        return lambda a, b: double_key(a) == double_key(b) or (a != a and b != b)
    return lambda a, b: a == b


def coalesce(*values):
    for v in values:
        if v is not None:
            return v
    return None
