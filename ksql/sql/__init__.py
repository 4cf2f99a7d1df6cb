"""The ksqlDB language: lexer, parser, AST, types, expressions, functions and errors.

Nothing here knows about records, queries or Kafka: text in, typed statements and
compiled expressions out. ``allowlist`` holds the words and functions ksqlDB documents.
"""

from socksort.ksql.sql.errors import KsqlError, KsqlPrepareError, KsqlSyntaxError, unsupported
from socksort.ksql.sql.parser import ParsedStatement, iter_parse, parse, split_statements
from socksort.ksql.sql.variables import UndefinedVariable, substitute

__all__ = ["KsqlError", "KsqlPrepareError", "KsqlSyntaxError", "unsupported", "ParsedStatement",
           "iter_parse", "parse", "split_statements", "UndefinedVariable", "substitute"]
