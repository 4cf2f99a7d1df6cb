"""The engine's one error type: ksqlDB's message plus where in the statement text it applies."""

from __future__ import annotations


class KsqlError(Exception):
    """A statement ksqlDB would reject (or that is outside the engine's subset).

    ``message`` is ksqlDB's text where ksqlDB has one; ``line``/``column`` are 1-based
    positions in the text given to ``Engine.execute``; ``statement_text`` is the failing
    statement's own text, once known.
    """

    def __init__(self, message: str, line: int | None = None, column: int | None = None,
                 statement_text: str | None = None, error_code: int = 40001):
        self.message = message
        self.line = line
        self.column = column
        self.statement_text = statement_text
        self.error_code = error_code
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.line is not None:
            return f"Line: {self.line}, Col: {self.column}: {self.message}"
        return self.message

    def at(self, pos) -> "KsqlError":
        """Attach a (line, column) position unless one is already known."""
        if self.line is None and pos is not None:
            self.line, self.column = pos
            self.args = (str(self),)
        return self

    def in_statement(self, text: str) -> "KsqlError":
        """Name the statement that failed unless one is already named."""
        if not self.statement_text:
            self.statement_text = text
        return self


class KsqlSyntaxError(KsqlError):
    """A statement the grammar rejects. ksqlDB prints these as its ParseFailedException
    does: ``line L:C: Syntax Error`` and the details on the next line."""

    def __str__(self) -> str:
        if self.line is not None:
            return f"line {self.line}:{self.column}: {self.message}"
        return self.message


class KsqlPrepareError(KsqlError):
    """A statement the grammar accepts but ksqlDB's AST builder rejects (an integer literal
    out of range, a DOUBLE overflow): ``Failed to prepare statement: line L:C: ...``.
    ksqlDB prints the column one past the node's (its ParsingException adds 1 to a
    column that is already 1-based); ``column`` itself is the true one."""

    def __str__(self) -> str:
        if self.line is not None:
            return (f"Failed to prepare statement: line {self.line}:{self.column + 1}: "
                    f"{self.message}")
        return f"Failed to prepare statement: {self.message}"


def unsupported(what: str, pos=None) -> KsqlError:
    line, col = pos if pos else (None, None)
    return KsqlError(f"{what} is not supported by the embedded engine", line, col)
