"""Split SQL text into tokens that remember their line and column.

Unquoted identifiers are upper-cased (ksqlDB is case-insensitive for them); back-quoted
identifiers keep their case; string literals use '' for a quote and have no backslash escapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from socksort.ksql.sql.errors import KsqlSyntaxError

IDENT, QIDENT, STRING, INTEGER, DECIMAL, DOUBLE, OP, EOF = (
    "IDENT", "QIDENT", "STRING", "INTEGER", "DECIMAL", "DOUBLE", "OP", "EOF")


# The words of ksqlDB's grammar that its `identifier` rule does not take unquoted (its
# keywords minus `nonReserved`): a column, source or alias so named must be back-quoted.
RESERVED_WORDS = frozenset("""
    ADVANCE ALL AND AS AT BEGINNING BETWEEN BY CASE CAST CATALOG CONNECTOR CONNECTORS CREATE
    DAYS DECIMAL DELETE DESCRIBE DISTINCT DROP ELSE END EXISTS EXPORT EXTENDED FALSE FROM FULL
    GROUP HAVING HOPPING HOURS IN INNER INSERT INTO IS JOIN LEFT LIKE LIMIT LIST LOAD
    MATERIALIZED MILLISECOND MILLISECONDS MINUTES MONTHS NAMESPACE NOT NULL ON OR OUTER PAUSE
    PRINT PROPERTIES QUERIES QUERY RENAME RESUME RETENTION RIGHT RUN SAMPLE SCRIPT SECONDS
    SELECT SIZE STREAM STREAMS TABLE TERMINATE THEN TO TOPIC TOPICS TRUE TUMBLING UNSET VALUES
    VIEW WHEN WHERE WINDOW WITH WITHIN YEARS""".split())

_PLAIN_IDENTIFIER = re.compile(r"[A-Z_][A-Z0-9_@]*|[0-9][A-Z0-9_@]*[A-Z_@][A-Z0-9_@]*")


def needs_quotes(name: str) -> bool:
    """Whether ksqlDB prints ``name`` back-quoted: it would not read back as written
    unquoted (lower case, other characters, a reserved word)."""
    return _PLAIN_IDENTIFIER.fullmatch(name) is None or name in RESERVED_WORDS


def quoted(name: str) -> str:
    return f"`{name}`" if needs_quotes(name) else name


@dataclass(frozen=True)
class Token:
    kind: str
    text: str          # normalised: upper-case for IDENT, unquoted for QIDENT/STRING
    offset: int        # index of the first character in the source text
    end: int           # index after the last character
    line: int
    col: int

    @property
    def pos(self) -> tuple[int, int]:
        return (self.line, self.col)


_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>--[^\n]*)
  | (?P<block>/\*.*?\*/)
  | (?P<double>(?:\d+\.?\d*|\.\d+)[eE][+-]?\d+)
  | (?P<decimal>\d+\.\d*|\.\d+)
  | (?P<integer>\d+)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_@$]*)
  | (?P<qident>`(?:[^`]|``)*`|"(?:[^"]|"")*")
  | (?P<string>'(?:[^']|'')*')
  | (?P<op><>|!=|<=|>=|=>|::|->|\|\||[-+*/%=<>(),.;\[\]{}:])
""", re.VERBOSE | re.DOTALL)


_DIGIT_IDENT_RE = re.compile(r"\d[A-Za-z0-9_@]+")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos, line, line_start = 0, 1, 0
    n = len(text)
    while pos < n:
        m = _TOKEN_RE.match(text, pos)
        if not m:
            raise KsqlSyntaxError(f"token recognition error at: '{text[pos]}'", line,
                                  pos - line_start + 1)
        kind = m.lastgroup
        raw = m.group()
        if kind in ("double", "decimal", "integer"):
            # ksqlDB's DIGIT_IDENTIFIER: digits then letters (`1_ROUND`) is one identifier
            # when it is longer than the number that starts it (so `1E5` stays a number).
            word = _DIGIT_IDENT_RE.match(text, pos)
            if word and word.end() > m.end():
                m, kind, raw = word, "ident", word.group()
        col = pos - line_start + 1
        if kind not in ("ws", "comment", "block"):
            tokens.append(_make(kind, raw, pos, m.end(), line, col))
        newlines = raw.count("\n")
        if newlines:
            line += newlines
            line_start = pos + raw.rindex("\n") + 1
        pos = m.end()
    tokens.append(Token(EOF, "", n, n, line, n - line_start + 1))
    return tokens


def _make(kind: str, raw: str, start: int, end: int, line: int, col: int) -> Token:
    if kind == "ident":
        return Token(IDENT, raw.upper(), start, end, line, col)
    if kind == "qident":
        quote = raw[0]
        return Token(QIDENT, raw[1:-1].replace(quote * 2, quote), start, end, line, col)
    if kind == "string":
        return Token(STRING, raw[1:-1].replace("''", "'"), start, end, line, col)
    if kind == "integer":
        return Token(INTEGER, raw, start, end, line, col)
    if kind == "decimal":
        return Token(DECIMAL, raw, start, end, line, col)
    if kind == "double":
        return Token(DOUBLE, raw, start, end, line, col)
    return Token(OP, raw, start, end, line, col)
