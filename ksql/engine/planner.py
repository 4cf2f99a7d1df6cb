"""Analyse a SELECT against the catalog, check it as ksqlDB does, and build its operator.

The checks and their messages follow ksqlDB (the conformance cases' expected errors);
the operator gets compiled closures and never sees the AST.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
from dataclasses import dataclass, field
from typing import Callable

from socksort.ksql.engine import analysis, ddl, formats, operators
from socksort.ksql.engine import windows as W
from socksort.ksql.engine.catalog import Column, Source
from socksort.ksql.sql import ast, functions, timestamps
from socksort.ksql.sql import types as T
from socksort.ksql.sql.errors import KsqlError, unsupported
from socksort.ksql.sql.expressions import Scope, compile_expr, format_expr

RESERVED = ("ROWTIME", "WINDOWSTART", "WINDOWEND", "ROWPARTITION", "ROWOFFSET")
_KEY_ONCE_ADVICE = ("Each key column must only be in the projection once. If you intended to copy "
                    "the key into the value, then consider using the AS_VALUE function to "
                    "indicate which key reference should be copied.")


@dataclass
class Output:
    """One column the query produces."""
    name: str
    type: str
    key: bool
    fn: object            # closure over the input row (or the aggregate row)


@dataclass
class Plan:
    operator: object
    columns: list         # list[Column] of the result (key columns first)
    windowed: str | None  # "TUMBLING"/"HOPPING"/"SESSION" when the result has windowed keys
    window_size: int | None
    kind: str             # STREAM or TABLE


def _pos(node) -> tuple:
    return getattr(node, "pos", None) or (None, None)


def _strip_qualifiers(e, qualifiers: set):
    """Drop valid source qualifiers so `I.K` and `K` compare equal."""
    if isinstance(e, ast.ColumnRef):
        if e.qualifier is not None and e.qualifier not in qualifiers:
            raise KsqlError(f"'{e.qualifier}' is not a valid stream/table name or alias.", *_pos(e))
        return dataclasses.replace(e, qualifier=None) if e.qualifier else e
    if isinstance(e, ast.BinaryOp):
        return dataclasses.replace(e, left=_strip_qualifiers(e.left, qualifiers),
                                   right=_strip_qualifiers(e.right, qualifiers))
    if isinstance(e, (ast.UnaryOp, ast.IsNull)):
        return dataclasses.replace(e, operand=_strip_qualifiers(e.operand, qualifiers))
    if isinstance(e, ast.Case):
        return dataclasses.replace(
            e, whens=tuple((_strip_qualifiers(c, qualifiers), _strip_qualifiers(r, qualifiers))
                           for c, r in e.whens),
            default=None if e.default is None else _strip_qualifiers(e.default, qualifiers))
    if isinstance(e, ast.FunctionCall):
        return dataclasses.replace(e, args=tuple(_strip_qualifiers(a, qualifiers) for a in e.args))
    if isinstance(e, ast.Dereference):
        return dataclasses.replace(e, base=_strip_qualifiers(e.base, qualifiers))
    if isinstance(e, ast.Subscript):
        return dataclasses.replace(e, base=_strip_qualifiers(e.base, qualifiers),
                                   index=_strip_qualifiers(e.index, qualifiers))
    return e


def _contains_agg(e) -> bool:
    return any(analysis.is_aggregate_call(x) for x in analysis.walk(e))


def _source_scope(source: Source, qualifiers: set, unknown=None, window_bounds: bool = None,
                  on_column=None, on_error=None) -> Scope:
    cols = {}
    for i, c in enumerate(source.columns):
        cols[c.name] = (i, c.type)
    n = len(source.columns)
    cols["ROWTIME"] = (n, T.BIGINT)
    if source.windowed if window_bounds is None else window_bounds:
        cols["WINDOWSTART"] = (n + 1, T.BIGINT)
        cols["WINDOWEND"] = (n + 2, T.BIGINT)
    return Scope(cols, qualifiers=qualifiers, unknown=unknown, on_column=on_column,
                 on_error=on_error)


def _compile_in(expr, scope: Scope, context: str):
    """compile_expr with ``context`` naming the clause in run-time error messages."""
    scope.context = context
    try:
        return compile_expr(expr, scope)
    finally:
        scope.context = None


def _column_context(expr, name: str, index: int) -> str:
    # ksqlDB's SelectValueMapper message for a projection that fails on a record.
    return f"Error computing expression {format_expr(expr)} for column {name} with index {index}"


def _clause_error(clause: str, exc: KsqlError) -> KsqlError:
    if getattr(exc, "code_generation", False):
        return exc
    return KsqlError(f"Error in {clause} expression: {exc.message}", exc.line, exc.column)


def _check_boolean(clause: str, expr, t: str) -> None:
    if t not in (T.BOOLEAN, T.NULL):
        raise KsqlError(f"Type error in {clause} expression: Should evaluate to boolean but is "
                        f"{format_expr(expr)} ({T.display(t)}) instead.", *_pos(expr))


@dataclass(eq=False)
class Planner:
    """Builds one query. ``sink_name`` is None for transient (push) queries."""

    select: ast.Select
    source: Source
    sink_name: str | None
    sink_props: dict
    result_kind: str | None
    log: Callable                       # (record, message, target=None) -> None
    on_error: Callable[[str], None] | None = None   # expression errors at run time
    qualifiers: set = field(init=False)

    def __post_init__(self):
        self.qualifiers = {self.source.name}
        if self.select.source_alias:
            self.qualifiers.add(self.select.source_alias)

    # --- entry point ------------------------------------------------------------------

    def plan(self, sink_factory) -> Plan:
        s = self.select
        self._analyse()
        items = self._expand_items()
        names = self._output_names(items)
        aggregated = bool(s.group_by) or any(_contains_agg(e) for e, _ in items) or (
            s.having is not None)
        if s.window is not None and not s.group_by and not aggregated:
            raise KsqlError("WINDOW clause requires a GROUP BY clause.", *_pos(s.window))
        if s.emit == "FINAL" and s.window is None:
            raise KsqlError("EMIT FINAL is only supported for windowed aggregations.", *_pos(s))
        if self.source.kind == "TABLE" and self.source.windowed and self.sink_name is not None:
            raise KsqlError("KSQL does not support persistent queries on windowed tables.", *_pos(s))
        if aggregated:
            return self._plan_aggregate(items, names, sink_factory)
        return self._plan_select(items, names, sink_factory)

    def _analyse(self) -> None:
        """ksqlDB's checks before planning (analysis.py), in its order."""
        s = self.select
        clauses = ([s.where] if s.where is not None else []) + list(s.group_by) + (
            [s.having] if s.having is not None else [])
        singles = [item for item in s.items if isinstance(item, ast.SelectItem)]
        for expr in clauses + [item.expr for item in singles]:
            _strip_qualifiers(expr, self.qualifiers)       # an unknown qualifier first
        analysis.check_group_by_unique([_strip_qualifiers(g, self.qualifiers)
                                        for g in s.group_by],
                                       s.source_alias or self.source.name)
        stripped = [(_strip_qualifiers(item.expr, self.qualifiers), item.alias)
                    for item in singles]
        analysis.check_reserved_aliases(stripped, self._output_names(stripped),
                                        self.sink_name is not None)
        analysis.check_table_functions([e for e, _ in stripped], bool(s.group_by))
        analysis.check_columns_resolve(s, [(item.expr, item.alias) for item in singles],
                                       analysis.known_columns(self.source, s.window is not None))
        analysis.check_table_source(self.source, [e for e, _ in stripped])
        analysis.check_functions_known(clauses + [e for e, _ in stripped])

    # --- projection --------------------------------------------------------------------

    def _expand_items(self) -> list:
        out = []
        for item in self.select.items:
            if isinstance(item, ast.AllColumns):
                if item.qualifier is not None and item.qualifier not in self.qualifiers:
                    raise KsqlError(f"'{item.qualifier}' is not a valid stream/table name or alias.",
                                    *_pos(item))
                names = [c.name for c in self.source.key_columns]
                if self.sink_name is None and self.source.windowed:
                    names += ["WINDOWSTART", "WINDOWEND"]   # push queries show the window
                names += [c.name for c in self.source.value_columns]
                out += [(ast.ColumnRef(name, None, item.pos), None) for name in names]
            elif isinstance(item, ast.StructAll):
                out += self._struct_fields(item)
            else:
                out.append((_strip_qualifiers(item.expr, self.qualifiers), item.alias))
        return out

    def _struct_fields(self, item: ast.StructAll) -> list:
        """``base->*``: one item per field of the struct, named after the field."""
        base = _strip_qualifiers(item.base, self.qualifiers)
        scope = _source_scope(self.source, self.qualifiers, unknown=self._select_unknown)
        _, t = compile_expr(base, scope)
        if not T.is_struct(t):
            raise KsqlError(f"Column {format_expr(base)} is not a STRUCT type.", *_pos(item))
        return [(ast.Dereference(base, name, item.pos), name) for name, _ in T.struct_fields(t)]

    def _output_names(self, items) -> list:
        return analysis.output_names(items, [c.name for c in self.source.columns])

    def _select_unknown(self, ref):
        return KsqlError(f"SELECT column '{ref.name}' cannot be resolved.", *_pos(ref))

    def _compile_where(self, scope: Scope):
        where = self.select.where
        if where is None:
            return None
        expr = timestamps.rewrite(_strip_qualifiers(where, self.qualifiers))
        try:
            fn, t = _compile_in(expr, scope, f"Error evaluating predicate {format_expr(expr)}")
        except KsqlError as exc:
            raise _clause_error("WHERE", exc) from None
        _check_boolean("WHERE", expr, t)
        return fn

    # --- CSAS / CTAS without aggregation ----------------------------------------------

    def _plan_select(self, items, names, sink_factory) -> Plan:
        source = self.source
        if self.result_kind == "TABLE" and source.kind == "STREAM":
            raise KsqlError("Invalid result type. Your SELECT query produces a STREAM. Please use "
                            "CREATE STREAM AS SELECT statement instead.", *_pos(self.select))
        if self.result_kind == "STREAM" and source.kind == "TABLE":
            raise KsqlError("Invalid result type. Your SELECT query produces a TABLE. Please use "
                            "CREATE TABLE AS SELECT statement instead.", *_pos(self.select))
        where = self._compile_where(_source_scope(source, self.qualifiers,
                                                  on_error=self.on_error))
        select_scope = _source_scope(source, self.qualifiers, unknown=self._select_unknown,
                                     on_error=self.on_error)
        transient = self.sink_name is None
        table_fns = self._table_functions(items, select_scope)
        key_order = {c.name: i for i, c in enumerate(source.key_columns)}
        outputs = []
        for index, ((expr, alias), name) in enumerate(zip(items, names)):
            fn, t = _compile_in(expr, select_scope, _column_context(expr, name, index))
            is_key = (not transient and isinstance(expr, ast.ColumnRef)
                      and expr.name in key_order)
            outputs.append(Output(name, t, is_key, fn))
        self._check_projection_schema(outputs)
        if not transient:
            self._check_key_columns_once(items, names, key_order)
        # Key columns in the source's key order (ksqlDB's), values in projection order.
        keys = sorted((o for o in outputs if o.key),
                      key=lambda o: key_order[items[outputs.index(o)][0].name])
        columns = self._result_columns(keys, [o for o in outputs if not o.key])
        key_fns = [o.fn for o in keys]
        value_fns = [o.fn for o in outputs if not o.key]
        key_positions = [outputs.index(o) for o in keys]
        if transient:
            key_positions = self._transient_key_positions(items, [
                ast.ColumnRef(c.name) for c in source.key_columns])
            key_fns = [outputs[p].fn for p in key_positions if p is not None]
            key_positions = [p for p in key_positions if p is not None]
            value_fns = [o.fn for o in outputs]
        if not transient:
            self._check_sink_timestamp(columns)
            projected = {items[outputs.index(o)][0].name for o in keys}
            if any(c.name not in projected for c in source.key_columns):
                self._keys_missing("key column", [c.name for c in source.key_columns])
            self._check_no_clash(columns)
        sink = sink_factory(columns, source.window_type, source.window_kind, source.window_size,
                            key_positions, self._window_positions(items))
        if table_fns:
            op = operators.FlatMap(self._reader(), where, key_fns, value_fns, sink, False,
                                   table_fns, self.on_error)
        else:
            op = operators.Select(self._reader(), where, key_fns, value_fns, sink,
                                  source.kind == "TABLE")
        return Plan(op, columns, source.window_kind, source.window_size, source.kind)

    def _table_functions(self, items, scope: Scope) -> list:
        """Each distinct table function call in the projection gets a slot after the row's
        own (columns, ROWTIME, WINDOWSTART, WINDOWEND), where the flat map puts one of its
        values per output row; the projection reads the slot. [(TableFunction, argument)]"""
        found = []
        for expr, _ in items:
            for node in analysis.walk(expr):
                if analysis.is_table_function_call(node) and node not in found:
                    found.append(node)
        width = len(self.source.columns) + 3
        compiled = []
        for call in found:
            fn = functions.table_function(call.name)
            args = [_compile_in(a, scope, f"Failed to evaluate table function parameter {i}")
                    for i, a in enumerate(call.args)]
            types = [t for _, t in args]
            if len(args) != 1:
                raise KsqlError(f"Function '{fn.display}' does not accept parameters "
                                f"{functions.args_text(types)}.", *_pos(call))
            try:
                returns = fn.returns(types[0])
            except KsqlError as exc:
                raise exc.at(_pos(call)) from None
            scope.slots[call] = (width + len(compiled), returns)
            compiled.append((fn, args[0][0]))
        return compiled

    def _check_projection_schema(self, outputs) -> None:
        """ksqlDB builds the projection's schema first: every column needs a type, and no
        two key (or two value) columns may share a name."""
        seen = {True: set(), False: set()}
        for o in outputs:
            if o.type == T.NULL and not o.key:
                raise KsqlError("Can't infer a type of null. Please explicitly cast it to a "
                                "required type, e.g. CAST(null AS VARCHAR).")
            if o.name in seen[o.key]:
                raise KsqlError(f"Duplicate {'key' if o.key else 'value'} columns found in "
                                f"schema: `{o.name}` {T.display_plain(o.type)}",
                                *_pos(self.select))
            seen[o.key].add(o.name)

    def _check_key_columns_once(self, items, names, key_order) -> None:
        """A source key column may be projected once (the sink's key); a copy into the
        value needs AS_VALUE in ksqlDB."""
        aliases: dict = {}
        for (expr, _), name in zip(items, names):
            if isinstance(expr, ast.ColumnRef) and expr.name in key_order:
                aliases.setdefault(expr.name, set()).add(name)
        for key, seen in aliases.items():
            if len(seen) > 1:
                raise KsqlError(f"The projection contains a key column (`{key}`) more than once, "
                                f"aliased as: {analysis.grammatical_and(sorted(seen))}.\n"
                                + _KEY_ONCE_ADVICE, *_pos(self.select))

    def _keys_missing(self, kind: str, keys: list) -> None:
        plural = "s" if len(keys) > 1 else ""
        raise KsqlError(f"Key{plural} missing from projection (ie, SELECT). \nThe query used to "
                        f"build {analysis.source_text(self.sink_name)} must include the "
                        f"{kind}{plural} {analysis.grammatical_and(keys)} in its projection "
                        f"(eg, SELECT {', '.join(keys)}...).", *_pos(self.select))

    def _check_sink_timestamp(self, columns) -> None:
        """The sink's TIMESTAMP column exists and is a BIGINT (checked before the key is)."""
        if "TIMESTAMP" in self.sink_props:
            ddl.sink_timestamp(self.sink_props["TIMESTAMP"], [c for c in columns if c.key],
                               [c for c in columns if not c.key], _pos(self.select))

    def _check_no_clash(self, columns) -> None:
        names = [c.name for c in columns]
        clash = [n for n in dict.fromkeys(names) if names.count(n) > 1]
        if clash:
            raise KsqlError("Value columns clash with key columns: "
                            + ", ".join(f"`{n}`" for n in clash), *_pos(self.select))

    def _result_columns(self, keys, values) -> list:
        """The sink's columns: keys first; a persistent query needs a value column."""
        if not values and self.sink_name is not None:
            raise KsqlError("The projection contains no value columns.", *_pos(self.select))
        return [Column(o.name, o.type, True) for o in keys] + [
            Column(o.name, o.type, False) for o in values]

    def _reader(self) -> operators.SourceReader:
        source = self.source
        key_cols = [(c.name, c.type) for c in source.key_columns]
        value_cols = [(c.name, c.type) for c in source.value_columns]
        decode_key = formats.key_decoder(source.key_format, key_cols, source.window_type)
        decode_value = formats.value_decoder(source.value_format, value_cols)
        ts_index = None
        if source.timestamp_column is not None:
            ts_index = [c.name for c in source.columns].index(source.timestamp_column)
        converter = functools.partial(formats.row_converter, key_format=source.key_format,
                                      key_columns=key_cols, value_format=source.value_format,
                                      value_columns=value_cols)
        return operators.SourceReader(decode_key, decode_value, len(value_cols), source.window_type,
                                      source.window_size, ts_index, self.log, converter)

    # --- aggregation ---------------------------------------------------------------------

    def _plan_aggregate(self, items, names, sink_factory) -> Plan:
        s, source = self.select, self.source
        windowed = s.window is not None
        group_by = [_strip_qualifiers(g, self.qualifiers) for g in s.group_by]
        having = None if s.having is None else _strip_qualifiers(s.having, self.qualifiers)
        agg_calls = [n for e, _ in items for n in analysis.walk(e) if analysis.is_aggregate_call(n)]
        if having is not None:
            agg_calls += [n for n in analysis.walk(having) if analysis.is_aggregate_call(n)]
        # ksqlDB type-checks WHERE before it looks at the aggregation.
        where = self._compile_where(_source_scope(source, self.qualifiers,
                                                  on_error=self.on_error))
        self._check_grouping(items, group_by, having, agg_calls, windowed)

        input_scope = _source_scope(source, self.qualifiers, on_error=self.on_error)
        group_compiled = [_compile_in(g, input_scope,
                                      f"Error computing GROUP BY expression {format_expr(g)}")
                          for g in group_by]
        aggs, agg_slots = self._compile_aggregates(agg_calls, input_scope, len(group_by))

        # The aggregate row: group keys, aggregate results, then the window bounds.
        slots = {g: (i, t) for i, (g, (_, t)) in enumerate(zip(group_by, group_compiled))}
        slots.update(agg_slots)
        n = len(group_by) + len(aggs)
        agg_columns = {"WINDOWSTART": (n, T.BIGINT), "WINDOWEND": (n + 1, T.BIGINT)} if windowed else {}

        def not_grouped(ref):
            return KsqlError(f"Non-aggregate SELECT expression(s) not part of GROUP BY: {ref.name}",
                             *_pos(ref))
        agg_scope = Scope(agg_columns, slots, unknown=not_grouped, on_error=self.on_error)

        persistent = self.sink_name is not None
        outputs = []
        for index, ((expr, alias), name) in enumerate(zip(items, names)):
            fn, t = _compile_in(expr, agg_scope, _column_context(expr, name, index))
            # In ksqlDB's projection schema a source key column shown as it is is a key.
            is_key = isinstance(expr, ast.ColumnRef) and expr.name in {
                c.name for c in source.key_columns}
            outputs.append(Output(name, t, is_key, fn))
        self._check_projection_schema(outputs)
        # The sink's key: the projection item showing each GROUP BY expression.
        key_of_group = {}
        for g in group_by:
            shown = [name for (expr, _), name in zip(items, names) if expr == g]
            if len(shown) > 1:
                raise KsqlError("The projection contains a key column more than once: "
                                + analysis.grammatical_and([f"`{n}`" for n in shown]) + ".\n"
                                + _KEY_ONCE_ADVICE, *_pos(s))
            if shown:
                key_of_group[g] = shown[0]
        if persistent:
            key_names = set(key_of_group.values())
            value_outputs = [o for o in outputs if not o.key and o.name not in key_names]
            by_name = {o.name: o for o in outputs}
            key_outputs = [by_name[key_of_group[g]] for g in group_by if g in key_of_group]
            columns = self._result_columns(
                [dataclasses.replace(o, key=True) for o in key_outputs], value_outputs)
        else:
            # Push queries show every projected column; the key is not split out.
            value_outputs = outputs
            columns = [Column(o.name, o.type, False) for o in outputs]

        having_fn = None
        if having is not None:
            having = timestamps.rewrite(having)
            try:
                having_fn, t = _compile_in(having, agg_scope,
                                           f"Error evaluating predicate {format_expr(having)}")
            except KsqlError as exc:
                raise _clause_error("HAVING", exc) from None
            _check_boolean("HAVING", having, t)

        if persistent:
            self._check_sink_timestamp(columns)
            missing = [g for g in group_by if g not in key_of_group]
            if missing:
                self._keys_missing("grouping expression", [format_expr(g) for g in missing])
            self._check_no_clash(columns)
        if source.kind == "TABLE" and windowed:
            raise KsqlError("Windowing not supported for table aggregations.", *_pos(s.window))
        if source.value_format == formats.DELIMITED and any(agg.complex_state for agg, _ in aggs):
            # ksqlDB keeps the aggregation's state in the source's value format.
            raise KsqlError("One of the functions used in the statement has an intermediate type "
                            "that the value format can not handle. Please remove the function "
                            "or change the format.\nConsider up-voting "
                            "https://github.com/confluentinc/ksql/issues/3950, which will resolve "
                            "this limitation", *_pos(s))
        sink = sink_factory(columns, None if not windowed else
                            ("session" if s.window.kind == "SESSION" else "time"),
                            s.window.kind if windowed else None, s.window.size if windowed else None,
                            self._transient_key_positions(items, group_by),
                            self._window_positions(items))
        op = self._aggregate_operator(input_scope, where, [f for f, _ in group_compiled], aggs,
                                      having_fn, [o.fn for o in value_outputs], sink)
        return Plan(op, columns, s.window.kind if windowed else None,
                    s.window.size if windowed else None, "TABLE")

    def _check_grouping(self, items, group_by, having, agg_calls, windowed) -> None:
        """ksqlDB's rules on GROUP BY, aggregates and their combination."""
        s = self.select
        if not group_by:
            # ksqlDB groups aggregates without GROUP BY by a dummy key, then refuses them.
            bad = self._non_aggregate_items(items, [], windowed)
            if bad:
                raise KsqlError("Non-aggregate SELECT expression(s) not part of GROUP BY: "
                                + ", ".join(bad), *_pos(s))
            first = agg_calls[0] if agg_calls else None
            shown = format_expr(first) if first is not None else ""
            if first is not None and (first.star or not first.args):
                shown = f"{first.name}(ROWTIME)"
            raise KsqlError(f"CREATE TABLE AS SELECT statement does not support aggregate function "
                            f"[{shown}] without a GROUP BY clause.", *_pos(s))
        where = None if s.where is None else _strip_qualifiers(s.where, self.qualifiers)
        analysis.check_aggregation(items, where, group_by, having, windowed,
                                   lambda e: self._covered(e, group_by, windowed))

    def _compile_aggregates(self, agg_calls, input_scope: Scope, n_keys: int) -> tuple:
        """[(Aggregate, argument closure)] and each distinct call's slot in the aggregate row."""
        s = self.select
        aggs, agg_slots, table_bad = [], {}, []
        for call in agg_calls:
            if call in agg_slots:
                continue
            for a in call.args:
                if any(analysis.is_aggregate_call(node) for node in analysis.walk(a)):
                    raise KsqlError(f"Aggregate functions can not be nested: {format_expr(call)}",
                                    *_pos(call))
            agg, arg_fn = self._make_aggregate(call, input_scope)
            if self.source.kind == "TABLE" and not agg.undoable and call.name not in table_bad:
                table_bad.append(call.name)
            if s.window is not None and s.window.kind == "SESSION" and not agg.mergeable:
                raise unsupported(f"{agg.name} over session windows", _pos(s.window))
            agg_slots[call] = (n_keys + len(aggs), agg.return_type)
            aggs.append((agg, arg_fn))
        if table_bad:
            names_text = (", ".join(table_bad[:-1]) + " and " + table_bad[-1]
                          if len(table_bad) > 1 else table_bad[0])
            raise KsqlError(f"The aggregation functions {names_text} cannot be applied to a table "
                            "source, only to a stream source.", *_pos(s))
        return aggs, agg_slots

    def _aggregate_operator(self, input_scope, where, group_fns, aggs, having_fn, value_fns, sink):
        s, source = self.select, self.source
        reader = self._reader()
        if source.kind == "TABLE":
            source_key_fns = [operator.itemgetter(input_scope.columns[c.name][0])
                              for c in source.key_columns]
            return operators.TableAggregate(reader, where, source_key_fns, group_fns, aggs,
                                            having_fn, value_fns, sink)
        rule = None
        if s.window is not None:
            rule = W.make_rule(s.window.kind, s.window.size, s.window.advance, s.window.grace,
                               s.emit == "FINAL")
            if getattr(sink, "table", None) is not None:
                # Pull queries see windows for as long as the aggregate keeps them.
                sink.retention = rule.size + rule.grace
        return operators.StreamAggregate(reader, where, group_fns, aggs, rule, s.emit == "FINAL",
                                         having_fn, value_fns, sink)

    @staticmethod
    def _transient_key_positions(items, key_exprs) -> list:
        """For each key expression, the first projection item showing it (or None)."""
        exprs = [e for e, _ in items]
        return [exprs.index(k) if k in exprs else None for k in key_exprs]

    @staticmethod
    def _window_positions(items) -> tuple:
        """Where a push query shows WINDOWSTART and WINDOWEND (None where it does not): a
        windowed row's key includes its window, so a tombstone fills them in too."""
        exprs = [e for e, _ in items]
        return tuple(next((i for i, e in enumerate(exprs)
                           if isinstance(e, ast.ColumnRef) and e.name == bound), None)
                     for bound in ("WINDOWSTART", "WINDOWEND"))

    def _non_aggregate_items(self, items, group_by, windowed) -> list:
        """Projection items that use a column outside GROUP BY and aggregates."""
        bad = []
        for expr, _ in items:
            if not self._covered(expr, group_by, windowed):
                bad.append(format_expr(expr))
        return bad

    def _covered(self, e, group_by, windowed) -> bool:
        if e in group_by or analysis.is_aggregate_call(e):
            return True
        if isinstance(e, ast.ColumnRef):
            return windowed and e.name in ("WINDOWSTART", "WINDOWEND")
        if isinstance(e, ast.Literal):
            return True
        if isinstance(e, ast.BinaryOp):
            return self._covered(e.left, group_by, windowed) and self._covered(e.right, group_by, windowed)
        if isinstance(e, (ast.UnaryOp, ast.IsNull)):
            return self._covered(e.operand, group_by, windowed)
        if isinstance(e, ast.Case):
            parts = [x for w in e.whens for x in w] + ([e.default] if e.default is not None else [])
            return all(self._covered(x, group_by, windowed) for x in parts)
        if isinstance(e, ast.FunctionCall):
            return all(self._covered(a, group_by, windowed) for a in e.args)
        if isinstance(e, ast.Dereference):
            return self._covered(e.base, group_by, windowed)
        if isinstance(e, ast.Subscript):
            return (self._covered(e.base, group_by, windowed)
                    and self._covered(e.index, group_by, windowed))
        return False

    def _make_aggregate(self, call: ast.FunctionCall, scope: Scope):
        cls = functions.aggregate(call.name)
        # ksqlDB passes ROWTIME to an aggregate called without arguments (COUNT(*) too).
        args = call.args if call.args else (ast.ColumnRef("ROWTIME", None, call.pos),)
        arg_fn, arg_type = _compile_in(args[0], scope,
                                       f"Error computing aggregate argument of {format_expr(call)}")
        # ksqlDB picks the aggregate by all argument types (no implicit casts) before it
        # asks for the extra arguments to be literals.
        extra_types = tuple(compile_expr(a, scope)[1] for a in args[1:])
        if extra_types not in cls.param_types:
            raise KsqlError(f"Function '{cls.display or cls.name}' does not accept parameters "
                            f"{functions.args_text([arg_type, *extra_types])}.", *_pos(call))
        params = []
        for extra in args[1:]:
            if not isinstance(extra, ast.Literal):
                raise KsqlError(f"Parameter {len(params) + 2} passed to function {call.name} must "
                                f"be a literal constant, but was expression: "
                                f"'{format_expr(extra)}'", *_pos(extra))
            params.append(extra.value)
        agg = cls([arg_type], params)
        if call.name == "COUNT" and (not call.args or (isinstance(call.args[0], ast.Literal)
                                                      and call.args[0].value is not None)):
            return agg, (lambda row: 1)         # never null: counts every row
        return agg, arg_fn
