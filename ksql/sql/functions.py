"""The function registry: scalar functions and aggregates, looked up by upper-case name.

Scalar: ``register_scalar(name, impl, returns, min_args, max_args, null_on_null)``, where
``returns`` is the result type or a function of the argument types that raises KsqlError
for argument types it refuses; a built-in also lists ksqlDB's overloads (``signatures``), which pick the implementation and
result type for the argument types as ksqlDB's UdfIndex does (exact match first, then
implicit numeric widening; a tie is ksqlDB's "ambiguous method parameters").
Aggregate: ``register_aggregate(name, cls)`` where ``cls(arg_types, params)`` is an
:class:`Aggregate` (one column argument plus literal parameters, as ksqlDB's UDAFs).
"""

from __future__ import annotations

import functools
import itertools
import json
from dataclasses import dataclass
from typing import Callable

from socksort.ksql.sql import java_semantics as J
from socksort.ksql.sql import types as T
from socksort.ksql.sql.allowlist import DATA
from socksort.ksql.sql.errors import KsqlError, unsupported
from socksort.ksql.sql.timeformat import timestamp_to_string

GENERIC = "T"           # a parameter type that binds to one argument type per call
# ksqlDB's types the engine has no values of; their overloads still take part in
# resolution (a STRING argument may widen to them), and calling one is "not supported".
LACKING = ("BYTES", "DATE", "TIME", "TIMESTAMP")


@dataclass(frozen=True)
class Signature:
    """One overload as ksqlDB declares it: parameter types (``GENERIC`` binds one type),
    the last one repeating when ``variadic``; the result type (a type, GENERIC, or a
    function of the argument types) and the implementation."""
    params: tuple
    returns: object
    impl: Callable | None = None            # None: an overload of a type in LACKING
    variadic: bool = False


@dataclass(frozen=True)
class ScalarFunction:
    name: str
    impl: Callable
    returns: Callable[[list], str]
    min_args: int
    max_args: int
    null_on_null: bool
    display: str = ""                       # ksqlDB's own name for it, as its messages say it
    signatures: tuple = ()                  # empty: any argument types


@dataclass(frozen=True)
class Resolved:
    """What a call site runs: the implementation, the result type and, per argument, the
    parameter type it was matched to (an INTEGER passed for a DOUBLE is converted)."""
    impl: Callable
    returns: str
    params: tuple


_SCALARS: dict[str, ScalarFunction] = {}
_AGGREGATES: dict[str, type] = {}
_TABLES: dict[str, "TableFunction"] = {}


@dataclass(frozen=True)
class TableFunction:
    """A function that turns one value into zero or more rows (ksqlDB's UDTF).

    ``returns(arg_type)`` is the type of each row's value, raising KsqlError with ksqlDB's
    message for an argument type it refuses; ``impl(value)`` returns the list of values
    (never called with null: a null argument gives no rows, as ksqlDB's EXPLODE does).
    """
    name: str
    impl: Callable[[object], list]
    returns: Callable[[str], str]
    display: str


def register_scalar(name: str, impl: Callable | None, returns: Callable[[list], str] | str,
                    min_args: int = 1, max_args: int | None = None,
                    null_on_null: bool = True, signatures: tuple = (),
                    display: str | None = None) -> None:
    ret = returns if callable(returns) else (lambda _types, t=returns: t)
    _SCALARS[name.upper()] = ScalarFunction(
        name.upper(), impl, ret, min_args, min_args if max_args is None else max_args,
        null_on_null, display or name.upper(), tuple(signatures))


def register_aggregate(name: str, cls: type) -> None:
    _AGGREGATES[name.upper()] = cls


def register_table(fn: TableFunction) -> None:
    _TABLES[fn.name.upper()] = fn


def table_function(name: str) -> TableFunction | None:
    return _TABLES.get(name.upper())


def is_table_function(name: str) -> bool:
    return name.upper() in _TABLES


def scalar(name: str) -> ScalarFunction | None:
    return _SCALARS.get(name.upper())


def aggregate(name: str) -> type | None:
    return _AGGREGATES.get(name.upper())


def is_aggregate(name: str) -> bool:
    return name.upper() in _AGGREGATES


def names() -> tuple[list[str], list[str]]:
    """(scalar names, aggregate names); table functions count with the scalars, as ksqlDB's
    SHOW FUNCTIONS lists them with no kind of their own."""
    return sorted([*_SCALARS, *_TABLES]), sorted(_AGGREGATES)


def ksqldb_function_names() -> frozenset:
    """The functions ksqlDB documents (aggregate and scalar, upper-case)."""
    return _ksqldb_functions()


@functools.lru_cache(maxsize=1)
def _ksqldb_functions() -> frozenset:
    data = json.loads(DATA.read_text())
    return (frozenset(data["aggregate_functions"]) | frozenset(data["scalar_functions"])
            | frozenset(data["table_functions"]))


def check_known(name: str, pos=None) -> None:
    """Raise ksqlDB's error for a name that is no function, or "not supported" for one of
    ksqlDB's functions the engine lacks."""
    if name.upper() in _SCALARS or name.upper() in _AGGREGATES or name.upper() in _TABLES:
        return
    if name.upper() in _ksqldb_functions():
        raise unsupported(f"function {name.upper()}", pos)
    raise KsqlError(f"Can't find any functions with the name '{name}'", *(pos or (None, None)))


# --- resolving a call to one overload --------------------------------------------------

_WIDENING = {T.INTEGER: 0, T.BIGINT: 1, T.DECIMAL: 2, T.DOUBLE: 3}


def _widens(arg: str, param: str) -> bool:
    """ksqlDB's implicit casts: numbers to wider numbers, STRING to BYTES and times."""
    if arg in _WIDENING and param in _WIDENING:
        return _WIDENING[arg] <= _WIDENING[param]
    return arg == T.STRING and param in LACKING


def _bind(sig: Signature, args: list, cast: bool):
    """The parameter type for each argument, and the generic's binding, or None."""
    n = len(sig.params)
    if sig.variadic:
        if len(args) < n - 1:
            return None
        params = sig.params[:-1] + (sig.params[-1],) * (len(args) - n + 1)
    elif len(args) != n:
        return None
    else:
        params = sig.params
    generic = None
    for param, arg in zip(params, args):
        if arg == T.NULL:
            continue
        if param == GENERIC:
            if generic is not None and generic != arg:
                return None             # generics bind exactly, with no implicit cast
            generic = arg
        elif arg != param and not (cast and _widens(arg, param)):
            return None
    return params, generic


def _rank(sig: Signature) -> tuple:
    # ksqlDB prefers a non-variadic overload, then more parameters, then fewer generics,
    # then a later variadic parameter; equal ranks are ambiguous.
    generics = sum(p == GENERIC for p in sig.params)
    return (not sig.variadic, len(sig.params), -generics, len(sig.params) - 1 if sig.variadic else -1)


def args_text(arg_types: list) -> str:
    return "(" + ", ".join("null" if t == T.NULL else T.display_plain(t) for t in arg_types) + ")"


def resolve(fn: ScalarFunction, arg_types: list, pos=None) -> Resolved:
    """The overload of ``fn`` a call with these argument types runs (ksqlDB's rules)."""
    where = pos or (None, None)
    if not fn.signatures:
        if not fn.min_args <= len(arg_types) <= fn.max_args:
            raise KsqlError(f"Function '{fn.display}' does not accept parameters "
                            f"{args_text(arg_types)}.", *where)
        try:
            result = fn.returns(arg_types)
        except KsqlError as exc:
            raise exc.at(pos)
        return Resolved(fn.impl, result, tuple(arg_types))
    for cast in (False, True):
        found = [(sig, bound) for sig in fn.signatures
                 if (bound := _bind(sig, arg_types, cast)) is not None]
        if not found:
            continue
        found.sort(key=lambda f: _rank(f[0]), reverse=True)
        if len(found) > 1 and _rank(found[0][0]) == _rank(found[1][0]):
            raise KsqlError(f"Function '{fn.display}' cannot be resolved due to ambiguous "
                            f"method parameters {args_text(arg_types)}.", *where)
        sig, (params, generic) = found[0]
        if sig.impl is None:
            raise unsupported(f"{fn.display.upper()} over "
                              f"{', '.join(p for p in params if p in LACKING)}", pos)
        if callable(sig.returns):
            returns = sig.returns(arg_types)
        elif sig.returns == GENERIC:
            returns = generic or T.NULL
        else:
            returns = sig.returns
        return Resolved(sig.impl, returns, tuple(params))
    raise KsqlError(f"Function '{fn.display}' does not accept parameters "
                    f"{args_text(arg_types)}.", *where)


# --- aggregates ---------------------------------------------------------------------

class Aggregate:
    """One aggregate call site. ``value`` given to add/undo is its column argument's value
    (COUNT(*) gets 1). Accumulators are immutable values; methods return the new one."""

    name = "?"
    display = ""            # ksqlDB's name for it in messages, when not ``name``
    undoable = False        # may aggregate a table (needs undo)
    mergeable = True        # may aggregate session windows (needs merge)
    # ksqlDB keeps this aggregate's state as a STRUCT or ARRAY, which a DELIMITED source's
    # internal topics cannot hold.
    complex_state = False
    # The literal parameters after the column ksqlDB's factories take (UDAFs have no
    # implicit casts: other literals are "does not accept parameters").
    param_types: tuple = ((),)

    def __init__(self, arg_types: list[str], params: list):
        self.arg_types = arg_types
        self.params = params
        if tuple(_literal_type(p) for p in params) not in self.param_types:
            raise KsqlError(f"Function '{self.display or self.name}' does not accept parameters "
                            f"{args_text(list(arg_types) + [_literal_type(p) for p in params])}.")
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


def _literal_type(value) -> str:
    if value is None:
        return T.NULL
    if isinstance(value, bool):
        return T.BOOLEAN
    if isinstance(value, int):
        return T.INTEGER if T.INT_MIN <= value <= T.INT_MAX else T.BIGINT
    if isinstance(value, float):
        return T.DOUBLE
    return T.STRING


def _one_column(agg: Aggregate, arg_types, allowed=None):
    display = agg.display or agg.name
    if len(arg_types) != 1:
        raise KsqlError(f"Function '{display}' does not accept parameters "
                        f"{args_text(arg_types)}.")
    if allowed and arg_types[0] not in allowed and arg_types[0] != T.NULL:
        raise KsqlError(f"Function '{display}' does not accept parameters "
                        f"{args_text(arg_types)}.")
    return arg_types[0]


def _wrapping(t: str):
    """a + b (or - b) as Java's int/long arithmetic does it: wrapping around."""
    if t not in (T.INTEGER, T.BIGINT):
        return None
    half = 2**31 if t == T.INTEGER else 2**63

    def wrap(v):
        return v if -half <= v < half else (v + half) % (2 * half) - half
    return wrap


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
    """SUM: an INTEGER or BIGINT sum wraps around as Java's does."""
    name = "SUM"
    undoable = True

    def returns(self, arg_types):
        return _one_column(self, arg_types, (T.INTEGER, T.BIGINT, T.DOUBLE, T.DECIMAL))

    def __init__(self, arg_types, params):
        super().__init__(arg_types, params)
        wrap = _wrapping(self.return_type)
        if wrap is not None:
            self.add = lambda acc, v: acc if v is None else wrap(acc + v)
            self.undo = lambda acc, v: acc if v is None else wrap(acc - v)
            self.merge = lambda a, b: wrap(a + b)

    def init(self):
        return 0.0 if self.return_type in (T.DOUBLE, T.DECIMAL) else 0

    def add(self, acc, value):
        return acc if value is None else acc + value

    def undo(self, acc, value):
        return acc if value is None else acc - value

    def merge(self, a, b):
        return a + b


class Avg(Aggregate):
    """AVG: the sum (kept in the argument's type, wrapping as Java's does) over the count."""
    name = "AVG"
    display = "avg"
    undoable = True
    complex_state = True

    def returns(self, arg_types):
        _one_column(self, arg_types, (T.INTEGER, T.BIGINT, T.DOUBLE))
        return T.DOUBLE

    def __init__(self, arg_types, params):
        super().__init__(arg_types, params)
        self.wrap = _wrapping(arg_types[0]) or (lambda v: v)

    def init(self):
        return (0, 0)

    def add(self, acc, value):
        return acc if value is None else (self.wrap(acc[0] + value), acc[1] + 1)

    def undo(self, acc, value):
        return acc if value is None else (self.wrap(acc[0] - value), acc[1] - 1)

    def merge(self, a, b):
        return (self.wrap(a[0] + b[0]), a[1] + b[1])

    def result(self, acc):
        return acc[0] / acc[1] if acc[1] else 0.0


class Min(Aggregate):
    """MIN, ordering as Java's compareTo does (doubles: NaN above all, -0.0 below 0.0;
    strings: by UTF-16 unit)."""
    name = "MIN"
    comparable = (T.INTEGER, T.BIGINT, T.DOUBLE, T.DECIMAL, T.STRING)

    def returns(self, arg_types):
        return _one_column(self, arg_types, self.comparable)

    def __init__(self, arg_types, params):
        super().__init__(arg_types, params)
        self.less = {T.DOUBLE: J.double_less, T.STRING: J.string_less}.get(self.return_type)
        if self.less is not None:
            self.add = self._add_ordered

    def add(self, acc, value):
        if value is None:
            return acc
        return value if acc is None or value < acc else acc

    def _add_ordered(self, acc, value):
        if value is None:
            return acc
        return value if acc is None or not self.less(acc, value) else acc

    def merge(self, a, b):
        return self.add(a, b)


class Max(Min):
    name = "MAX"

    def add(self, acc, value):
        if value is None:
            return acc
        return value if acc is None or value > acc else acc

    def _add_ordered(self, acc, value):
        if value is None:
            return acc
        return value if acc is None or self.less(acc, value) else acc


# Arrival order for *_BY_OFFSET: a process-wide counter gives every add a later position,
# so merged session parts compare by when their values arrived.
_arrival = itertools.count()


class LatestByOffset(Aggregate):
    """LATEST_BY_OFFSET(col[, ignoreNulls]); with a count N (…, N[, ignoreNulls]) the
    latest N values as an ARRAY (ksqlDB's latestN)."""
    name = "LATEST_BY_OFFSET"
    complex_state = True
    param_types = ((), (T.BOOLEAN,), (T.INTEGER,), (T.INTEGER, T.BOOLEAN))

    def __init__(self, arg_types, params):
        self.count = params[0] if params and not isinstance(params[0], bool) else None
        super().__init__(arg_types, params)
        self.ignore_nulls = params[-1] if params and isinstance(params[-1], bool) else True
        if self.count is not None:
            if self.count <= 0:
                raise KsqlError(f"{self.name.split('_')[0].lower()}N must be 1 or greater")
            self.init, self.add, self.merge, self.result = (
                tuple, self._add_n, self._merge_n, self._result_n)

    def returns(self, arg_types):
        return arg_types[0] if self.count is None else T.array_type(arg_types[0])

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

    # The N variants keep ((arrival, value), ...), oldest first.
    def _add_n(self, acc, value):
        if value is None and self.ignore_nulls:
            return acc
        return (acc + ((next(_arrival), value),))[-self.count:]

    def _merge_n(self, a, b):
        # As ksqlDB's latestN and earliestN merge: all values by arrival, the first N.
        return tuple(sorted(a + b))[:self.count]

    def _result_n(self, acc):
        return [value for _, value in acc]


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

    def _add_n(self, acc, value):
        if (value is None and self.ignore_nulls) or len(acc) >= self.count:
            return acc
        return acc + ((next(_arrival), value),)


def _hashable(value):
    """An ARRAY or STRUCT value as a set member."""
    if type(value) is list:
        return ("ARRAY",) + tuple(_hashable(v) for v in value)
    if type(value) is dict:
        return ("STRUCT",) + tuple((k, _hashable(v)) for k, v in value.items())
    return value


class CountDistinct(Aggregate):
    """COUNT_DISTINCT, counted exactly (ksqlDB estimates it with a HyperLogLog, documented
    as within about 1 %; both agree on small groups)."""
    name = "COUNT_DISTINCT"
    complex_state = True

    def returns(self, arg_types):
        _one_column(self, arg_types)
        return T.BIGINT

    def init(self):
        return frozenset()

    def add(self, acc, value):
        if value is None:
            return acc
        if type(value) in (list, dict):
            value = _hashable(value)
        return acc if value in acc else acc | {value}

    def merge(self, a, b):
        return a | b

    def result(self, acc):
        return len(acc)


for _cls in (Count, Sum, Avg, Min, Max, LatestByOffset, EarliestByOffset, CountDistinct):
    register_aggregate(_cls.name, _cls)


# --- scalar functions ---------------------------------------------------------------
# Each built-in lists ksqlDB's overloads (its UDF classes' @Udf methods) and names itself
# as ksqlDB's messages do ('substring', 'IFNULL', ...). The implementations are in
# java_semantics.py.

_S, _I, _L, _D, _DEC, _B = T.STRING, T.INTEGER, T.BIGINT, T.DOUBLE, T.DECIMAL, T.BOOLEAN


def _lacking(*params, variadic=False) -> Signature:
    return Signature(params, params[0], None, variadic)


register_scalar("UCASE", None, T.STRING, display="ucase",
                signatures=[Signature((_S,), _S, str.upper)])
register_scalar("LCASE", None, T.STRING, display="lcase",
                signatures=[Signature((_S,), _S, str.lower)])
register_scalar("TRIM", None, T.STRING, display="trim",
                signatures=[Signature((_S,), _S, J.trim)])
register_scalar("LEN", None, T.INTEGER, display="len",
                signatures=[Signature((_S,), _I, J.length), _lacking("BYTES")])
register_scalar("CONCAT", None, T.STRING, null_on_null=False, display="concat",
                signatures=[Signature((_S,), _S, J.concat, variadic=True),
                            _lacking("BYTES", variadic=True)])
register_scalar("SUBSTRING", None, T.STRING, display="substring",
                signatures=[Signature((_S, _I), _S, J.substring),
                            Signature((_S, _I, _I), _S, J.substring),
                            _lacking("BYTES", _I), _lacking("BYTES", _I, _I)])
register_scalar("REPLACE", None, T.STRING, display="replace",
                signatures=[Signature((_S, _S, _S), _S, str.replace)])
register_scalar("LPAD", None, T.STRING, display="LPad",
                signatures=[Signature((_S, _I, _S), _S, J.lpad), _lacking("BYTES", _I, "BYTES")])
register_scalar("RPAD", None, T.STRING, display="RPad",
                signatures=[Signature((_S, _I, _S), _S, J.rpad), _lacking("BYTES", _I, "BYTES")])
# INSTR's position and occurrence are Java ints: a null string or substring is 0, a null
# position or occurrence an error (null, logged).
register_scalar("INSTR", None, T.INTEGER, null_on_null=False, display="instr",
                signatures=[Signature((_S, _S), _I, J.instr),
                            Signature((_S, _S, _I), _I, J.instr),
                            Signature((_S, _S, _I, _I), _I, J.instr)])
register_scalar("ABS", None, T.INTEGER, display="Abs",
                signatures=[Signature((_I,), _I, J.abs_int), Signature((_L,), _L, J.abs_long),
                            Signature((_D,), _D, abs), Signature((_DEC,), _DEC, abs)])
register_scalar("ROUND", None, T.BIGINT, display="Round",
                signatures=[Signature((_L,), _L, int), Signature((_I,), _L, int),
                            Signature((_D,), _L, J.round_half_up),
                            Signature((_D, _I), _D, J.round_places),
                            Signature((_DEC,), _DEC, J.round_decimal),
                            Signature((_DEC, _I), _DEC, J.round_decimal)])
register_scalar("FLOOR", None, T.INTEGER, display="Floor",
                signatures=[Signature((_I,), _I, int), Signature((_L,), _L, int),
                            Signature((_D,), _D, J.floor_double),
                            Signature((_DEC,), _DEC, J.floor_double)])
register_scalar("CEIL", None, T.INTEGER, display="Ceil",
                signatures=[Signature((_I,), _I, int), Signature((_L,), _L, int),
                            Signature((_D,), _D, J.ceil_double),
                            Signature((_DEC,), _DEC, J.ceil_double)])
register_scalar("SIGN", None, T.INTEGER, display="sign",
                signatures=[Signature((t,), _I, J.sign) for t in (_I, _L, _D)])
register_scalar("SQRT", None, T.DOUBLE, display="sqrt",
                signatures=[Signature((t,), _D, J.sqrt) for t in (_I, _L, _D)])
register_scalar("EXP", None, T.DOUBLE, display="exp",
                signatures=[Signature((t,), _D, J.exp) for t in (_I, _L, _D)])
register_scalar("LN", None, T.DOUBLE, display="ln",
                signatures=[Signature((t,), _D, J.ln) for t in (_I, _L, _D)])


def _extremes(pick) -> list:
    """GREATEST / LEAST: (t, t...) -> t for each comparable type, ordered as Java does."""
    keys = {_D: J.double_key, _S: J.string_key, _I: None, _L: None, _DEC: None}
    return ([Signature((t, t), t, pick(key), variadic=True) for t, key in keys.items()]
            + [_lacking(t, t, variadic=True) for t in LACKING])


register_scalar("GREATEST", None, T.NULL, null_on_null=False, display="greatest",
                signatures=_extremes(J.greatest))
register_scalar("LEAST", None, T.NULL, null_on_null=False, display="least",
                signatures=_extremes(J.least))
# AS_VALUE(key column) copies a key column into the value (the projection shows it as a
# value column, not as the key ksqlDB allows once).
register_scalar("AS_VALUE", None, T.NULL, null_on_null=False, display="AS_VALUE",
                signatures=[Signature((GENERIC,), GENERIC, lambda v: v)])
register_scalar("IFNULL", None, T.NULL, null_on_null=False, display="IFNULL",
                signatures=[Signature((GENERIC, GENERIC), GENERIC, J.coalesce)])
register_scalar("COALESCE", None, T.NULL, null_on_null=False, display="COALESCE",
                signatures=[Signature((GENERIC, GENERIC), GENERIC, J.coalesce, variadic=True)])


register_scalar("TIMESTAMPTOSTRING", None, T.STRING, display="timestamptostring",
                signatures=[Signature((_L, _S), _S, timestamp_to_string),
                            Signature((_L, _S, _S), _S, timestamp_to_string)])


# --- table functions (ksqlDB's UDTFs) ---------------------------------------------------

def _array_argument(display: str, alternatives: tuple):
    """The element type of the one ARRAY argument, or ksqlDB's UdfIndex error listing the
    function's overloads."""
    def returns(arg_type: str) -> str:
        if arg_type.startswith("ARRAY<"):
            return T.array_element(arg_type)
        raise KsqlError(f"Function '{display}' does not accept parameters "
                        f"{args_text([arg_type])}.\nValid alternatives are:\n"
                        + "\n".join(f"{display}({alt})" for alt in alternatives))
    return returns


def _explode(values: list) -> list:
    return values


def _cube(values: list) -> list:
    """Every combination of the values kept or nulled, 2^n rows; a null value has only one
    choice, so its duplicates are left out (ksqlDB's Cube UDTF, in its order)."""
    if len(values) > 20:
        raise ValueError(f"cube_explode: too many columns ({len(values)}); max is 20")
    n = len(values)
    present = 0
    for i, v in enumerate(values):
        if v is not None:
            present |= 1 << (n - 1 - i)
    rows = []
    for mask in range(1 << n):
        if mask & present != mask:
            continue
        rows.append([values[i] if mask & (1 << (n - 1 - i)) else None for i in range(n)])
    return rows


register_table(TableFunction("EXPLODE", _explode,
                             _array_argument("explode", ("ARRAY<DECIMAL> input", "ARRAY<T> list")),
                             "explode"))
_cube_element = _array_argument("cube_explode", ("ARRAY<T> columns",))
register_table(TableFunction("CUBE_EXPLODE", _cube,
                             lambda t: T.array_type(_cube_element(t)), "cube_explode"))


def _split(string: str, delimiter: str) -> list:
    """SPLIT as ksqlDB's UDF: a literal delimiter (no regular expression), empty pieces
    kept; an empty delimiter splits into characters."""
    if delimiter == "":
        return list(string) or [""]
    return string.split(delimiter)


register_scalar("SPLIT", None, T.array_type(T.STRING), display="split",
                signatures=[Signature((T.STRING, T.STRING), T.array_type(T.STRING), _split)])
