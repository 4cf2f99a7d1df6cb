"""How closely the engine follows ksqlDB: its own query-validation tests (QTT), measured.

ksqlDB's suite (``ksqldb-functional-tests/src/test/resources/query-validation-tests/*.json``
in confluentinc/ksql) is the specification. This module reads it from a git directory of
that repository, writes every case in the ``ksql-test-runner`` layout (statements.sql,
input.json, output.json; see ../shared/ksql-conformance/README.md) under an ignored folder,
decides mechanically whether each case stays inside the subset ``ksql/ENGINE.md`` claims
(:func:`outside_subset`, the definition written down in ENGINE.md "Measured against
ksqlDB's own tests"), runs the ones inside through the engine and sorts the results:

    pass               outputs match, or ksqlDB's error and ours agree
    silently-wrong     both accept the statements, the outputs differ
    wrongly-accepted   ksqlDB rejects a statement, the engine runs it
    wrongly-rejected   the engine rejects a statement ksqlDB runs
    wrong-message      both reject, with different messages
    crashed            a Python exception escaped (an engine bug)

    socksort ksql-fidelity --ksql-git /work/.mirror/confluentinc+ksql/repo [--json]

Nothing of ksqlDB's is kept in the repository: the cases are regenerated from the git
directory into ``--out`` (default ``.cache/qtt``) on every run.
"""

from __future__ import annotations

import decimal
import json
import os
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from socksort.ksql.engine import Engine
from socksort.ksql.sql import functions, lexer
from socksort.ksql.sql.errors import KsqlError
from socksort.ksql.testrunner import compare, runner
from socksort.paths import ksql_conformance_dir

QTT_PATH = "ksqldb-functional-tests/src/test/resources/query-validation-tests"
SHARED_MANIFEST = ksql_conformance_dir() / "MANIFEST.tsv"

CATEGORIES = ("pass", "silently-wrong", "wrongly-accepted", "wrongly-rejected",
              "wrong-message", "crashed")


# --- reading the suite ----------------------------------------------------------------

@dataclass
class QttCase:
    """One concrete QTT case (a format/config matrix expanded into its variants)."""
    file: str                       # QTT file name, e.g. "substring.json"
    name: str                       # QTT case name (+ " - FORMAT" for a format matrix)
    statements: list
    inputs: list
    outputs: list
    properties: dict
    expected_error: dict | None     # {"type", "message"} when ksqlDB rejects the case
    schemas: bool                   # the case registers schemas ("topics"): schema registry
    enabled: bool = True


def _strip_comments(text: str) -> str:
    """QTT files are read with comments allowed: drop // and /* */ outside strings."""
    return re.sub(r'("(?:[^"\\]|\\.)*")|//[^\n]*|/\*.*?\*/',
                  lambda m: m.group(1) or "", text, flags=re.S)


def _parse(text: str):
    # Decimal keeps the numbers' spelling, so the case files carry ksqlDB's exact digits.
    return json.loads(_strip_comments(text), parse_float=decimal.Decimal)


def _git(git_dir: str, *args: str) -> str:
    return subprocess.check_output(["git", "--git-dir", git_dir, *args], text=True)


def read_suite(git_dir: str, commit: str = "HEAD") -> tuple[str, list[QttCase]]:
    """(resolved commit, every case of every QTT file at that commit)."""
    sha = _git(git_dir, "rev-parse", commit + "^{commit}").strip()
    names = _git(git_dir, "ls-tree", "--name-only", sha, QTT_PATH + "/").split()
    cases = []
    for path in sorted(names):
        if not path.endswith(".json"):
            continue
        doc = _parse(_git(git_dir, "show", f"{sha}:{path}"))
        for test in doc.get("tests", []):
            cases += _variants(os.path.basename(path), test)
    return sha, cases


def _variants(file: str, test: dict) -> list[QttCase]:
    """A QTT test runs once per entry of its "format" and "config" lists ({FORMAT} and
    {CONFIG} placeholders in its text); each run is one case here."""
    out = []
    formats_ = test.get("format") or [None]
    configs = test.get("config") or [None]
    for fmt in formats_:
        for config in configs:
            text = _dump(test)
            if fmt is not None:
                text = text.replace("{FORMAT}", fmt)
            if config is not None:
                text = text.replace("{CONFIG}", str(config))
            t = json.loads(text, parse_float=decimal.Decimal)
            name = t["name"] + (f" - {fmt}" if fmt is not None else "")
            if config is not None and len(configs) > 1:
                name += f" - config {config}"
            out.append(QttCase(file, name, t["statements"], t.get("inputs", []),
                               t.get("outputs", []), t.get("properties") or {},
                               t.get("expectedException"), bool(t.get("topics")),
                               t.get("enabled", True) is not False))
    return out


def _dump(value) -> str:
    """JSON text of a parsed QTT value, numbers written with their original digits."""
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(json.dumps(k, ensure_ascii=False) + ": " + _dump(v)
                               for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_dump(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


# --- the claimed subset, mechanically -------------------------------------------------
# Each rule below is a line of ENGINE.md ("The SQL subset", the statement table, the
# function registry); a case is inside the subset when no rule names a reason.

# Column types: "Types BOOLEAN, INT/INTEGER, BIGINT, DOUBLE, VARCHAR/STRING" and
# STRUCT/ARRAY value columns of a JSON source.
SCALAR_TYPES = {"BOOLEAN", "INT", "INTEGER", "BIGINT", "DOUBLE", "VARCHAR", "STRING"}
COMPLEX_TYPES = {"STRUCT", "ARRAY"}
# ksqlDB's types the engine lacks (any other name is no type at all: both refuse it).
KSQLDB_ONLY_TYPES = {"DECIMAL", "MAP", "BYTES", "DATE", "TIME", "TIMESTAMP"}
VALUE_FORMATS = {"JSON", "DELIMITED"}
KEY_FORMATS = {"KAFKA", "JSON", "NONE"}
# WITH properties of CREATE and CREATE ... AS SELECT the engine implements.
WITH_PROPERTIES = {"KAFKA_TOPIC", "VALUE_FORMAT", "KEY_FORMAT", "FORMAT", "PARTITIONS",
                   "REPLICAS", "TIMESTAMP", "WINDOW_TYPE", "WINDOW_SIZE", "VALUE_DELIMITER"}
# Server properties a case may set: the engine behaves as these values say anyway.
PROPERTIES = {
    "ksql.streams.__emit.interval.ms.kstreams.windowed.aggregation__": {"0"},
    "ksql.streams.default.timestamp.extractor": {
        "org.apache.kafka.streams.processor.LogAndSkipOnInvalidTimestamp"},
    "ksql.windowed.session.key.legacy": {"false"},
    "ksql.new.query.planner.enabled": {"false"},
    "ksql.functions.substring.legacy.args": {"false"},
}
# Words that mark a construct ENGINE.md lists as rejected or does not list at all.
OUTSIDE_WORDS = {
    "JOIN": "join", "PARTITION": "partition-by", "CAST": "cast", "LIKE": "like",
    "BETWEEN": "between", "IN": "in-list", "DISTINCT": "distinct", "WITHIN": "join",
    "GROUPING": "grouping-sets", "RETENTION": "window-retention", "ROWPARTITION": "rowpartition",
    "ROWOFFSET": "rowoffset", "HEADER": "headers", "HEADERS": "headers", "INTERVAL": "interval",
    "MAP": "map",
}
# Statements ENGINE.md's table lists (the first word; CREATE is looked at closer).
STATEMENTS = {"CREATE", "DROP", "TERMINATE", "SHOW", "LIST", "DESCRIBE", "SET", "UNSET",
              "INSERT", "SELECT"}
# Words before "(" that do not call a function.
_NOT_CALLS = {"WITH", "AS", "VALUES", "KEY", "TUMBLING", "HOPPING", "SESSION", "BY", "AND", "OR",
              "NOT", "WHEN", "THEN", "ELSE", "SELECT", "FROM", "WHERE", "HAVING", "ON", "IN",
              "EXISTS", "STREAM", "TABLE", "IS", "CASE", "END", "INTO", "VARCHAR", "STRING",
              "BIGINT", "INT", "INTEGER", "DOUBLE", "BOOLEAN", "DECIMAL", "STRUCT", "ARRAY",
              "MAP", "PRIMARY", "WINDOW", "GROUP", "EMIT", "CHANGES", "FINAL"}


def outside_subset(case: QttCase) -> list[str]:
    """Why ``case`` is outside the subset ENGINE.md claims (empty: inside)."""
    reasons = []
    if not case.enabled:
        reasons.append("disabled-in-ksqldb")
    if case.schemas:
        reasons.append("schema-registry")
    for name, value in case.properties.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if text not in PROPERTIES.get(name, ()):
            reasons.append(f"property {name}={text}")
    records = case.inputs + case.outputs
    if any("headers" in r for r in records):
        reasons.append("headers")
    formats_seen = set()
    # A function ksqlDB reports unknown is inside (both must refuse it alike); any other
    # name the registry lacks is one of ksqlDB's functions (documented, or a test UDF).
    message = (case.expected_error or {}).get("message") or ""
    unknown = set(re.findall(r"Can't find any functions with the name '(\w+)'", message))
    for text in case.statements:
        reasons += _statement_reasons(text, formats_seen, {u.upper() for u in unknown})
    if "DELIMITED" in formats_seen and any(
            isinstance(r.get("value"), str) and ('"' in r["value"] or "\\" in r["value"])
            for r in records):
        reasons.append("delimited-quoting")
    return sorted(set(reasons))


def _words(text: str) -> list | None:
    try:
        return lexer.tokenize(text)
    except KsqlError:
        return None            # a lexical error is the engine's to report: inside the subset


def _statement_reasons(text: str, formats_seen: set, unknown_to_ksqldb: set) -> list[str]:
    tokens = _words(text)
    if tokens is None:
        return []
    words = [t.text if t.kind == lexer.IDENT else None for t in tokens]
    ops = [t.text if t.kind == lexer.OP else None for t in tokens]
    reasons = []
    first = words[0] if words else None
    if first not in STATEMENTS:
        return [f"statement {first or text[:20]!r}"]
    if first == "CREATE":
        reasons += _create_reasons(tokens, words, ops, formats_seen)
    if first == "INSERT" and "SELECT" in words:
        reasons.append("insert-into-select")
    known = set(functions.names()[0]) | set(functions.names()[1])
    ksqldb_functions = functions.ksqldb_function_names()
    named = _declared_name_index(words)
    for i, w in enumerate(words):
        nxt = ops[i + 1] if i + 1 < len(ops) else None
        if w in OUTSIDE_WORDS and not (w in ("HEADER", "HEADERS") and nxt == "="):
            if not (w == "MAP" and nxt not in ("(", "<")):
                reasons.append(OUTSIDE_WORDS[w])
        if w in ("STRUCT", "ARRAY") and nxt in ("(", "["):
            reasons.append(f"{w.lower()}-constructor")
        if w == "CASE" and words[i + 1] != "WHEN":
            reasons.append("simple-case")
        if w == "IS" and "DISTINCT" in words[i + 1:i + 3]:
            reasons.append("is-distinct-from")
        if (w is not None and nxt == "(" and i != named and w not in _NOT_CALLS
                and w not in OUTSIDE_WORDS and (i == 0 or ops[i - 1] != ".")):
            if w not in known and (w in ksqldb_functions or w not in unknown_to_ksqldb):
                reasons.append(f"function {w}")
    for op in ops:
        if op in ("[", "=>", "::", "{"):
            reasons.append({"[": "subscript", "=>": "lambda", "::": "cast",
                            "{": "map-literal"}[op])
    return reasons


def _declared_name_index(words: list) -> int | None:
    """Index of the name a CREATE or INSERT INTO declares (followed by its column list)."""
    if words[:1] == ["INSERT"]:
        return 2
    if words[:1] != ["CREATE"]:
        return None
    i = 2 if words[1:2] != ["OR"] else 4
    return i + 3 if words[i:i + 3] == ["IF", "NOT", "EXISTS"] else i


def _create_reasons(tokens, words, ops, formats_seen: set) -> list[str]:
    reasons = []
    second = words[1] if len(words) > 1 else None
    if second == "OR":
        return ["create-or-replace"]
    if second not in ("STREAM", "TABLE"):
        return [f"create {second}"]
    as_select = "SELECT" in words
    i = 2
    if words[i:i + 3] == ["IF", "NOT", "EXISTS"]:
        i += 3
    i += 1                                           # the name
    columns = []
    if i < len(ops) and ops[i] == "(":
        columns, i = _column_defs(tokens, i + 1)
    elif not as_select:
        reasons.append("schema-inference")
    props = {}
    if i < len(words) and words[i] == "WITH":
        props = _with_props(tokens, i + 1)
    for name, value in props.items():
        if name not in WITH_PROPERTIES:
            reasons.append(f"with {name}")
    value_format = (props.get("VALUE_FORMAT") or props.get("FORMAT") or "").upper()
    key_format = (props.get("KEY_FORMAT") or props.get("FORMAT") or "").upper()
    if value_format:
        formats_seen.add(value_format)
        if value_format not in VALUE_FORMATS:
            reasons.append(f"value-format {value_format}")
    if key_format and key_format not in KEY_FORMATS:
        reasons.append(f"key-format {key_format}")
    if props.get("VALUE_DELIMITER", ",") not in (",", "COMMA"):
        reasons.append("value-delimiter")
    for name, type_words, key in columns:
        for w in type_words:
            if w in KSQLDB_ONLY_TYPES:
                reasons.append(f"type {w}")
        if COMPLEX_TYPES & set(type_words) and (key or value_format not in ("JSON", "")):
            reasons.append("struct-or-array-outside-json-value")
    return reasons


def _column_defs(tokens, i: int) -> tuple[list, int]:
    """[(name, [type words], key?)] of a column list starting after its "(", and the index
    after its ")"."""
    columns, depth, current = [], 0, []
    while i < len(tokens) and tokens[i].kind != lexer.EOF:
        t = tokens[i]
        if t.kind == lexer.OP and t.text in ("(", "<"):
            depth += 1
        elif t.kind == lexer.OP and t.text in (")", ">"):
            if depth == 0:
                columns.append(current)
                i += 1
                break
            depth -= 1
        elif t.kind == lexer.OP and t.text == "," and depth == 0:
            columns.append(current)
            current = []
            i += 1
            continue
        current.append(t)
        i += 1
    out = []
    for col in columns:
        if not col:
            continue
        words = [t.text for t in col[1:] if t.kind == lexer.IDENT]
        key = "KEY" in words
        # Type words: identifiers before KEY/PRIMARY/HEADER, without the field names of
        # a STRUCT<name type, ...> (the identifier after its "<" or ",").
        type_words, stack, prev = [], [], None
        for t in col[1:]:
            if t.kind == lexer.IDENT and t.text in ("KEY", "PRIMARY", "HEADER", "HEADERS"):
                break
            if t.kind == lexer.OP and t.text == "<":
                stack.append(prev.text if prev is not None else "")
            elif t.kind == lexer.OP and t.text == ">" and stack:
                stack.pop()
            elif t.kind in (lexer.IDENT, lexer.QIDENT):
                field_name = (stack and stack[-1] == "STRUCT" and prev is not None
                              and prev.kind == lexer.OP and prev.text in ("<", ","))
                if not field_name and t.kind == lexer.IDENT:
                    type_words.append(t.text)
            prev = t
        out.append((col[0].text, type_words, key))
    return out, i


def _with_props(tokens, i: int) -> dict:
    props = {}
    if i >= len(tokens) or tokens[i].text != "(":
        return props
    i += 1
    while i + 2 < len(tokens):
        name, eq, value = tokens[i], tokens[i + 1], tokens[i + 2]
        if eq.text != "=":
            break
        props[name.text.upper()] = value.text
        i += 3
        if tokens[i].text != ",":
            break
        i += 1
    return props


# --- writing the cases ------------------------------------------------------------------

def _folder_name(case: QttCase) -> str:
    stem = case.file[:-len(".json")]
    return stem + "__" + (re.sub(r"[^A-Za-z0-9]+", "-", case.name).strip("-").lower()[:90]
                          or "case")


def _records_text(field_name: str, records: list) -> str:
    keep = ("topic", "timestamp", "key", "value", "window")
    lines = [_dump({k: r[k] for k in keep if k in r}) for r in records]
    body = ",\n".join("    " + line for line in lines)
    return "{\n  \"%s\": [\n%s%s  ]\n}\n" % (field_name, body, "\n" if lines else "")


def _statements_text(case: QttCase, sha: str) -> str:
    lines = [f"-- Converted from confluentinc/ksql {QTT_PATH}/{case.file}",
             f"-- commit {sha}, test case: {' '.join(case.name.split())}"]
    if case.expected_error:
        if case.expected_error.get("type"):
            lines.append(f"--@expected.error: {case.expected_error['type']}")
        message = (case.expected_error.get("message") or "").split("\n")[0].rstrip()
        if message:
            lines.append(f"--@expected.message: {message}")
    for name, value in case.properties.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        lines.append(f"SET '{name}' = '{text}';")
    for s in case.statements:
        s = s.strip()
        lines.append(s if s.endswith(";") else s + ";")
    return "\n".join(lines) + "\n"


def write_case(case: QttCase, sha: str, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "statements.sql").write_text(_statements_text(case, sha), encoding="utf-8")
    (folder / "input.json").write_text(_records_text("inputs", case.inputs), encoding="utf-8")
    (folder / "output.json").write_text(_records_text("outputs", case.outputs), encoding="utf-8")


# --- running and classifying -------------------------------------------------------------

@dataclass
class Outcome:
    folder: str
    file: str
    name: str
    expects_error: bool
    shared: bool                        # one of the 200 cases in ../shared/ksql-conformance
    outside: list = field(default_factory=list)
    category: str | None = None         # None when outside the subset
    detail: str = ""


def classify(folder: Path) -> tuple[str, str]:
    """(category, detail) of one case folder, judged by the ksql-test-runner rules."""
    text = (folder / "statements.sql").read_text(encoding="utf-8")
    inputs = json.loads((folder / "input.json").read_text(encoding="utf-8"))["inputs"]
    expected = json.loads((folder / "output.json").read_text(encoding="utf-8"))["outputs"]
    error_class, message = runner.expected_error(text)
    engine = Engine()
    try:
        run = runner.run(text, inputs, engine=engine)
    except Exception as exc:  # noqa: BLE001 - an engine bug is one of the results
        return "crashed", f"{type(exc).__name__}: {exc}"
    if error_class is not None or message is not None:
        if run.error is None:
            return "wrongly-accepted", f"expected: {message or error_class}"
        got = str(run.error).replace("\n", " | ")
        if message is None or message in str(run.error):
            return "pass", ""
        if run.failed_statement != run.statement_count - 1:
            return "wrongly-rejected", f"statement {run.failed_statement + 1}: {got}"
        return "wrong-message", f"got: {got} | expected: {message}"
    if run.error is not None:
        got = str(run.error).replace("\n", " | ")
        return "wrongly-rejected", f"statement {run.failed_statement + 1}: {got}"
    if engine.stats.errors:
        return "crashed", f"{engine.stats.errors} record(s) failed inside a query"
    verdict = compare.compare(expected, run.outputs, run.sink_topics)
    if not verdict.passed:
        return "silently-wrong", " | ".join(verdict.problems[:3])
    return "pass", ""


def _shared_cases() -> set:
    """(QTT file, case name) of the 200 shared conformance cases."""
    if not SHARED_MANIFEST.is_file():
        return set()
    rows = SHARED_MANIFEST.read_text(encoding="utf-8").splitlines()[1:]
    return {(os.path.basename(r.split("\t")[1]), r.split("\t")[3]) for r in rows if r}


def measure(git_dir: str, out: Path, commit: str = "HEAD", progress=None) -> tuple[str, list]:
    """Convert the suite into ``out``/cases and classify every case inside the subset."""
    sha, cases = read_suite(git_dir, commit)
    cases_dir = out / "cases"
    if cases_dir.is_dir():
        shutil.rmtree(cases_dir)
    shared = _shared_cases()
    outcomes, used = [], set()
    for n, case in enumerate(cases):
        name = base = _folder_name(case)
        k = 2
        while name in used:
            name, k = f"{base}-{k}", k + 1
        used.add(name)
        write_case(case, sha, cases_dir / name)
        outcome = Outcome(name, case.file, case.name, bool(case.expected_error),
                          (case.file, case.name) in shared, outside_subset(case))
        if not outcome.outside:
            outcome.category, outcome.detail = classify(cases_dir / name)
        outcomes.append(outcome)
        if progress is not None:
            progress(n + 1, len(cases))
    _write_manifest(out / "MANIFEST.tsv", outcomes)
    return sha, outcomes


def _write_manifest(path: Path, outcomes: list) -> None:
    lines = ["folder\tqtt_file\tqtt_case\tshared\tcategory\toutside_subset\tdetail"]
    for o in outcomes:
        lines.append("\t".join([o.folder, o.file, o.name.replace("\t", " "),
                                "yes" if o.shared else "no", o.category or "outside",
                                ",".join(o.outside), o.detail.replace("\t", " ")[:400]]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def summary(outcomes: list) -> dict:
    """Counts per category: all cases inside the subset, and beyond the 200 shared ones,
    split into cases with outputs and cases ksqlDB rejects."""
    inside = [o for o in outcomes if o.category is not None]
    beyond = [o for o in inside if not o.shared]

    def counts(group):
        c = Counter(o.category for o in group)
        return {"cases": len(group), **{k: c.get(k, 0) for k in CATEGORIES},
                "pass_rate": round(c.get("pass", 0) / len(group), 4) if group else None}
    return {
        "suite_cases": len(outcomes),
        "outside_subset": len(outcomes) - len(inside),
        "inside": counts(inside),
        "beyond_shared": counts(beyond),
        "beyond_shared_outputs": counts([o for o in beyond if not o.expects_error]),
        "beyond_shared_rejections": counts([o for o in beyond if o.expects_error]),
        "outside_reasons": dict(Counter(r for o in outcomes for r in o.outside).most_common(40)),
    }
