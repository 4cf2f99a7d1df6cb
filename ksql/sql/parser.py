"""Recursive-descent parser for the ksqlDB statements the engine supports.

Anything ksqlDB has but the engine lacks (joins, PARTITION BY, INSERT, CAST, ...) fails
here or in the planner with a KsqlError naming it, never with a silently different meaning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from socksort.ksql.sql import ast
from socksort.ksql.sql import types as T
from socksort.ksql.sql.errors import KsqlError, KsqlPrepareError, KsqlSyntaxError, unsupported
from socksort.ksql.sql.lexer import (DECIMAL, DOUBLE, EOF, IDENT, INTEGER, OP, QIDENT,
                                 RESERVED_WORDS, STRING, Token, tokenize)

# Words that end an expression or a select item, so they cannot be implicit aliases, and
# ksqlDB's reserved words, which are no identifiers at all.
_RESERVED = RESERVED_WORDS | {
    "SELECT", "FROM", "WHERE", "GROUP", "BY", "HAVING", "WINDOW", "EMIT", "LIMIT", "AND", "OR",
    "NOT", "CASE", "WHEN", "THEN", "ELSE", "END", "AS", "IS", "NULL", "TRUE", "FALSE",
    "PARTITION", "JOIN", "LEFT", "RIGHT", "FULL", "INNER", "OUTER", "ON", "WITHIN", "LIKE",
    "BETWEEN", "IN", "CREATE", "INSERT", "INTO", "VALUES", "ORDER", "UNION",
}

# ksqlDB's primitive types the engine lacks (a column of one is "not supported", an
# unknown name is ksqlDB's "Cannot resolve unknown type").
_KSQLDB_TYPES = {"BYTES", "DATE", "TIME", "TIMESTAMP", "DECIMAL", "MAP"}

DURATION_UNITS = {
    "MILLISECOND": 1, "MILLISECONDS": 1, "SECOND": 1000, "SECONDS": 1000,
    "MINUTE": 60_000, "MINUTES": 60_000, "HOUR": 3_600_000, "HOURS": 3_600_000,
    "DAY": 86_400_000, "DAYS": 86_400_000,
}


@dataclass
class ParsedStatement:
    node: object
    text: str          # the statement's own text, without the trailing ';'


def parse(text: str) -> list[ParsedStatement]:
    """Parse every ';'-terminated statement in ``text``."""
    return list(_Parser(text).statements())


def iter_parse(text: str):
    """Parse statements one at a time, so earlier ones can run before a later syntax error."""
    return _Parser(text).statements()


def split_statements(text: str) -> list[str]:
    """Cut ``text`` into statement texts (each ending with ';'), without parsing them."""
    tokens = tokenize(text)
    out, start = [], None
    for tok in tokens:
        if tok.kind == EOF:
            break
        if start is None:
            start = tok.offset
        if tok.kind == OP and tok.text == ";":
            out.append(text[start:tok.end])
            start = None
    if start is not None:
        out.append(text[start:].strip())
    return out


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self._struct_all_base = None    # the expression a `->*` follows, if any

    # --- token helpers ----------------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def at_word(self, *words: str) -> bool:
        return self.tok.kind == IDENT and self.tok.text in words

    def at_op(self, *ops: str) -> bool:
        return self.tok.kind == OP and self.tok.text in ops

    def accept_word(self, *words: str) -> bool:
        if self.at_word(*words):
            self.i += 1
            return True
        return False

    def accept_op(self, op: str) -> bool:
        if self.at_op(op):
            self.i += 1
            return True
        return False

    def expect_word(self, word: str) -> Token:
        if not self.at_word(word):
            raise self.error(f"expecting {word}")
        return self.advance()

    def expect_op(self, op: str) -> Token:
        if not self.at_op(op):
            raise self.error(f"expecting '{op}'")
        return self.advance()

    def error(self, expecting: str = "") -> KsqlError:
        # ksqlDB: "line L:C: Syntax Error" and, on the next line, what it expected.
        tok = self.tok
        near = "<EOF>" if tok.kind == EOF else self.text[tok.offset:tok.end]
        message = f"Syntax Error\nmismatched input '{near}'"
        if expecting:
            message += f" {expecting}"
        return KsqlSyntaxError(message, tok.line, tok.col)

    def identifier(self) -> tuple[str, tuple]:
        tok = self.tok
        if tok.kind == QIDENT or (tok.kind == IDENT and tok.text not in _RESERVED):
            self.i += 1
            return tok.text, tok.pos
        raise self.error("expecting an identifier")

    # --- statements ---------------------------------------------------------------

    def statements(self):
        while self.tok.kind != EOF:
            if self.accept_op(";"):
                continue
            start = self.tok.offset
            node = self.statement()
            end = self.tok.offset
            if not self.accept_op(";"):
                if self.tok.kind != EOF:
                    raise self.error("expecting ';'")
            yield ParsedStatement(node, self.text[start:end].strip())

    def statement(self):
        tok = self.tok
        if self.at_word("CREATE"):
            return self.create()
        if self.at_word("SELECT"):
            return ast.QueryStatement(self.select(), tok.pos)
        if self.accept_word("DROP"):
            return self.drop(tok)
        if self.accept_word("TERMINATE"):
            if self.accept_word("ALL"):
                return ast.Terminate(None, tok.pos)
            name, _ = self.identifier()
            return ast.Terminate(name, tok.pos)
        if self.at_word("SHOW", "LIST"):
            self.advance()
            what = self.tok
            if not self.accept_word("STREAMS", "TABLES", "QUERIES", "TOPICS", "CONNECTORS",
                                    "PROPERTIES", "FUNCTIONS"):
                raise self.error("expecting STREAMS, TABLES, QUERIES, TOPICS, CONNECTORS or PROPERTIES")
            return ast.Show(what.text, self.accept_word("EXTENDED"), tok.pos)
        if self.accept_word("DESCRIBE"):
            what = "SOURCE"
            if self.accept_word("CONNECTOR"):
                what = "CONNECTOR"
            elif self.accept_word("FUNCTION"):
                what = "FUNCTION"
            name, _ = self.identifier()
            return ast.Describe(name, self.accept_word("EXTENDED"), what, tok.pos)
        if self.accept_word("SET"):
            name = self.string()
            self.expect_op("=")
            return ast.SetProperty(name, self.string(), tok.pos)
        if self.accept_word("UNSET"):
            return ast.UnsetProperty(self.string(), tok.pos)
        if self.accept_word("PRINT"):
            return self.print_(tok)
        if self.accept_word("INSERT"):
            return self.insert(tok)
        if self.at_word("EXPLAIN", "DEFINE", "UNDEFINE", "PAUSE", "RESUME", "ALTER", "ASSERT"):
            raise unsupported(f"{tok.text} statement", tok.pos)
        raise self.error()

    def insert(self, start: Token):
        self.expect_word("INTO")
        target, _ = self.identifier()
        columns = None
        if self.accept_op("("):
            columns = [self.identifier()[0]]
            while self.accept_op(","):
                columns.append(self.identifier()[0])
            self.expect_op(")")
        if self.at_word("SELECT"):
            raise unsupported("INSERT INTO ... SELECT", start.pos)
        self.expect_word("VALUES")
        self.expect_op("(")
        values = [self.expr()]
        while self.accept_op(","):
            values.append(self.expr())
        self.expect_op(")")
        return ast.InsertValues(target, columns, values, start.pos)

    def string(self) -> str:
        if self.tok.kind != STRING:
            raise self.error("expecting a string literal")
        return self.advance().text

    def create(self):
        start = self.expect_word("CREATE")
        or_replace = False
        if self.accept_word("OR"):
            self.expect_word("REPLACE")
            or_replace = True
        if self.accept_word("SOURCE", "SINK"):
            kind = self.tokens[self.i - 1].text
            self.expect_word("CONNECTOR")
            if_not_exists = self.if_not_exists()
            name, _ = self.identifier()
            return ast.CreateConnector(kind, name, self.with_properties(required=True),
                                       if_not_exists, start.pos)
        if not self.at_word("STREAM", "TABLE"):
            if self.at_word("TYPE"):
                raise unsupported("CREATE TYPE", self.tok.pos)
            raise self.error("expecting STREAM or TABLE")
        kind = self.advance().text
        if_not_exists = self.if_not_exists()
        name, _ = self.identifier()
        columns = self.column_defs(kind) if self.at_op("(") else []
        properties = self.with_properties() if self.at_word("WITH") else {}
        if self.accept_word("AS"):
            if columns:
                raise self.error("expecting WITH or ';'")
            select = self.select()
            if select.limit is not None:
                raise KsqlPrepareError(f"CREATE {kind} AS SELECT statements don't support LIMIT "
                                       "clause.")
            return ast.CreateAsSelect(kind, name, properties, select, or_replace, if_not_exists,
                                      start.pos)
        return ast.CreateSource(kind, name, columns, properties, or_replace, if_not_exists,
                                start.pos)

    def if_not_exists(self) -> bool:
        if self.accept_word("IF"):
            self.expect_word("NOT")
            self.expect_word("EXISTS")
            return True
        return False

    def column_defs(self, kind: str) -> list:
        self.expect_op("(")
        cols = []
        while True:
            name, pos = self.identifier()
            type_name = self.type_name()
            key = primary = False
            if self.at_word("PRIMARY"):
                self.advance()
                self.expect_word("KEY")
                if kind == "STREAM":
                    raise KsqlError(f"Column `{name}` is a 'PRIMARY KEY' column: please use 'KEY' "
                                    "for streams.\nTables have PRIMARY KEYs, which are unique and "
                                    "NON NULL.\nStreams have KEYs, which have no uniqueness or NON "
                                    "NULL constraints.", *pos)
                key = primary = True
            elif self.accept_word("KEY"):
                if kind == "TABLE":
                    raise KsqlError(f"Column `{name}` is a 'KEY' column: please use 'PRIMARY KEY' "
                                    "for tables.", *pos)
                key = True
            elif self.at_word("HEADER", "HEADERS"):
                raise unsupported("HEADER columns", self.tok.pos)
            cols.append(ast.ColumnDef(name, type_name, key, primary, pos))
            if self.accept_op(")"):
                return cols
            self.expect_op(",")

    def type_name(self) -> str:
        tok = self.tok
        if tok.kind not in (IDENT, QIDENT):
            raise self.error("expecting a type")
        self.advance()
        if tok.kind == IDENT and tok.text in ("STRUCT", "ARRAY") and self.accept_op("<"):
            return self._complex_type(tok.text)
        if tok.kind == IDENT and tok.text == "MAP" and self.at_op("<"):
            raise unsupported("type MAP", tok.pos)
        if tok.kind == IDENT and tok.text == "DECIMAL" and self.at_op("("):
            raise unsupported("type DECIMAL", tok.pos)
        if self.accept_op("("):
            # ksqlDB's grammar takes parameters after any base type (`VARCHAR(STRING)`,
            # `INT(5)`) and ignores them: each is an integer or the word STRING.
            while True:
                if not (self.tok.kind == INTEGER or self.at_word("STRING")):
                    raise self.error("expecting {'STRING', INTEGER_VALUE}")
                self.advance()
                if self.accept_op(")"):
                    break
                if not self.at_op(","):
                    raise self.error("expecting {',', ')'}")
                self.advance()
        if tok.kind == IDENT and tok.text in RESERVED_WORDS:
            self.i -= 1
            raise self.error("expecting a type")
        if tok.kind == IDENT and T.from_name(tok.text) is None and tok.text not in _KSQLDB_TYPES:
            # Not a type of ksqlDB either (it would look it up among CREATE TYPE types).
            raise KsqlPrepareError(f"Cannot resolve unknown type: {tok.text}")
        return tok.text

    def _complex_type(self, kind: str) -> str:
        """STRUCT<name type, ...> / ARRAY<type> after the '<', as its canonical type."""
        if kind == "ARRAY":
            element = self._member_type()
            self.expect_op(">")
            return T.array_type(element)
        fields = []
        while True:
            ftok = self.tok
            if ftok.kind not in (IDENT, QIDENT):
                raise self.error("expecting a struct field name")
            self.advance()
            fields.append((ftok.text, self._member_type()))
            if self.accept_op(">"):
                return T.struct_type(fields)
            self.expect_op(",")

    def _member_type(self) -> str:
        tok = self.tok
        t = T.from_name(self.type_name())
        if t is None:
            raise unsupported(f"type {tok.text}", tok.pos)
        return t

    def with_properties(self, required: bool = False) -> dict:
        self.expect_word("WITH")
        self.expect_op("(")
        props = {}
        while True:
            tok = self.tok
            if tok.kind in (IDENT, QIDENT):
                name = tok.text.upper() if tok.kind == IDENT else tok.text
            elif tok.kind == STRING:
                name = tok.text
            else:
                raise self.error("expecting a property name")
            self.advance()
            self.expect_op("=")
            vtok = self.advance()
            if vtok.kind == STRING:
                value = vtok.text
            elif vtok.kind in (INTEGER, DECIMAL, DOUBLE):
                value = vtok.text
            elif vtok.kind == IDENT and vtok.text in ("TRUE", "FALSE"):
                value = vtok.text.lower()
            else:
                self.i -= 1
                raise self.error("expecting a literal")
            props[name] = value
            if self.accept_op(")"):
                return props
            self.expect_op(",")

    def drop(self, start: Token):
        if not self.at_word("STREAM", "TABLE", "CONNECTOR"):
            raise self.error("expecting STREAM, TABLE or CONNECTOR")
        kind = self.advance().text
        if_exists = False
        if self.accept_word("IF"):
            self.expect_word("EXISTS")
            if_exists = True
        name, _ = self.identifier()
        delete_topic = False
        if self.accept_word("DELETE"):
            self.expect_word("TOPIC")
            delete_topic = True
        return ast.Drop(kind, name, if_exists, delete_topic, start.pos)

    def print_(self, start: Token):
        tok = self.advance()
        if tok.kind not in (IDENT, QIDENT, STRING):
            self.i -= 1
            raise self.error("expecting a topic name")
        from_beginning = False
        interval = limit = None
        if self.accept_word("FROM"):
            self.expect_word("BEGINNING")
            from_beginning = True
        if self.accept_word("INTERVAL", "SAMPLE"):
            interval = self.integer()
        if self.accept_word("LIMIT"):
            limit = self.integer()
        # Topic names are case-sensitive: keep an unquoted name as written.
        topic = self.text[tok.offset:tok.end] if tok.kind == IDENT else tok.text
        return ast.Print(topic, from_beginning, interval, limit, start.pos)

    def integer(self) -> int:
        if self.tok.kind != INTEGER:
            raise self.error("expecting an integer")
        return int(self.advance().text)

    # --- SELECT -------------------------------------------------------------------

    def select(self) -> ast.Select:
        start = self.expect_word("SELECT")
        items = [self.select_item()]
        while self.accept_op(","):
            items.append(self.select_item())
        self.expect_word("FROM")
        source, source_pos = self.identifier()
        alias = None
        if self.accept_word("AS"):
            alias, _ = self.identifier()
        elif self.tok.kind == QIDENT or (self.tok.kind == IDENT and self.tok.text not in _RESERVED):
            alias, _ = self.identifier()
        if self.at_word("JOIN", "LEFT", "RIGHT", "FULL", "INNER", "OUTER") or self.at_op(","):
            raise unsupported("JOIN", self.tok.pos)
        window = self.window() if self.accept_word("WINDOW") else None
        where = None
        if self.accept_word("WHERE"):
            where = self.expr()
        if self.at_word("PARTITION"):
            raise unsupported("PARTITION BY", self.tok.pos)
        group_by = []
        if self.accept_word("GROUP"):
            self.expect_word("BY")
            group_by = self.group_by_list()
        having = None
        if self.accept_word("HAVING"):
            having = self.expr()
        emit = None
        if self.accept_word("EMIT"):
            if not self.accept_word("CHANGES", "FINAL"):
                raise self.error("expecting CHANGES or FINAL")
            emit = self.tokens[self.i - 1].text
        limit = None
        if self.accept_word("LIMIT"):
            limit = self.integer()
        return ast.Select(items, source, alias, window, where, group_by, having, emit, limit,
                          start.pos, source_pos)

    def group_by_list(self) -> list:
        # GROUP BY items are value expressions (no AND/OR/comparisons), as in ksqlDB's
        # grammar. GROUP BY (a, b) groups by both; GROUP BY (a) is a parenthesised expression.
        if self.at_op("("):
            save = self.i
            self.advance()
            exprs = [self.value_expr()]
            while self.accept_op(","):
                exprs.append(self.value_expr())
            if self.accept_op(")") and len(exprs) > 1 and not self.at_op(","):
                return exprs
            self.i = save
        exprs = [self.value_expr()]
        while self.accept_op(","):
            exprs.append(self.value_expr())
        return exprs

    def select_item(self):
        tok = self.tok
        if self.accept_op("*"):
            return ast.AllColumns(None, tok.pos)
        if (tok.kind in (IDENT, QIDENT) and self.peek().kind == OP and self.peek().text == "."
                and self.peek(2).kind == OP and self.peek(2).text == "*"):
            self.i += 3
            return ast.AllColumns(tok.text, tok.pos)
        expr = self.expr()
        if self.at_op("->") and self.peek().kind == OP and self.peek().text == "*":
            if expr is not self._struct_all_base:
                raise self.error()
            self.i += 2
            return ast.StructAll(expr, tok.pos)
        alias = None
        if self.accept_word("AS"):
            alias, _ = self.identifier()
        elif self.tok.kind == QIDENT or (self.tok.kind == IDENT and self.tok.text not in _RESERVED):
            alias, _ = self.identifier()
        return ast.SelectItem(expr, alias, tok.pos)

    def window(self) -> ast.WindowSpec:
        if (self.tok.kind == IDENT and self.tok.text not in ("TUMBLING", "HOPPING", "SESSION")
                and self.tok.text not in _RESERVED):
            self.advance()          # ksqlDB's optional window name: parsed and ignored
        tok = self.tok
        if not self.accept_word("TUMBLING", "HOPPING", "SESSION"):
            raise self.error("expecting TUMBLING, HOPPING or SESSION")
        kind = tok.text
        self.expect_op("(")
        advance = None
        if kind == "SESSION":
            size = self.duration()
        else:
            self.expect_word("SIZE")
            size = self.duration()
        if kind == "HOPPING":
            self.expect_op(",")
            self.expect_word("ADVANCE")
            self.expect_word("BY")
            advance = self.duration()
        grace = None
        while self.accept_op(","):
            if self.accept_word("RETENTION"):
                self.duration()
            elif self.accept_word("GRACE"):
                self.expect_word("PERIOD")
                grace = self.duration()
            else:
                raise self.error("expecting RETENTION or GRACE PERIOD")
        self.expect_op(")")
        if size <= 0:
            raise KsqlError("Window size must be positive", *tok.pos)
        if advance is not None and not 0 < advance <= size:
            raise KsqlError("Window advance must be positive and no larger than the window size",
                            *tok.pos)
        return ast.WindowSpec(kind, size, advance, grace, tok.pos)

    def duration(self) -> int:
        amount = self.integer()
        unit = self.tok
        if unit.kind != IDENT or unit.text not in DURATION_UNITS:
            raise self.error("expecting a time unit")
        self.advance()
        return amount * DURATION_UNITS[unit.text]

    # --- expressions ----------------------------------------------------------------

    def expr(self):
        return self.or_expr()

    def or_expr(self):
        left = self.and_expr()
        while self.at_word("OR"):
            tok = self.advance()
            left = ast.BinaryOp("OR", left, self.and_expr(), tok.pos)
        return left

    def and_expr(self):
        left = self.not_expr()
        while self.at_word("AND"):
            tok = self.advance()
            left = ast.BinaryOp("AND", left, self.not_expr(), tok.pos)
        return left

    def not_expr(self):
        if self.at_word("NOT"):
            tok = self.advance()
            return ast.UnaryOp("NOT", self.not_expr(), tok.pos)
        return self.comparison()

    def comparison(self):
        # ksqlDB's `predicated`: a value expression and at most one predicate after it.
        left = self.value_expr()
        tok = self.tok
        if self.at_op("=", "<>", "!=", "<", "<=", ">", ">="):
            self.advance()
            op = "<>" if tok.text == "!=" else tok.text
            return ast.BinaryOp(op, left, self.value_expr(), tok.pos)
        if self.at_word("IS"):
            self.advance()
            negated = self.accept_word("NOT")
            if self.at_word("DISTINCT"):
                raise unsupported("IS DISTINCT FROM", self.tok.pos)
            self.expect_word("NULL")
            return ast.IsNull(left, negated, tok.pos)
        if self.at_word("LIKE", "BETWEEN", "IN") or (
                self.at_word("NOT") and self.peek().kind == IDENT
                and self.peek().text in ("LIKE", "BETWEEN", "IN")):
            raise unsupported(self.tok.text if self.tok.text != "NOT" else
                              f"NOT {self.peek().text}", tok.pos)
        return left

    def value_expr(self):
        # `a || b` is CONCAT(a, b), binding looser than + and - (ksqlDB's grammar).
        left = self.additive()
        while self.at_op("||"):
            tok = self.advance()
            left = ast.FunctionCall("CONCAT", (left, self.additive()), False, tok.pos)
        return left

    def additive(self):
        left = self.multiplicative()
        while self.at_op("+", "-"):
            tok = self.advance()
            left = ast.BinaryOp(tok.text, left, self.multiplicative(), tok.pos)
        return left

    def multiplicative(self):
        left = self.unary()
        while self.at_op("*", "/", "%"):
            tok = self.advance()
            left = ast.BinaryOp(tok.text, left, self.unary(), tok.pos)
        return left

    def unary(self):
        if self.at_op("-") and self.peek().kind in (INTEGER, DECIMAL, DOUBLE):
            # ksqlDB's grammar reads `-5` as one numeric literal (`number: MINUS? ...`), so
            # -9223372036854775808 is a BIGINT and the range check sees the sign.
            minus = self.advance()
            return _number(self.advance(), "-", minus.pos)
        if self.at_op("-", "+"):
            tok = self.advance()
            operand = self.unary()
            if tok.text == "+":
                return operand
            if isinstance(operand, ast.Literal) and operand.type_name in ("INTEGER", "BIGINT",
                                                                          "DECIMAL", "DOUBLE"):
                return _number_literal(-operand.value, tok.pos, operand.type_name)
            return ast.UnaryOp("-", operand, tok.pos)
        return self.primary()

    def primary(self):
        start = self.tok
        e = self.primary_base()
        # `base->field`, left-associative: a->b->c is (a->b)->c, as in ksqlDB's grammar;
        # like ksqlDB, the node's position is where its base starts.
        while self.at_op("->", "["):
            if self.accept_op("["):
                index = self.expr()
                self.expect_op("]")
                e = ast.Subscript(e, index, start.pos)
                continue
            if self.peek().kind == OP and self.peek().text == "*":
                # `base->*` is a select item of its own (ksqlDB's selectStructAll).
                self._struct_all_base = e
                break
            self.advance()
            name, _ = self.identifier()
            e = ast.Dereference(e, name, start.pos)
        return e

    def primary_base(self):
        tok = self.tok
        if tok.kind in (INTEGER, DECIMAL, DOUBLE):
            self.advance()
            return _number(tok, "", tok.pos)
        if tok.kind == STRING:
            self.advance()
            return ast.Literal(tok.text, "STRING", tok.pos)
        if self.accept_op("("):
            inner = self.expr()
            self.expect_op(")")
            return inner
        if tok.kind == IDENT:
            if tok.text in ("TRUE", "FALSE"):
                self.advance()
                return ast.Literal(tok.text == "TRUE", "BOOLEAN", tok.pos)
            if tok.text == "NULL":
                self.advance()
                return ast.Literal(None, "NULL", tok.pos)
            if tok.text == "CASE":
                return self.case()
            if tok.text in ("CAST", "ARRAY", "MAP", "STRUCT", "INTERVAL", "EXISTS"):
                if self.peek().kind == OP and self.peek().text in ("(", "["):
                    raise unsupported(tok.text, tok.pos)
            if self.peek().kind == OP and self.peek().text == "(" and tok.text not in _RESERVED:
                return self.call()
        if tok.kind in (IDENT, QIDENT) and (tok.kind == QIDENT or tok.text not in _RESERVED):
            self.advance()
            if self.at_op(".") and self.peek().kind in (IDENT, QIDENT):
                self.advance()
                name = self.advance()
                return ast.ColumnRef(name.text, tok.text, name.pos)
            return ast.ColumnRef(tok.text, None, tok.pos)
        raise self.error()

    def case(self):
        start = self.expect_word("CASE")
        if not self.at_word("WHEN"):
            raise unsupported("simple CASE (CASE <expr> WHEN ...)", start.pos)
        whens = []
        while self.accept_word("WHEN"):
            cond = self.expr()
            self.expect_word("THEN")
            whens.append((cond, self.expr()))
        default = self.expr() if self.accept_word("ELSE") else None
        self.expect_word("END")
        return ast.Case(tuple(whens), default, start.pos)

    def call(self):
        name = self.advance()
        self.expect_op("(")
        if self.accept_op("*"):
            self.expect_op(")")
            return ast.FunctionCall(name.text, (), True, name.pos)
        args = []
        if not self.at_op(")"):
            if self.at_word("DISTINCT"):
                raise unsupported("DISTINCT in function calls", self.tok.pos)
            args.append(self.expr())
            while self.accept_op(","):
                args.append(self.expr())
        self.expect_op(")")
        return ast.FunctionCall(name.text, tuple(args), False, name.pos)


def _number(tok: Token, sign: str, pos) -> ast.Literal:
    """The literal of a number token (``sign`` "-" when a minus sign precedes it), checked
    as ksqlDB's AST builder checks it."""
    text = sign + tok.text
    if tok.kind == INTEGER:
        value = int(text)
        if not T.LONG_MIN <= value <= T.LONG_MAX:
            raise KsqlPrepareError(f"Invalid numeric literal: {text}", *pos)
        return _number_literal(value, pos)
    value = float(text)
    if tok.kind == DOUBLE and value in (math.inf, -math.inf):
        raise KsqlPrepareError(f"Number overflows DOUBLE: {text}", *pos)
    return ast.Literal(value, "DOUBLE" if tok.kind == DOUBLE else "DECIMAL", pos)


def json_literal(value) -> ast.Literal:
    """The SQL literal a JSON value is written as: 12 an INTEGER (a BIGINT past 32 bits),
    1.5 a DECIMAL and 1e-07 a DOUBLE (as Python writes the float), 'text' a STRING,
    true a BOOLEAN, null NULL."""
    if value is None:
        return ast.Literal(None, "NULL")
    if isinstance(value, bool):
        return ast.Literal(value, "BOOLEAN")
    if isinstance(value, str):
        return ast.Literal(value, "STRING")
    if isinstance(value, int):
        return _number_literal(value, None)
    if isinstance(value, float) and math.isfinite(value):
        return ast.Literal(value, "DOUBLE" if "e" in repr(value) else "DECIMAL")
    raise KsqlError(f"Cannot insert a value of type {type(value).__name__}: {value!r}")


def _number_literal(value: int | float, pos, kind: str | None = None) -> ast.Literal:
    if kind in ("DECIMAL", "DOUBLE"):
        return ast.Literal(value, kind, pos)
    if -2**31 <= value < 2**31:
        return ast.Literal(value, "INTEGER", pos)
    if -2**63 <= value < 2**63:
        return ast.Literal(value, "BIGINT", pos)
    raise KsqlError(f"Invalid numeric literal: {value}", *pos) if pos else KsqlError(
        f"Invalid numeric literal: {value}")
