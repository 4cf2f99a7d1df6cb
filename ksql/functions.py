"""The function registry: scalar functions and aggregates, looked up by upper-case name.

Scalar: ``register_scalar(name, impl, returns, min_args, max_args, null_on_null)``.
Aggregate: ``register_aggregate(name, cls)`` where ``cls(arg_types, params)`` is an
:class:`Aggregate` (one column argument plus literal parameters, as ksqlDB's UDAFs).
"""

from __future__ import annotations

import decimal
import functools
import itertools
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from socksort.ksql import types as T
from socksort.ksql.errors import KsqlError


@dataclass(frozen=True)
class ScalarFunction:
    name: str
    impl: Callable
    returns: Callable[[list], str]
    min_args: int
    max_args: int
    null_on_null: bool


_SCALARS: dict[str, ScalarFunction] = {}
_AGGREGATES: dict[str, type] = {}


def register_scalar(name: str, impl: Callable, returns: Callable[[list], str] | str,
                    min_args: int = 1, max_args: int | None = None,
                    null_on_null: bool = True) -> None:
    ret = returns if callable(returns) else (lambda _types, t=returns: t)
    _SCALARS[name.upper()] = ScalarFunction(name.upper(), impl, ret, min_args,
                                            min_args if max_args is None else max_args, null_on_null)


def register_aggregate(name: str, cls: type) -> None:
    _AGGREGATES[name.upper()] = cls


def scalar(name: str) -> ScalarFunction | None:
    return _SCALARS.get(name.upper())


def aggregate(name: str) -> type | None:
    return _AGGREGATES.get(name.upper())


def is_aggregate(name: str) -> bool:
    return name.upper() in _AGGREGATES


def names() -> tuple[list[str], list[str]]:
    return sorted(_SCALARS), sorted(_AGGREGATES)


# --- aggregates ---------------------------------------------------------------------

class Aggregate:
    """One aggregate call site. ``value`` given to add/undo is its column argument's value
    (COUNT(*) gets 1). Accumulators are immutable values; methods return the new one."""

    name = "?"
    undoable = False        # may aggregate a table (needs undo)
    mergeable = True        # may aggregate session windows (needs merge)

    def __init__(self, arg_types: list[str], params: list):
        self.arg_types = arg_types
        self.params = params
        self.return_type = self.returns(arg_types)

    def returns(self, arg_types: list[str]) -> str:
        raise NotImplementedError

    def init(self):
        return None

    def add(self, acc, value):
        raise NotImplementedError

    def undo(self, acc, value):
        raise NotImplementedError

    def merge(self, a, b):
        raise NotImplementedError

    def result(self, acc):
        return acc


def _one_column(cls_name: str, arg_types, allowed=None):
    if len(arg_types) != 1:
        raise KsqlError(f"Function '{cls_name}' does not accept parameters "
                        f"({', '.join(map(T.display, arg_types))}).")
    if allowed and arg_types[0] not in allowed and arg_types[0] != T.NULL:
        raise KsqlError(f"Function '{cls_name}' does not accept parameters "
                        f"({T.display(arg_types[0])}).")
    return arg_types[0]


class Count(Aggregate):
    name = "COUNT"
    undoable = True

    def returns(self, arg_types):
        return T.BIGINT

    def init(self):
        return 0

    def add(self, acc, value):
        return acc if value is None else acc + 1

    def undo(self, acc, value):
        return acc if value is None else acc - 1

    def merge(self, a, b):
        return a + b


class Sum(Aggregate):
    name = "SUM"
    undoable = True

    def returns(self, arg_types):
        t = _one_column("SUM", arg_types, (T.INTEGER, T.BIGINT, T.DOUBLE, T.DECIMAL))
        return T.DOUBLE if t == T.DECIMAL else t

    def init(self):
        return 0.0 if self.return_type == T.DOUBLE else 0

    def add(self, acc, value):
        return acc if value is None else acc + value

    def undo(self, acc, value):
        return acc if value is None else acc - value

    def merge(self, a, b):
        return a + b


class Avg(Aggregate):
    name = "AVG"
    undoable = True

    def returns(self, arg_types):
        _one_column("AVG", arg_types, (T.INTEGER, T.BIGINT, T.DOUBLE, T.DECIMAL))
        return T.DOUBLE

    def init(self):
        return (0, 0)

    def add(self, acc, value):
        return acc if value is None else (acc[0] + value, acc[1] + 1)

    def undo(self, acc, value):
        return acc if value is None else (acc[0] - value, acc[1] - 1)

    def merge(self, a, b):
        return (a[0] + b[0], a[1] + b[1])

    def result(self, acc):
        return acc[0] / acc[1] if acc[1] else 0.0


class Min(Aggregate):
    name = "MIN"

    def returns(self, arg_types):
        return _one_column("MIN", arg_types, (T.INTEGER, T.BIGINT, T.DOUBLE, T.DECIMAL, T.STRING))

    def add(self, acc, value):
        if value is None:
            return acc
        return value if acc is None or value < acc else acc

    def merge(self, a, b):
        return self.add(a, b)


class Max(Min):
    name = "MAX"

    def returns(self, arg_types):
        return _one_column("MAX", arg_types, (T.INTEGER, T.BIGINT, T.DOUBLE, T.DECIMAL, T.STRING))

    def add(self, acc, value):
        if value is None:
            return acc
        return value if acc is None or value > acc else acc


# Arrival order for *_BY_OFFSET: a process-wide counter gives every add a later position,
# so merged session parts compare by when their values arrived.
_arrival = itertools.count()


class LatestByOffset(Aggregate):
    name = "LATEST_BY_OFFSET"

    def __init__(self, arg_types, params):
        super().__init__(arg_types, params)
        if params and not isinstance(params[0], bool):
            raise KsqlError(f"{self.name} with a count parameter is not supported")
        self.ignore_nulls = params[0] if params else True

    def returns(self, arg_types):
        return arg_types[0]

    def init(self):
        return None                         # or (arrival, value)

    def add(self, acc, value):
        if value is None and self.ignore_nulls:
            return acc
        return (next(_arrival), value)

    def merge(self, a, b):
        if a is None:
            return b
        if b is None:
            return a
        return a if a[0] > b[0] else b

    def result(self, acc):
        return None if acc is None else acc[1]


class EarliestByOffset(LatestByOffset):
    name = "EARLIEST_BY_OFFSET"

    def add(self, acc, value):
        if acc is not None or (value is None and self.ignore_nulls):
            return acc
        return (next(_arrival), value)

    def merge(self, a, b):
        if a is None:
            return b
        if b is None:
            return a
        return a if a[0] < b[0] else b


class CountDistinct(Aggregate):
    name = "COUNT_DISTINCT"

    def returns(self, arg_types):
        _one_column("COUNT_DISTINCT", arg_types)
        return T.BIGINT

    def init(self):
        return frozenset()

    def add(self, acc, value):
        return acc if value is None or value in acc else acc | {value}

    def merge(self, a, b):
        return a | b

    def result(self, acc):
        return len(acc)


for _cls in (Count, Sum, Avg, Min, Max, LatestByOffset, EarliestByOffset, CountDistinct):
    register_aggregate(_cls.name, _cls)


# --- scalar functions ---------------------------------------------------------------

def _same_as_first(types):
    return types[0] if types else T.NULL


def _concat(*parts):
    return "".join([p for p in parts if p is not None])


def _substring(s, start, length=None):
    # ksqlDB positions are 1-based; negative positions count from the end.
    n = len(s)
    begin = start - 1 if start > 0 else max(n + start, 0)
    if length is None:
        return s[begin:]
    return s[begin:begin + max(length, 0)]


def _round(v, places=0):
    if isinstance(v, int):
        return v
    if not places:
        return math.floor(v + 0.5)          # Java's Math.round: half up
    q = decimal.Decimal(1).scaleb(-places)
    return float(decimal.Decimal(repr(v)).quantize(q, rounding=decimal.ROUND_HALF_UP))


def _ifnull(value, default):
    return default if value is None else value


def _coalesce(*values):
    for v in values:
        if v is not None:
            return v
    return None


def _numeric_result(types):
    return T.DOUBLE if types and types[0] in (T.DOUBLE, T.DECIMAL) else (types[0] if types else T.NULL)


def _widest(types):
    known = [t for t in types if t != T.NULL]
    if not known:
        return T.NULL
    if all(T.is_numeric(t) for t in known):
        result = known[0]
        for t in known[1:]:
            result = T.wider(result, t)
        return result
    if all(t == known[0] for t in known):
        return known[0]
    return "ERROR:Function arguments must all be of the same type: " + ", ".join(types)


def _pad(left: bool):
    def pad(s, length, padding):
        if length < 0 or (not padding and length > len(s)):
            return None
        if len(s) >= length:
            return s[:length]
        fill = (padding * length)[:length - len(s)]
        return fill + s if left else s + fill
    return pad


def _instr(s, sub, position=1, occurrence=1):
    # 1-based position of the occurrence-th match, searching from position; 0 when absent.
    start = position - 1 if position > 0 else len(s) + position
    index = start - 1 if position < 0 else start
    for _ in range(occurrence):
        index = s.find(sub, index + 1) if position > 0 else s.rfind(sub, 0, index + 1)
        if index < 0:
            return 0
        if position < 0:
            index -= 1
    return (index + 1 if position > 0 else index + 2)


# ksqlDB's SQRT, EXP and LN are Java's Math functions: outside their domain they return
# NaN or an infinity where Python raises (which would be a logged expression error).
def _sqrt(v):
    return math.sqrt(v) if v >= 0 else math.nan


def _ln(v):
    if v > 0:
        return math.log(v)
    return -math.inf if v == 0 else math.nan


def _exp(v):
    try:
        return math.exp(v)
    except OverflowError:
        return math.inf


register_scalar("UCASE", str.upper, T.STRING)
register_scalar("LCASE", str.lower, T.STRING)
register_scalar("TRIM", str.strip, T.STRING)
register_scalar("LEN", len, T.INTEGER)
register_scalar("CONCAT", _concat, T.STRING, min_args=1, max_args=64, null_on_null=False)
register_scalar("SUBSTRING", _substring, T.STRING, min_args=2, max_args=3)
register_scalar("REPLACE", lambda s, a, b: s.replace(a, b), T.STRING, min_args=3)
register_scalar("ABS", abs, _same_as_first)
register_scalar("ROUND", _round, lambda ts: T.BIGINT if len(ts) == 1 and ts[0] in (T.DOUBLE, T.DECIMAL) else ts[0],
                min_args=1, max_args=2)
register_scalar("FLOOR", math.floor, lambda ts: ts[0] if ts[0] in (T.INTEGER, T.BIGINT) else T.DOUBLE)
register_scalar("CEIL", math.ceil, lambda ts: ts[0] if ts[0] in (T.INTEGER, T.BIGINT) else T.DOUBLE)
register_scalar("SIGN", lambda v: (v > 0) - (v < 0), T.INTEGER)
register_scalar("SQRT", _sqrt, T.DOUBLE)
register_scalar("EXP", _exp, T.DOUBLE)
register_scalar("LN", _ln, T.DOUBLE)
register_scalar("GREATEST", lambda *vs: max(v for v in vs if v is not None), _widest,
                min_args=1, max_args=64, null_on_null=False)
register_scalar("LEAST", lambda *vs: min(v for v in vs if v is not None), _widest,
                min_args=1, max_args=64, null_on_null=False)
register_scalar("LPAD", _pad(left=True), T.STRING, min_args=3)
register_scalar("RPAD", _pad(left=False), T.STRING, min_args=3)
register_scalar("INSTR", _instr, T.INTEGER, min_args=2, max_args=4)
register_scalar("IFNULL", _ifnull, _same_as_first, min_args=2, null_on_null=False)
register_scalar("COALESCE", _coalesce, _same_as_first, min_args=1, max_args=64,
                null_on_null=False)


# --- TIMESTAMPTOSTRING: java.time.DateTimeFormatter patterns ------------------------

_FORMAT_CACHE: dict[str, Callable] = {}


def _compile_pattern(pattern: str) -> list:
    parts = []
    for m in re.finditer(r"'(?:[^']|'')*'|([A-Za-z])\1*|.", pattern):
        text = m.group()
        if text.startswith("'"):
            parts.append(("lit", text[1:-1].replace("''", "'") if text != "''" else "'"))
        elif text[0].isalpha():
            parts.append(("field", text))
        else:
            parts.append(("lit", text))
    return parts


# Pattern letters that print a number, zero-padded to the letter's repeat count.
_NUMERIC_FIELDS = {
    "d": lambda dt: dt.day, "D": lambda dt: dt.timetuple().tm_yday,
    "H": lambda dt: dt.hour, "h": lambda dt: (dt.hour % 12) or 12,
    "k": lambda dt: dt.hour or 24, "K": lambda dt: dt.hour % 12,
    "m": lambda dt: dt.minute, "s": lambda dt: dt.second,
}


def _field(dt: datetime, field: str) -> str:
    letter, width = field[0], len(field)
    numeric = _NUMERIC_FIELDS.get(letter)
    if numeric is not None:
        return f"{numeric(dt):0{width}d}"
    if letter in "yu":
        return f"{dt.year % 100:02d}" if width == 2 else f"{dt.year:0{width}d}"
    if letter in "ML":
        if width >= 3:
            return dt.strftime("%B" if width >= 4 else "%b")
        return f"{dt.month:0{width}d}"
    if letter == "S":
        return f"{dt.microsecond // 1000:03d}"[:width].ljust(width, "0")
    if letter == "a":
        return "AM" if dt.hour < 12 else "PM"
    if letter == "E":
        return dt.strftime("%A") if width >= 4 else dt.strftime("%a")
    if letter == "z":
        return dt.tzname() or "UTC"
    if letter in "XZx":
        return _offset(dt, letter, width)
    if letter == "V":
        return str(dt.tzinfo)
    raise ValueError(f"unsupported pattern letter {letter}")


def _offset(dt: datetime, letter: str, width: int) -> str:
    """Zone offset as java.time prints it for Z (+HHMM), X (Z when zero) and x."""
    off = dt.utcoffset()
    total = int(off.total_seconds()) if off is not None else 0
    if total == 0 and letter == "X":
        return "Z"
    sign = "+" if total >= 0 else "-"
    hh, mm = divmod(abs(total) // 60, 60)
    if letter == "Z":
        return f"{sign}{hh:02d}:{mm:02d}" if width >= 5 else f"{sign}{hh:02d}{mm:02d}"
    if width == 1:
        return f"{sign}{hh:02d}" + (f"{mm:02d}" if mm else "")
    if width == 2 or width == 4:
        return f"{sign}{hh:02d}{mm:02d}"
    return f"{sign}{hh:02d}:{mm:02d}"


def _field_formatter(field: str):
    """``datetime -> text`` for one pattern field, as :func:`_field` prints it."""
    letter, width = field[0], len(field)
    numeric = _NUMERIC_FIELDS.get(letter)
    if numeric is not None:
        spec = f"0{width}d"
        return lambda dt: format(numeric(dt), spec)
    if letter == "S":
        return lambda dt: format(dt.microsecond // 1000, "03d")[:width].ljust(width, "0")
    return lambda dt: _field(dt, field)


# Fields that depend on the time of day alone. In UTC they are arithmetic on the
# milliseconds since midnight: the pattern becomes one str.format template over
# (H, h, k, K, m, s, SSS, S, SS), with no datetime to build.
_TIME_OF_DAY_SLOTS = {"H": 0, "h": 1, "k": 2, "K": 3, "m": 4, "s": 5}
_DAY_MS = 86_400_000
_MAX_MILLIS = 253_402_300_800_000       # year 10000: datetime's range ends before it


def _time_of_day_template(parsed: list) -> str | None:
    """The str.format template of a pattern, or None if a field needs the date."""
    template = []
    for kind, text in parsed:
        if kind == "lit":
            template.append(text.replace("{", "{{").replace("}", "}}"))
            continue
        letter, width = text[0], len(text)
        if letter in _TIME_OF_DAY_SLOTS:
            template.append(f"{{{_TIME_OF_DAY_SLOTS[letter]}:0{width}d}}")
        elif letter == "S":
            # Fraction digits: the first `width` of the three millisecond digits, zero-filled.
            slot = {1: 7, 2: 8}.get(width, 6)
            template.append(f"{{{slot}:0{min(width, 3)}d}}" + "0" * max(width - 3, 0))
        else:
            return None
    return "".join(template)


def _formatter(pattern: str) -> tuple:
    """(``datetime -> text``, time-of-day template or None) for a pattern, built once per
    pattern (a query formats every record with the same one)."""
    formatter = _FORMAT_CACHE.get(pattern)
    if formatter is None:
        if len(_FORMAT_CACHE) >= 256:
            _FORMAT_CACHE.clear()           # patterns read from data must not grow it forever
        parsed = _compile_pattern(pattern)
        parts = [(lambda dt, text=text: text) if kind == "lit" else _field_formatter(text)
                 for kind, text in parsed]
        formatter = _FORMAT_CACHE[pattern] = (
            lambda dt: "".join([part(dt) for part in parts]), _time_of_day_template(parsed))
    return formatter


def timestamp_to_string(millis: int, pattern: str, zone: str | None = None) -> str:
    tz = timezone.utc if zone is None else _zone(zone)
    at_datetime, template = _formatter(pattern)
    if (template is not None and tz is timezone.utc and type(millis) is int
            and 0 <= millis < _MAX_MILLIS):
        ms = millis % _DAY_MS
        hour = ms // 3_600_000
        frac = ms % 1000
        return template.format(hour, (hour % 12) or 12, hour or 24, hour % 12,
                               ms // 60_000 % 60, ms // 1000 % 60, frac, frac // 100, frac // 10)
    dt = datetime.fromtimestamp(millis / 1000, tz)
    dt = dt.replace(microsecond=(millis % 1000) * 1000)
    return at_datetime(dt)


@functools.lru_cache(maxsize=64)
def _zone(name: str):
    if name.upper() in ("UTC", "Z", "GMT"):
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"Unknown time-zone ID: {name}") from None


register_scalar("TIMESTAMPTOSTRING", timestamp_to_string, T.STRING, min_args=2, max_args=3)
