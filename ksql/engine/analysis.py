"""The checks ksqlDB makes on a query before it plans one, in its order, with its messages.

ksqlDB's parser qualifies nothing and checks names (AstBuilder), its sanitizer rejects a
repeated GROUP BY expression, its Analyzer rejects reserved aliases and then unknown
columns clause by clause (WHERE, GROUP BY, HAVING, SELECT), and its AggregateAnalyzer
applies the GROUP BY rules (select, where, group by, having, then the summary rules).
The planner calls these in that order, so a query with several faults is reported by
the first one ksqlDB would report.
"""

from __future__ import annotations

from dataclasses import dataclass

from socksort.ksql.engine.catalog import Source
from socksort.ksql.sql import ast, functions
from socksort.ksql.sql.errors import KsqlError
from socksort.ksql.sql.expressions import WINDOW_BOUNDS, format_expr

PSEUDO_COLUMNS = ("ROWTIME", "ROWPARTITION", "ROWOFFSET")
SYSTEM_COLUMNS = PSEUDO_COLUMNS + WINDOW_BOUNDS
# Pseudo columns of ksqlDB the engine does not have (a query naming one is "not supported").
LACKING_PSEUDO_COLUMNS = ("ROWPARTITION", "ROWOFFSET")


def _pos(node) -> tuple:
    return getattr(node, "pos", None) or (None, None)


def walk(e):
    """Every node of an expression tree, parents first, left to right."""
    yield e
    if isinstance(e, ast.BinaryOp):
        yield from walk(e.left)
        yield from walk(e.right)
    elif isinstance(e, (ast.UnaryOp, ast.IsNull)):
        yield from walk(e.operand)
    elif isinstance(e, ast.Case):
        for c, r in e.whens:
            yield from walk(c)
            yield from walk(r)
        if e.default is not None:
            yield from walk(e.default)
    elif isinstance(e, ast.FunctionCall):
        for a in e.args:
            yield from walk(a)
    elif isinstance(e, ast.Dereference):
        yield from walk(e.base)
    elif isinstance(e, ast.Subscript):
        yield from walk(e.base)
        yield from walk(e.index)


def _children(e) -> list:
    if isinstance(e, ast.BinaryOp):
        return [e.left, e.right]
    if isinstance(e, (ast.UnaryOp, ast.IsNull)):
        return [e.operand]
    if isinstance(e, ast.Case):
        return [x for w in e.whens for x in w] + ([e.default] if e.default is not None else [])
    if isinstance(e, ast.FunctionCall):
        return list(e.args)
    if isinstance(e, ast.Dereference):
        return [e.base]
    if isinstance(e, ast.Subscript):
        return [e.base, e.index]
    return []


def is_aggregate_call(e) -> bool:
    return isinstance(e, ast.FunctionCall) and functions.is_aggregate(e.name)


# --- the sanitizer ----------------------------------------------------------------------

def check_group_by_unique(group_by: list, alias: str) -> None:
    """ksqlDB qualifies every column with the source's alias, then refuses a GROUP BY that
    names the same expression twice (``Duplicate GROUP BY expression: TEST.DATA``)."""
    seen = []
    for g in group_by:
        if g in seen:
            raise KsqlError(f"Duplicate GROUP BY expression: {format_expr(_qualified(g, alias))}")
        seen.append(g)


def _qualified(e, alias: str):
    if isinstance(e, ast.ColumnRef):
        return ast.ColumnRef(e.name, alias, e.pos)
    if isinstance(e, ast.BinaryOp):
        return ast.BinaryOp(e.op, _qualified(e.left, alias), _qualified(e.right, alias), e.pos)
    if isinstance(e, ast.UnaryOp):
        return ast.UnaryOp(e.op, _qualified(e.operand, alias), e.pos)
    if isinstance(e, ast.IsNull):
        return ast.IsNull(_qualified(e.operand, alias), e.negated, e.pos)
    if isinstance(e, ast.Case):
        return ast.Case(tuple((_qualified(c, alias), _qualified(r, alias)) for c, r in e.whens),
                        None if e.default is None else _qualified(e.default, alias), e.pos)
    if isinstance(e, ast.FunctionCall):
        return ast.FunctionCall(e.name, tuple(_qualified(a, alias) for a in e.args), e.star,
                                e.pos)
    if isinstance(e, ast.Dereference):
        return ast.Dereference(_qualified(e.base, alias), e.field, e.pos)
    if isinstance(e, ast.Subscript):
        return ast.Subscript(_qualified(e.base, alias), _qualified(e.index, alias), e.pos)
    return e


# --- the Analyzer -------------------------------------------------------------------------

def check_reserved_aliases(items: list, names: list, persistent: bool) -> None:
    """A projection may not be named like a system column (ROWTIME, WINDOWSTART, ...): an
    alias chosen so is refused outright, a column shown under its own name only in a
    persistent query."""
    for (expr, alias), name in zip(items, names):
        if name.upper() not in SYSTEM_COLUMNS:
            continue
        same_text = format_expr(expr).rsplit(".", 1)[-1].upper() == name.upper()
        if not same_text:
            raise KsqlError(f"`{name.upper()}` is a reserved column name. You cannot use it as "
                            "an alias for a column.", *_pos(expr))
        if persistent:
            raise KsqlError(f"Reserved column name in select: `{name.upper()}`. Please remove "
                            "or alias the column.", *_pos(expr))


def known_columns(source: Source, windowed_query: bool) -> set:
    """The names a query over ``source`` may use: its columns, the pseudo columns, and
    the window bounds when the source or the query is windowed."""
    names = {c.name for c in source.columns} | set(PSEUDO_COLUMNS)
    if source.windowed or windowed_query:
        names |= set(WINDOW_BOUNDS)
    return names


def check_columns_resolve(select: ast.Select, items: list, known: set) -> None:
    """``WHERE column 'X' cannot be resolved.`` and the like, clause by clause in ksqlDB's
    order; a column is named as written (``I.BOB``)."""
    clauses = ([("WHERE", select.where)] if select.where is not None else [])
    clauses += [("GROUP BY", g) for g in select.group_by]
    clauses += [("HAVING", select.having)] if select.having is not None else []
    clauses += [("SELECT", expr) for expr, _ in items]
    for clause, expr in clauses:
        for node in walk(expr):
            if isinstance(node, ast.ColumnRef) and node.name not in known:
                raise KsqlError(f"{clause} column '{format_expr(node)}' cannot be resolved.",
                                *_pos(node))
            if isinstance(node, ast.ColumnRef) and node.name in LACKING_PSEUDO_COLUMNS:
                raise KsqlError(f"The pseudo column {node.name} is not supported by the "
                                "embedded engine", *_pos(node))


def check_functions_known(exprs: list) -> None:
    """Every function called exists (ksqlDB's message otherwise) and the engine has it."""
    for expr in exprs:
        for node in walk(expr):
            if isinstance(node, ast.FunctionCall):
                functions.check_known(node.name, node.pos)


def is_table_function_call(e) -> bool:
    return isinstance(e, ast.FunctionCall) and functions.is_table_function(e.name)


def check_table_functions(items: list, grouped: bool) -> None:
    """ksqlDB's Analyzer on each SELECT item in turn: an aggregate in this or an earlier item
    gives the query a (dummy) GROUP BY before its table functions are looked at."""
    for expr in items:
        grouped = grouped or any(is_aggregate_call(n) for n in walk(expr))
        _visit_table_functions(expr, grouped, None, {"case": None})


def _visit_table_functions(e, grouped: bool, outer, seen: dict) -> None:
    # As ksqlDB's TableFunctionVisitor, one per SELECT item: once it has entered a CASE it
    # remembers it for the rest of the item, so a table function after a CASE is refused too.
    if isinstance(e, ast.Case) and seen["case"] is None:
        seen["case"] = e
    if is_table_function_call(e):
        if outer is not None:
            raise KsqlError(f"Table functions cannot be nested: {outer.name}({e.name}())",
                            *_pos(e))
        if grouped:
            raise KsqlError("Table functions cannot be used with aggregations.", *_pos(e))
        if seen["case"] is not None:
            raise KsqlError(f"Table functions cannot be used in CASE: {format_expr(seen['case'])}",
                            *_pos(e))
        outer = e
    for child in _children(e):
        _visit_table_functions(child, grouped, outer, seen)


def check_table_source(source: Source, items: list) -> None:
    if source.kind == "TABLE" and any(is_table_function_call(n) for e in items for n in walk(e)):
        raise KsqlError("Table source is not supported with table functions")


# --- the AggregateAnalyzer ------------------------------------------------------------------

@dataclass
class _Visit:
    """What one walk of an expression found outside the GROUP BY expressions."""
    columns: list           # column references outside aggregates and GROUP BY expressions
    window_bounds: list     # window-bound references where ksqlDB refuses them


def _visit(e, group_by: set, windowed: bool, in_agg: str | None = None,
           in_group: bool = False, out: _Visit | None = None) -> _Visit:
    out = out or _Visit([], [])
    if e in group_by:
        in_group = True
    if is_aggregate_call(e):
        if in_agg is not None:
            raise KsqlError(f"Aggregate functions can not be nested: {in_agg}({e.name}())",
                            *_pos(e))
        in_agg = e.name
    if isinstance(e, ast.ColumnRef):
        bound = e.name in WINDOW_BOUNDS
        if not in_group or in_agg is not None or bound:
            if bound and windowed:
                out.window_bounds.append((e, in_agg))
            elif in_agg is None:
                out.columns.append(e)
    for child in _children(e):
        _visit(child, group_by, windowed, in_agg, in_group, out)
    return out


def _window_bound_error(ref) -> KsqlError:
    return KsqlError(f"Window bounds column {ref.name} can only be used in the SELECT clause of "
                     "windowed aggregations and can not be passed to aggregate functions.\n"
                     "See https://github.com/confluentinc/ksql/issues/4397", *_pos(ref))


def check_aggregation(items: list, where, group_by: list, having, windowed: bool,
                      covered) -> None:
    """ksqlDB's GROUP BY rules, in its order. ``covered(expr)`` says whether a projection
    expression only uses GROUP BY expressions, aggregates and literals."""
    group = set(group_by)
    aggregates = 0
    bad_selects = []
    for expr, _ in items:
        found = _visit(expr, group, windowed)
        aggregates += sum(is_aggregate_call(n) for n in walk(expr))
        for ref, agg in found.window_bounds:
            if agg is not None:
                raise _window_bound_error(ref)
        if not covered(expr):
            bad_selects.append(format_expr(expr))
    if where is not None:
        for ref, _ in _visit(where, group, windowed).window_bounds:
            raise _window_bound_error(ref)
    for g in group_by:
        for node in walk(g):
            if is_aggregate_call(node):
                raise KsqlError(f"GROUP BY does not support aggregate functions: {node.name} is "
                                "an aggregate function.", *_pos(node))
        for ref, _ in _visit(g, set(), windowed).window_bounds:
            raise _window_bound_error(ref)
    bad_having = []
    if having is not None:
        found = _visit(having, group, windowed)
        if found.window_bounds:
            raise _window_bound_error(found.window_bounds[0][0])
        aggregates += sum(is_aggregate_call(n) for n in walk(having))
        bad_having = [format_expr(ref) for ref in found.columns if ref not in group]
    if not aggregates:
        raise KsqlError("GROUP BY requires aggregate functions in either the SELECT or HAVING "
                        "clause.")
    if bad_selects:
        raise KsqlError("Non-aggregate SELECT expression(s) not part of GROUP BY: "
                        + ", ".join(bad_selects) + "\nEither add the column(s) to the GROUP BY "
                        "or remove them from the SELECT.")
    if bad_having:
        raise KsqlError("Non-aggregate HAVING expression not part of GROUP BY: "
                        + ", ".join(bad_having) + "\nConsider switching the HAVING clause to a "
                        "WHERE clause before the GROUP BY.")


def _numbered(name: str) -> tuple[str, int]:
    """("C", 2) for "C_2", ("C", 0) for "C": how ksqlDB's alias generator reads a name."""
    stem, sep, number = name.rpartition("_")
    if sep and number.isdigit() and number.isascii():
        return stem, int(number)
    return name, 0


class _AliasGenerator:
    """Names ``stem``, ``stem_1``, ... (``KSQL_COL_0``, ``KSQL_COL_1``, ... for generated
    ones), skipping numbers the sources' columns already use."""

    def __init__(self, stem: str, used: set):
        self.stem, self.used, self.next = stem, used, 0

    def name(self) -> str:
        while self.next in self.used:
            self.next += 1
        n, self.next = self.next, self.next + 1
        return self.stem if n == 0 and self.stem != "KSQL_COL" else f"{self.stem}_{n}"


def output_names(items: list, source_columns: list) -> list:
    """The names of a projection's columns, as ksqlDB's sanitizer gives them: the alias, a
    column's own name, a struct field's name (``a->b->c`` is C, then C_1, ...), else a
    generated KSQL_COL_<n>; generated names skip the numbers of the sources' columns
    (a source with KSQL_COL_0 makes the first generated name KSQL_COL_1)."""
    used: dict[str, set] = {}
    for name in source_columns:
        stem, number = _numbered(name)
        used.setdefault(stem, set()).add(number)
    generators: dict[str, _AliasGenerator] = {}

    def generator(stem: str) -> _AliasGenerator:
        if stem not in generators:
            generators[stem] = _AliasGenerator(stem, used.get(stem, set()))
        return generators[stem]
    names = []
    for expr, alias in items:
        if alias is not None:
            names.append(alias)
        elif isinstance(expr, ast.ColumnRef):
            names.append(expr.name)
        elif isinstance(expr, ast.Dereference):
            names.append(generator(_numbered(expr.field)[0]).name())
        else:
            names.append(generator("KSQL_COL").name())
    return names


def grammatical_and(parts: list) -> str:
    """"A", "A and B", "A, B and C", as ksqlDB's messages list things."""
    parts = [str(p) for p in parts]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def source_text(name: str) -> str:
    """A source (or column) name as ksqlDB's SourceName/ColumnName.toString print it."""
    return f"`{name}`"
