"""Plain dataclasses for parsed statements and expressions.

Expression nodes compare by structure only (``pos`` is excluded), so the planner can
recognise a GROUP BY expression repeated in the SELECT list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Pos = tuple  # (line, column)


# --- expressions ------------------------------------------------------------------

@dataclass(frozen=True)
class Expr:
    pass


@dataclass(frozen=True)
class Literal(Expr):
    value: Any
    type_name: str                  # BOOLEAN, INTEGER, BIGINT, DECIMAL, DOUBLE, STRING, NULL
    pos: Pos = field(default=None, compare=False)


@dataclass(frozen=True)
class ColumnRef(Expr):
    name: str
    qualifier: str | None = None
    pos: Pos = field(default=None, compare=False)


@dataclass(frozen=True)
class BinaryOp(Expr):
    op: str                         # + - * / % = <> < <= > >= AND OR
    left: Expr
    right: Expr
    pos: Pos = field(default=None, compare=False)


@dataclass(frozen=True)
class UnaryOp(Expr):
    op: str                         # NOT, -
    operand: Expr
    pos: Pos = field(default=None, compare=False)


@dataclass(frozen=True)
class IsNull(Expr):
    operand: Expr
    negated: bool
    pos: Pos = field(default=None, compare=False)


@dataclass(frozen=True)
class Case(Expr):
    whens: tuple                    # ((condition, result), ...)
    default: Expr | None
    pos: Pos = field(default=None, compare=False)


@dataclass(frozen=True)
class Dereference(Expr):
    """``base->field``: one field of a STRUCT value (field name as written: upper-cased
    unless back-quoted)."""
    base: Expr
    field: str
    pos: Pos = field(default=None, compare=False)


@dataclass(frozen=True)
class Subscript(Expr):
    """``base[index]``: one element of an ARRAY, counted from 1 (negative: from the end)."""
    base: Expr
    index: Expr
    pos: Pos = field(default=None, compare=False)


@dataclass(frozen=True)
class FunctionCall(Expr):
    name: str
    args: tuple
    star: bool = False              # COUNT(*)
    pos: Pos = field(default=None, compare=False)


# --- queries ----------------------------------------------------------------------

@dataclass(frozen=True)
class Duration:
    millis: int


@dataclass(frozen=True)
class WindowSpec:
    kind: str                       # TUMBLING, HOPPING, SESSION
    size: int                       # ms; the gap for SESSION
    advance: int | None = None      # ms; HOPPING only
    grace: int | None = None        # ms; None = not given
    pos: Pos = field(default=None, compare=False)


@dataclass
class SelectItem:
    expr: Expr
    alias: str | None
    pos: Pos = None


@dataclass
class AllColumns:
    qualifier: str | None
    pos: Pos = None


@dataclass
class StructAll:
    """``base->*`` in a SELECT list: every field of a STRUCT, each named after its field."""
    base: Expr
    pos: Pos = None


@dataclass
class Select:
    items: list
    source: str
    source_alias: str | None
    window: WindowSpec | None
    where: Expr | None
    group_by: list
    having: Expr | None
    emit: str | None                # CHANGES, FINAL, None
    limit: int | None
    pos: Pos = None
    source_pos: Pos = None


# --- statements -------------------------------------------------------------------

@dataclass
class ColumnDef:
    name: str
    type_name: str
    key: bool
    primary: bool
    pos: Pos = None


@dataclass
class CreateSource:
    kind: str                       # STREAM, TABLE
    name: str
    columns: list
    properties: dict
    or_replace: bool = False
    if_not_exists: bool = False
    pos: Pos = None


@dataclass
class CreateAsSelect:
    kind: str
    name: str
    properties: dict
    select: Select
    or_replace: bool = False
    if_not_exists: bool = False
    pos: Pos = None


@dataclass
class Drop:
    kind: str                       # STREAM, TABLE, CONNECTOR
    name: str
    if_exists: bool
    delete_topic: bool
    pos: Pos = None


@dataclass
class Terminate:
    query_id: str | None            # None = ALL
    pos: Pos = None


@dataclass
class Show:
    what: str                       # STREAMS, TABLES, QUERIES, TOPICS, CONNECTORS, PROPERTIES, FUNCTIONS
    extended: bool
    pos: Pos = None


@dataclass
class Describe:
    name: str
    extended: bool
    what: str = "SOURCE"            # SOURCE, CONNECTOR, FUNCTION
    pos: Pos = None


@dataclass
class SetProperty:
    name: str
    value: str
    pos: Pos = None


@dataclass
class UnsetProperty:
    name: str
    pos: Pos = None


@dataclass
class Print:
    topic: str
    from_beginning: bool
    interval: int | None
    limit: int | None
    pos: Pos = None


@dataclass
class CreateConnector:
    kind: str                       # SOURCE, SINK
    name: str
    properties: dict
    if_not_exists: bool = False
    pos: Pos = None


@dataclass
class QueryStatement:
    select: Select
    pos: Pos = None


@dataclass
class InsertValues:
    target: str
    columns: list | None            # None = every column, in declaration order
    values: list                    # expressions (literals)
    pos: Pos = None
