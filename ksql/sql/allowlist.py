"""Check ksqlDB SQL against the words and functions ksqlDB 0.29 documents.

No ksqlDB server runs here, so this is how ``ksql/*.ksql`` is held to "only what real
ksqlDB has": every word must be a documented keyword, data type, pseudo column or WITH
property, or a name the file itself declares (a stream, table, column or alias); every
function call must name a documented function that exists in the target version. The
word lists live in ``ksqldb_allowlist.json`` with the documentation pages they come from.

    python -m socksort.ksql.sql.allowlist ksql/pipeline.ksql ksql/connector.ksql
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).with_name("ksqldb_allowlist.json")

_TOKEN = re.compile(r"""
    (?P<comment>--[^\n]*)
  | (?P<string>'(?:[^']|'')*')
  | (?P<quoted>`[^`]*`|"[^"]*")
  | (?P<number>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><>|!=|<=|>=|=>|:=|->|[-+*/%=<>(),.;\[\]{}:])
  | (?P<space>\s+)
  | (?P<other>.)
""", re.VERBOSE)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    line: int

    @property
    def upper(self) -> str:
        return self.text.upper()


@dataclass(frozen=True)
class Problem:
    line: int
    message: str


@dataclass(frozen=True)
class AllowList:
    target: tuple[int, ...]
    keywords: frozenset
    emit_keywords: frozenset
    data_types: frozenset
    pseudo_columns: frozenset
    with_properties: frozenset
    functions: dict  # NAME -> since version tuple, () when documented without one


def load(path: Path = DATA, target: str | None = None) -> AllowList:
    data = json.loads(path.read_text())
    functions = {name: _version(since)
                 for group in ("aggregate_functions", "scalar_functions", "table_functions")
                 for name, since in data[group].items()}
    return AllowList(
        target=_version(target or data["target_version"]),
        keywords=frozenset(data["keywords"]),
        emit_keywords=frozenset(data["emit_keywords"]),
        data_types=frozenset(data["data_types"]),
        pseudo_columns=frozenset(data["pseudo_columns"]),
        with_properties=frozenset(data["with_properties"]),
        functions=functions,
    )


def _version(text: str) -> tuple[int, ...]:
    return () if text.strip() == "-" else tuple(int(part) for part in text.split("."))


def tokenize(text: str) -> list[Token]:
    tokens, line = [], 1
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind not in ("comment", "space"):
            tokens.append(Token(kind, m.group(), line))
        line += m.group().count("\n")
    return tokens


def check(text: str, allow: AllowList | None = None) -> list[Problem]:
    """Every word and function in ``text`` that ksqlDB (of the allow-list's version) lacks."""
    allow = allow or load()
    tokens = tokenize(text)
    declared = _declared_names(tokens, allow)
    problems = []
    for i, tok in enumerate(tokens):
        if tok.kind == "other":
            problems.append(Problem(tok.line, f"unexpected character {tok.text!r}"))
        if tok.kind != "word":
            continue
        word = tok.upper
        calls = i + 1 < len(tokens) and tokens[i + 1].text == "("
        if calls and word not in allow.keywords and word not in declared:
            problems.extend(_check_function(tok, allow))
        elif _in_with_clause(tokens, i):
            if word not in allow.with_properties:
                problems.append(Problem(tok.line, f"{tok.text} is not a documented WITH property"))
        elif word in allow.emit_keywords:
            if i == 0 or tokens[i - 1].upper != "EMIT":
                problems.append(Problem(tok.line, f"{tok.text} is only a keyword after EMIT"))
        elif not (word in allow.keywords or word in allow.data_types
                  or word in allow.pseudo_columns or word in declared):
            problems.append(Problem(
                tok.line, f"{tok.text} is not a ksqlDB keyword, type or function, "
                          "nor a name declared in the file"))
    return problems


def _check_function(tok: Token, allow: AllowList) -> list[Problem]:
    since = allow.functions.get(tok.upper)
    if since is None:
        return [Problem(tok.line, f"{tok.text}() is not a documented ksqlDB function")]
    if since > allow.target:
        needed = ".".join(map(str, since))
        have = ".".join(map(str, allow.target))
        return [Problem(tok.line, f"{tok.text}() needs ksqlDB {needed}, the target is {have}")]
    return []


def _in_with_clause(tokens: list[Token], i: int) -> bool:
    """Is the word at ``i`` a property name in a ``WITH (name = value, ...)`` clause?"""
    if i + 1 >= len(tokens) or tokens[i + 1].text != "=":
        return False
    depth = 0
    for j in range(i - 1, -1, -1):
        text = tokens[j].text
        if text == ")":
            depth += 1
        elif text == "(":
            if depth == 0:
                return j > 0 and tokens[j - 1].upper == "WITH"
            depth -= 1
    return False


def _declared_names(tokens: list[Token], allow: AllowList) -> set[str]:
    """Source names after CREATE STREAM/TABLE, their column names, and AS aliases."""
    names: set[str] = set()
    for i, tok in enumerate(tokens):
        word = tok.upper if tok.kind == "word" else None
        if word in ("STREAM", "TABLE") and i > 0 and tokens[i - 1].upper == "CREATE":
            j = i + 1
            while j < len(tokens) and tokens[j].upper in ("IF", "NOT", "EXISTS"):
                j += 1
            if j < len(tokens) and tokens[j].kind == "word":
                names.add(tokens[j].upper)
                if j + 1 < len(tokens) and tokens[j + 1].text == "(":
                    names |= _column_names(tokens, j + 1)
        elif word == "AS" and i + 1 < len(tokens) and tokens[i + 1].kind == "word":
            following = tokens[i + 1].upper
            if following not in allow.keywords and following not in allow.data_types:
                names.add(following)
    return names


def _column_names(tokens: list[Token], open_paren: int) -> set[str]:
    """The first word of each comma-separated element of a column list, and of each field
    of a STRUCT<name type, ...> in a column's type (``OBJECTS[1]->LABEL`` names a field)."""
    names, expect_name = set(), True
    # One entry per open bracket: whether its elements are named (the column list, a STRUCT).
    named = [True]
    previous = None
    for tok in tokens[open_paren + 1:]:
        if tok.text in ("(", "<"):
            named.append(tok.text == "<" and previous is not None and previous.upper == "STRUCT")
            expect_name = named[-1]
        elif tok.text in (")", ">"):
            named.pop()
            if not named:
                break
        elif tok.text == "," and named[-1]:
            expect_name = True
        elif expect_name and tok.kind == "word":
            names.add(tok.upper)
            expect_name = False
        previous = tok
    return names


def main(argv: list[str]) -> int:
    allow = load()
    failed = False
    for name in argv:
        for problem in check(Path(name).read_text(), allow):
            print(f"{name}:{problem.line}: {problem.message}")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
