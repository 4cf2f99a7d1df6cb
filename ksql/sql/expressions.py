"""Compile expression trees into Python closures ``row -> value``, type-checked once.

A row is a list; a :class:`Scope` says which slot (and type) each column or
precomputed sub-expression lives in. Nothing is interpreted per record: the closures
capture their operands' closures directly.
"""

from __future__ import annotations

import decimal
import math
import operator
from dataclasses import dataclass, field
from typing import Callable

from socksort.ksql.sql import ast, functions
from socksort.ksql.sql import java_semantics as J
from socksort.ksql.sql import types as T
from socksort.ksql.sql.errors import KsqlError, unsupported
from socksort.ksql.sql.lexer import quoted

Fn = Callable[[list], object]

_OP_NAMES = {"=": "EQUAL", "<>": "NOT_EQUAL", "<": "LESS_THAN", "<=": "LESS_THAN_OR_EQUAL",
             ">": "GREATER_THAN", ">=": "GREATER_THAN_OR_EQUAL"}
_COMPARE = {"=": operator.eq, "<>": operator.ne, "<": operator.lt, "<=": operator.le,
            ">": operator.gt, ">=": operator.ge}
WINDOW_BOUNDS = ("WINDOWSTART", "WINDOWEND")


def _unknown_column(ref: ast.ColumnRef) -> KsqlError:
    return KsqlError(f"Unknown column {ref.name}.", *(ref.pos or (None, None)))


@dataclass(eq=False)
class Scope:
    """Where compiled expressions find their inputs.

    ``columns`` maps a column name to (slot, type). ``slots`` maps whole sub-expressions
    (GROUP BY expressions, aggregate calls) to (slot, type); they win over columns.
    ``unknown`` builds the error for a column that does not resolve.

    Run-time errors (a function raising, integer division by zero) make the failing
    expression null, as in ksqlDB, and are reported to ``on_error(message)`` so the query
    can write them to the processing log. ``context`` names what is being compiled
    ("Error computing expression X for column Y with index 0"); the planner sets it before
    compiling each clause.
    """

    columns: dict
    slots: dict | None = None
    qualifiers: set | None = None
    unknown: Callable[[ast.ColumnRef], KsqlError] | None = None
    on_column: Callable[[ast.ColumnRef], None] | None = None
    allow_aggregates: bool = False
    on_error: Callable[[str], None] | None = None
    context: str | None = field(default=None, init=False)

    def __post_init__(self):
        self.slots = self.slots or {}
        self.qualifiers = self.qualifiers or set()
        self.unknown = self.unknown or _unknown_column

    def resolve(self, ref: ast.ColumnRef):
        if ref.qualifier is not None and ref.qualifier not in self.qualifiers:
            raise KsqlError(f"'{ref.qualifier}' is not a valid stream/table name or alias.",
                            *(ref.pos or (None, None)))
        if self.on_column:
            self.on_column(ref)
        found = self.columns.get(ref.name)
        if found is None:
            raise self.unknown(ref)
        return found


def format_expr(e: ast.Expr) -> str:
    """Render an expression the way ksqlDB prints it in error messages and column names."""
    if isinstance(e, ast.Literal):
        if e.type_name == "STRING":
            return "'" + e.value.replace("'", "''") + "'"
        if e.type_name == "NULL":
            return "NULL"
        if e.type_name == "BOOLEAN":
            return "true" if e.value else "false"
        if e.type_name == "DOUBLE":
            return T.java_double_str(e.value)
        return str(e.value)
    if isinstance(e, ast.ColumnRef):
        name = quoted(e.name)
        return name if e.qualifier is None else f"{quoted(e.qualifier)}.{name}"
    if isinstance(e, ast.BinaryOp):
        if e.op in ("AND", "OR"):
            return f"({format_expr(e.left)} {e.op} {format_expr(e.right)})"
        if e.op in _OP_NAMES:
            return f"({format_expr(e.left)} {e.op} {format_expr(e.right)})"
        return f"({format_expr(e.left)} {e.op} {format_expr(e.right)})"
    if isinstance(e, ast.UnaryOp):
        return f"(NOT {format_expr(e.operand)})" if e.op == "NOT" else f"-{format_expr(e.operand)}"
    if isinstance(e, ast.IsNull):
        return f"({format_expr(e.operand)} IS {'NOT ' if e.negated else ''}NULL)"
    if isinstance(e, ast.Case):
        parts = " ".join(f"WHEN {format_expr(c)} THEN {format_expr(r)}" for c, r in e.whens)
        default = f" ELSE {format_expr(e.default)}" if e.default is not None else ""
        return f"(CASE {parts}{default} END)"
    if isinstance(e, ast.Dereference):
        return f"{format_expr(e.base)}->{_field_text(e.field)}"
    if isinstance(e, ast.Subscript):
        return f"{format_expr(e.base)}[{format_expr(e.index)}]"
    if isinstance(e, ast.FunctionCall):
        if e.star:
            return f"{e.name}(*)"
        return f"{e.name}({', '.join(format_expr(a) for a in e.args)})"
    return repr(e)


def _field_text(name: str) -> str:
    # ksqlDB back-quotes a field name that would not read back as written unquoted.
    return quoted(name)


def compile_expr(e: ast.Expr, scope: Scope) -> tuple[Fn, str]:
    """Return (closure, SQL type) for ``e``."""
    slot = scope.slots.get(e)
    if slot is not None:
        return operator.itemgetter(slot[0]), slot[1]
    if isinstance(e, ast.Literal):
        value = e.value
        return (lambda row: value), e.type_name
    if isinstance(e, ast.ColumnRef):
        index, type_ = scope.resolve(e)
        return operator.itemgetter(index), type_
    if isinstance(e, ast.BinaryOp):
        if e.op in ("AND", "OR"):
            return _logical(e, scope)
        if e.op in _COMPARE:
            return _comparison(e, scope)
        return _arithmetic(e, scope)
    if isinstance(e, ast.UnaryOp):
        return _unary(e, scope)
    if isinstance(e, ast.IsNull):
        inner, _ = compile_expr(e.operand, scope)
        if e.negated:
            return (lambda row: inner(row) is not None), T.BOOLEAN
        return (lambda row: inner(row) is None), T.BOOLEAN
    if isinstance(e, ast.Case):
        return _case(e, scope)
    if isinstance(e, ast.FunctionCall):
        return _call(e, scope)
    if isinstance(e, ast.Dereference):
        return _dereference(e, scope)
    if isinstance(e, ast.Subscript):
        return _subscript(e, scope)
    raise KsqlError(f"Unsupported expression: {format_expr(e)}")


def _pos(e) -> tuple:
    return getattr(e, "pos", None) or (None, None)


def _failure(e: ast.Expr, scope: Scope):
    """``failed(exc) -> None``: what a compiled closure returns when evaluating ``e`` raises.
    Built at compile time so the error path costs nothing while nothing fails."""
    report = scope.on_error
    if report is None:
        return lambda exc: None
    context = scope.context or f"Error computing expression {format_expr(e)}"

    def failed(exc):
        report(f"{context}: {exc}")
        return None
    return failed


def _subscript(e: ast.Subscript, scope: Scope):
    """``arr[i]`` as ksqlDB's ArrayAccess: 1 is the first element, -1 the last; 0, an index
    out of range or a null array or index give null."""
    base, t = compile_expr(e.base, scope)
    index, index_type = compile_expr(e.index, scope)
    if not t.startswith("ARRAY<"):
        raise unsupported(f"subscripts on {T.display(t)}", _pos(e))
    if index_type not in (T.INTEGER, T.NULL):
        raise KsqlError(f"Array index must be an INTEGER, got: {T.display(index_type)}",
                        *_pos(e.index))

    def f(row):
        values, i = base(row), index(row)
        if values is None or i is None:
            return None
        n = len(values)
        at = i - 1 if i > 0 else n + i
        return values[at] if 0 <= at < n and i != 0 else None
    return f, T.array_element(t)


def _dereference(e: ast.Dereference, scope: Scope):
    """``a->b->c``: the whole field path is resolved and type-checked here, once; the
    closure only walks the dicts (a null struct anywhere on the path gives null)."""
    path = []
    node = e
    while isinstance(node, ast.Dereference) and scope.slots.get(node) is None:
        path.append(node)
        node = node.base
    path.reverse()
    base, t = compile_expr(node, scope)
    names = []
    for step in path:
        if not T.is_struct(t):
            raise KsqlError(f"Expected STRUCT type, got: {T.display(t)}", *_pos(step))
        field_type = T.struct_field(t, step.field)
        if field_type is None:
            raise KsqlError(f"Could not find field '{step.field}' in '{format_expr(step.base)}'.",
                            *_pos(step))
        names.append(step.field)
        t = field_type
    slot = _slot_of(node, scope)
    if len(names) == 1:
        name = names[0]
        if slot is not None:
            def f(row):
                v = row[slot]
                return None if v is None else v.get(name)
        else:
            def f(row):
                v = base(row)
                return None if v is None else v.get(name)
    elif len(names) == 2:
        n0, n1 = names

        def f(row):
            v = base(row)
            if v is None:
                return None
            v = v.get(n0)
            return None if v is None else v.get(n1)
    else:
        def f(row):
            v = base(row)
            for name in names:
                if v is None:
                    return None
                v = v.get(name)
            return v
    return f, t


def _logical(e: ast.BinaryOp, scope: Scope):
    lf, lt = compile_expr(e.left, scope)
    rf, rt = compile_expr(e.right, scope)
    for side, t in ((e.left, lt), (e.right, rt)):
        if t not in (T.BOOLEAN, T.NULL):
            raise KsqlError(f"Logical binary expects two boolean values.  Actual "
                            f"{format_expr(side)} ({T.display(t)})", *_pos(e))
    if e.op == "AND":
        def f(row):
            a = lf(row)
            if a is False:
                return False
            b = rf(row)
            if b is False:
                return False
            return None if a is None or b is None else True
    else:
        def f(row):
            a = lf(row)
            if a is True:
                return True
            b = rf(row)
            if b is True:
                return True
            return None if a is None or b is None else False
    return f, T.BOOLEAN


def _comparison(e: ast.BinaryOp, scope: Scope):
    lf, lt = compile_expr(e.left, scope)
    rf, rt = compile_expr(e.right, scope)
    if lt == T.NULL or rt == T.NULL:
        raise KsqlError(f"Comparison with NULL not supported: {T.base_type(lt)} {e.op} "
                        f"{T.base_type(rt)}\nUse 'IS NULL' or 'IS NOT NULL' instead.", *_pos(e))
    if not T.comparable(lt, rt, e.op):
        raise KsqlError(f"Cannot compare {format_expr(e.left)} ({T.display(lt)}) to "
                        f"{format_expr(e.right)} ({T.display(rt)}) with {_OP_NAMES[e.op]}.",
                        *_pos(e))
    cmp = _comparator(e.op, lt, rt)
    slot = _slot_of(e.left, scope)
    if slot is not None and isinstance(e.right, ast.Literal):
        # The common `column <op> literal`: read the slot directly, one call instead of three.
        constant = e.right.value

        def f(row):
            a = row[slot]
            return a is not None and cmp(a, constant)
        return f, T.BOOLEAN

    is_constant, constant = _constant(e.right, scope)
    if is_constant:
        def f(row):
            a = lf(row)
            return a is not None and cmp(a, constant)
        return f, T.BOOLEAN

    def f(row):
        a = lf(row)
        if a is None:
            return False
        b = rf(row)
        if b is None:
            return False
        return cmp(a, b)
    return f, T.BOOLEAN


def _comparator(op: str, lt: str, rt: str):
    """The comparison ksqlDB compiles for these operand types (see java_semantics)."""
    if T.is_complex(lt):
        equals = J.equals_for(lt, rt)
        return equals if op == "=" else (lambda a, b: not equals(a, b))
    if lt == T.STRING and op not in ("=", "<>"):
        return J.string_ordering(op)
    compare = J.not_equal_number if op == "<>" and T.DOUBLE in (lt, rt) else _COMPARE[op]
    if {lt, rt} == {T.BIGINT, T.DOUBLE}:
        # Java compares a long with a double as doubles (2^53 + 1 equals 2.0^53).
        return lambda a, b: compare(float(a), float(b))
    return compare


def _constant(e: ast.Expr, scope: Scope) -> tuple[bool, object]:
    """(True, value) when ``e`` always evaluates to the non-null ``value``: closures then
    use the value instead of calling the literal's closure for every row."""
    if isinstance(e, ast.Literal) and e.value is not None and scope.slots.get(e) is None:
        return True, e.value
    return False, None


def _slot_of(e: ast.Expr, scope: Scope) -> int | None:
    """The row slot a plain column (or precomputed expression) reads, else None."""
    found = scope.slots.get(e)
    if found is not None:
        return found[0]
    if isinstance(e, ast.ColumnRef):
        return scope.resolve(e)[0]
    return None


def _overflowing(op, bits: int):
    """Integer arithmetic that wraps around like Java's int/long (and keeps a null result)."""
    half, full = 1 << (bits - 1), 1 << bits

    def wrapped(a, b):
        v = op(a, b)
        if v is None or -half <= v < half:
            return v
        return (v + half) % full - half
    return wrapped


def _int_div(a, b):
    if b == 0:
        raise ZeroDivisionError("/ by zero")     # Java's message; the caller logs it
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _int_mod(a, b):
    if b == 0:
        raise ZeroDivisionError("/ by zero")
    r = abs(a) % abs(b)
    return r if a >= 0 else -r


def _float_div(a, b):
    if b == 0:
        if a == 0 or a != a:
            return float("nan")
        return float("inf") if (a > 0) == (str(float(b))[0] != "-") else float("-inf")
    return a / b


def _float_mod(a, b):
    if b == 0:
        return float("nan")
    return math.fmod(a, b)


def _exact(op):
    """DECIMAL + - * as ksqlDB does them: exactly in decimal (0.1 + 0.2 is 0.3), not in
    binary floating point; the result is held as the nearest float, which prints the same."""
    def exact(a, b):
        return float(op(decimal.Decimal(repr(a)), decimal.Decimal(repr(b))))
    return exact


def _guarded(op, failed):
    """Integer / and % throw on a zero divisor in Java; ksqlDB logs that and yields null."""
    def guarded(a, b):
        try:
            return op(a, b)
        except ZeroDivisionError as exc:
            return failed(exc)
    return guarded


def _arithmetic(e: ast.BinaryOp, scope: Scope):
    lf, lt = compile_expr(e.left, scope)
    rf, rt = compile_expr(e.right, scope)
    if e.op == "+" and lt == T.STRING and rt == T.STRING:
        def concat(row):
            a = lf(row)
            if a is None:
                return None
            b = rf(row)
            return None if b is None else a + b
        return concat, T.STRING
    if lt == T.NULL or rt == T.NULL:
        # ksqlDB types a NULL literal as no type at all, which no arithmetic takes.
        shown = ["null" if t == T.NULL else T.display_plain(t) for t in (lt, rt)]
        raise KsqlError(f"Error processing expression: {format_expr(e)}. Arithmetic on types "
                        f"{shown[0]} and {shown[1]} are not supported.", *_pos(e))
    lt2, rt2 = lt, rt
    if not (T.is_numeric(lt2) and T.is_numeric(rt2)):
        raise KsqlError(f"Error processing expression: {format_expr(e)}. Unsupported arithmetic "
                        f"types. {T.base_type(lt)} {T.base_type(rt)}", *_pos(e))
    result = T.wider(lt2, rt2)
    integral = result in (T.INTEGER, T.BIGINT)
    if e.op == "+":
        op = operator.add
    elif e.op == "-":
        op = operator.sub
    elif e.op == "*":
        op = operator.mul
    elif e.op == "/":
        op = _int_div if integral else _float_div
    else:
        op = _int_mod if integral else _float_mod
    if result == T.DECIMAL and e.op in "+-*":
        op = _exact(op)
    if integral:
        op = _overflowing(op, 32 if result == T.INTEGER else 64)
        if e.op in "/%":
            op = _guarded(op, _failure(e, scope))
    is_constant, constant = _constant(e.right, scope)
    if is_constant:
        def f(row):
            a = lf(row)
            if a is None:
                return None
            return op(a, constant)
        return f, result

    def f(row):
        a = lf(row)
        if a is None:
            return None
        b = rf(row)
        if b is None:
            return None
        return op(a, b)
    return f, result


def _unary(e: ast.UnaryOp, scope: Scope):
    inner, t = compile_expr(e.operand, scope)
    if e.op == "NOT":
        if t not in (T.BOOLEAN, T.NULL):
            raise KsqlError(f"NOT expects a boolean value.  Actual {format_expr(e.operand)} "
                            f"({T.display(t)})", *_pos(e))
        return (lambda row: None if (v := inner(row)) is None else not v), T.BOOLEAN
    if not T.is_numeric(t):
        raise KsqlError(f"Unary minus expects a numeric value.  Actual "
                        f"{format_expr(e.operand)} ({T.display(t)})", *_pos(e))
    if t in (T.INTEGER, T.BIGINT):
        # Java's int/long negation wraps: -(-2147483648) is -2147483648.
        smallest = T.INT_MIN if t == T.INTEGER else T.LONG_MIN
        return (lambda row: None if (v := inner(row)) is None else (v if v == smallest else -v)), t
    return (lambda row: None if (v := inner(row)) is None else -v), t


def _case(e: ast.Case, scope: Scope):
    """Searched CASE; as in ksqlDB's type checks, every THEN and the ELSE have one type
    (nulls aside): no widening between them."""
    conds, results = [], []
    then_type = None
    for cond, res in e.whens:
        cf, ct = compile_expr(cond, scope)
        if ct != T.BOOLEAN:
            raise KsqlError(f"WHEN operand type should be boolean.\nType for "
                            f"'{format_expr(cond)}' is {T.display_plain(ct)}", *_pos(cond))
        rf, rt = compile_expr(res, scope)
        conds.append(cf)
        results.append(rf)
        if rt == T.NULL:
            continue
        if then_type is not None and rt != then_type:
            raise KsqlError(f"Invalid Case expression. Type for all 'THEN' clauses should be the "
                            f"same.\nTHEN expression 'WHEN {format_expr(cond)} THEN "
                            f"{format_expr(res)}' has type: {T.display_plain(rt)}.\nPrevious "
                            f"THEN expression(s) type: {T.display_plain(then_type)}.", *_pos(res))
        then_type = rt
    df, default_type = (None, T.NULL) if e.default is None else compile_expr(e.default, scope)
    if then_type is not None and default_type != T.NULL and default_type != then_type:
        raise KsqlError(f"Invalid Case expression. Type for the default clause should be the same "
                        f"as for 'THEN' clauses.\nTHEN type: {T.display_plain(then_type)}.\n"
                        f"DEFAULT type: {T.display_plain(default_type)}.", *_pos(e.default))
    result = then_type or default_type
    if result == T.NULL:
        raise KsqlError("Invalid Case expression. All case branches have NULL type", *_pos(e))
    pairs = tuple(zip(conds, results))

    def f(row):
        for cond, res in pairs:
            if cond(row) is True:
                return res(row)
        return df(row) if df is not None else None
    return f, result


def _widened(fn: Fn, arg_type: str, param_type: str) -> Fn:
    if arg_type in (T.INTEGER, T.BIGINT) and param_type in (T.DOUBLE, T.DECIMAL):
        def widened(row):
            v = fn(row)
            return None if v is None else float(v)
        return widened
    return fn


def _call(e: ast.FunctionCall, scope: Scope):
    # Arguments first: an unknown column inside is the error ksqlDB reports.
    compiled = [compile_expr(a, scope) for a in e.args]
    if functions.is_aggregate(e.name):
        raise KsqlError(f"Aggregate function {e.name} is not allowed here", *_pos(e))
    if functions.is_table_function(e.name):
        # A table function outside the SELECT list reaches ksqlDB's code generator, which
        # looks it up among the scalar functions only.
        exc = KsqlError(f"Can't find any functions with the name '{e.name}'", *_pos(e))
        exc.code_generation = True      # not a type error: no "Error in WHERE expression"
        raise exc
    functions.check_known(e.name, e.pos)
    fn = functions.scalar(e.name)
    arg_types = [t for _, t in compiled]       # f(*) passes no arguments, as in ksqlDB
    resolved = functions.resolve(fn, arg_types, _pos(e))
    result = resolved.returns
    # An integer passed where the overload takes a DOUBLE (or DECIMAL) is widened first,
    # as ksqlDB's implicit cast does: GREATEST(1, 2.5e0) is the double 2.5, and 3.0 not 3.
    args = [_widened(f, t, p) for (f, t), p in zip(compiled, resolved.params)]
    impl = resolved.impl
    # ksqlDB turns an exception inside a function into a null result and a processing-log
    # entry.
    errors = (ValueError, TypeError, ArithmeticError, LookupError)
    failed = _failure(e, scope)
    if len(args) == 1:
        a0 = args[0]
        if fn.null_on_null:
            def f(row):
                v = a0(row)
                if v is None:
                    return None
                try:
                    return impl(v)
                except errors as exc:
                    return failed(exc)
        else:
            def f(row):
                try:
                    return impl(a0(row))
                except errors as exc:
                    return failed(exc)
    elif fn.null_on_null and len(args) in (2, 3) and all(
            _constant(a, scope)[0] for a in e.args[1:]):
        # FUNC(expr, literal, ...): only the first argument changes from row to row.
        a0 = args[0]
        c1, c2 = ([_widened(lambda row, c=_constant(a, scope)[1]: c, t, p)(None)
                   for a, t, p in zip(e.args[1:], arg_types[1:], resolved.params[1:])]
                  + [None])[:2]
        if len(args) == 2:
            def f(row):
                v = a0(row)
                if v is None:
                    return None
                try:
                    return impl(v, c1)
                except errors as exc:
                    return failed(exc)
        else:
            def f(row):
                v = a0(row)
                if v is None:
                    return None
                try:
                    return impl(v, c1, c2)
                except errors as exc:
                    return failed(exc)
    elif len(args) == 2:
        a0, a1 = args
        if fn.null_on_null:
            def f(row):
                v0 = a0(row)
                v1 = a1(row)
                if v0 is None or v1 is None:
                    return None
                try:
                    return impl(v0, v1)
                except errors as exc:
                    return failed(exc)
        else:
            def f(row):
                v0 = a0(row)
                v1 = a1(row)
                try:
                    return impl(v0, v1)
                except errors as exc:
                    return failed(exc)
    elif len(args) == 3 and fn.null_on_null:
        a0, a1, a2 = args

        def f(row):
            v0 = a0(row)
            v1 = a1(row)
            v2 = a2(row)
            if v0 is None or v1 is None or v2 is None:
                return None
            try:
                return impl(v0, v1, v2)
            except errors as exc:
                return failed(exc)
    else:
        null_on_null = fn.null_on_null

        def f(row):
            vals = [a(row) for a in args]
            if null_on_null and None in vals:
                return None
            try:
                return impl(*vals)
            except errors as exc:
                return failed(exc)
    return f, result
