"""Transient queries: push queries (rows to a callback) and pull queries (table state)."""

from __future__ import annotations

from dataclasses import dataclass

from socksort.ksql.engine import analysis
from socksort.ksql.engine.analysis import output_names
from socksort.ksql.engine.catalog import Query, Source
from socksort.ksql.engine.planner import _check_boolean
from socksort.ksql.engine.records import PushRow, Record
from socksort.ksql.sql import ast, timestamps
from socksort.ksql.sql import types as T
from socksort.ksql.sql.errors import KsqlError, unsupported
from socksort.ksql.sql.expressions import Scope, compile_expr, format_expr


@dataclass
class PullResult:
    columns: list
    types: list
    rows: list


class PushQuery:
    """A running transient ``SELECT ... EMIT CHANGES``; rows go to ``on_row``."""

    def __init__(self, query: Query, columns: list, limit: int | None, on_row, on_close, lock,
                 report_failures=None):
        self.query = query
        self.id = query.id
        self.columns = [c.name for c in columns]
        self.types = [T.display(c.type) for c in columns]
        self.limit = limit
        self.count = 0
        self.done = False
        # Why it ended, for the client: "Limit Reached", a dropped source, or None when
        # the client closed it.
        self.final_message: str | None = None
        self._on_row = on_row
        self._on_close = on_close
        self._lock = lock
        self._report_failures = report_failures     # (query, record): log expression errors

    def deliver(self, row: PushRow) -> None:
        if self.done:
            return
        self._on_row(row)
        self.count += 1
        if self.limit is not None and self.count >= self.limit:
            self.close("Limit Reached")

    def feed(self, record: Record) -> None:
        """Give this query one record of its source (e.g. replayed history)."""
        with self._lock:
            if not self.done:
                self.query.operator.process(record)
                if self.query.failures and self._report_failures is not None:
                    self._report_failures(self.query, record)

    def close(self, final_message: str | None = None) -> None:
        with self._lock:
            if not self.done:
                self.done = True
                self.final_message = final_message
                self._on_close(self.query)


def run_pull(select: ast.Select, source: Source, table: dict) -> PullResult:
    """Evaluate a pull query over a materialized table: {(key, window): (keys, values, ts)}."""
    if select.group_by or select.window is not None or select.having is not None:
        raise unsupported("aggregation in pull queries", select.pos)
    cols = {c.name: (i, c.type) for i, c in enumerate(source.columns)}
    n = len(source.columns)
    if source.windowed:
        cols["WINDOWSTART"] = (n, T.BIGINT)
        cols["WINDOWEND"] = (n + 1, T.BIGINT)
    qualifiers = {source.name} | ({select.source_alias} if select.source_alias else set())
    scope = Scope(cols, qualifiers=qualifiers)
    names, fns, types_ = [], [], []
    singles = [(item.expr, item.alias) for item in select.items
               if isinstance(item, ast.SelectItem)]
    # ksqlDB's Analyzer checks come first here too (WHERE, then SELECT).
    analysis.check_columns_resolve(select, singles, analysis.known_columns(source, False))
    analysis.check_functions_known(([select.where] if select.where is not None else [])
                                   + [e for e, _ in singles])
    single_names = iter(output_names(singles, [c.name for c in source.columns]))
    for item in select.items:
        if isinstance(item, ast.AllColumns):
            extra = [("WINDOWSTART", T.BIGINT), ("WINDOWEND", T.BIGINT)] if source.windowed else []
            keys = [(c.name, c.type) for c in source.key_columns]
            for name, t in keys + extra + [(c.name, c.type) for c in source.value_columns]:
                idx = cols[name][0]
                names.append(name)
                types_.append(T.display(t))
                fns.append(lambda row, i=idx: row[i])
            continue
        if isinstance(item, ast.StructAll):
            base, t = compile_expr(item.base, scope)
            if not T.is_struct(t):
                raise KsqlError(f"Column {format_expr(item.base)} is not a STRUCT type.",
                                *(item.pos or (None, None)))
            for field, field_type in T.struct_fields(t):
                names.append(field)
                types_.append(T.display(field_type))
                fns.append(lambda row, f=field: None if (v := base(row)) is None else v.get(f))
            continue
        fn, t = compile_expr(item.expr, scope)
        names.append(next(single_names))
        fns.append(fn)
        types_.append(T.display(t))
    where = None
    if select.where is not None:
        where, t = compile_expr(timestamps.rewrite(select.where), scope)
        _check_boolean("WHERE", select.where, t)
    rows = []
    for (keys, window), (key_values, values, _ts) in table.items():
        row = list(key_values) + list(values)
        if source.windowed:
            row += [window.start, window.end]
        if where is not None and where(row) is not True:
            continue
        rows.append([f(row) for f in fns])
        if select.limit is not None and len(rows) >= select.limit:
            break
    return PullResult(names, types_, rows)


