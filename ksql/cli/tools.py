"""Engine tools: `socksort ksql-test-runner`, `socksort ksql-run` (in-process, no broker) and
`socksort ksql-fidelity` (the engine measured against ksqlDB's own tests).

Each command imports the engine when it runs, so registering them costs `socksort --help`
nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from socksort import progress
from socksort.errors import UserError
from socksort.paths import cache_dir, ksql_git_mirror


def register(commands) -> None:
    """Add the engine tools' subcommands."""
    test = commands.add_parser(
        "ksql-test-runner", help="run ksqlDB statements on input records and compare the output",
        description="Execute statements.sql in-process over input.json and compare the records "
                    "the queries write with output.json (ksqlDB's ksql-test-runner format). "
                    "Exit 0 on a match, 1 with a diff otherwise.")
    _case_files(test, with_output=True)
    test.set_defaults(func=_test_runner)

    run = commands.add_parser(
        "ksql-run", help="run ksqlDB statements on input records and print what they write",
        description="Execute statements.sql in-process over input.json and print the records "
                    "the queries write as {\"outputs\": [...]}.")
    _case_files(run, with_output=False)
    run.set_defaults(func=_run)

    fidelity = commands.add_parser(
        "ksql-fidelity", help="run ksqlDB's own query-validation tests inside the engine's subset",
        description="Convert every case of ksqlDB's query-validation tests (from a git "
                    "directory of confluentinc/ksql) into --out/cases, run those inside the "
                    "subset ksql/ENGINE.md claims, and count passes, silently wrong answers, "
                    "wrongly accepted or rejected statements and wrong messages.")
    fidelity.add_argument("--ksql-git", default=str(ksql_git_mirror()),
                          help="git directory of confluentinc/ksql (default: SOCKSORT_KSQL_GIT, "
                               "else the mirror `fetch github:confluentinc/ksql` makes: "
                               "%(default)s)")
    fidelity.add_argument("--commit", default="HEAD", help="commit of the suite (default HEAD)")
    fidelity.add_argument("--out", type=Path, default=cache_dir() / "qtt",
                          help="folder for the converted cases and MANIFEST.tsv "
                               "(default .cache/qtt in the checkout)")
    fidelity.add_argument("--show", metavar="CATEGORY", action="append", default=[],
                          help="also list the cases of this category with the reason (repeatable)")
    fidelity.add_argument("--json", action="store_true", help="print the summary as JSON")
    fidelity.set_defaults(func=_fidelity)


def _case_files(parser: argparse.ArgumentParser, with_output: bool) -> None:
    parser.add_argument("-s", "--sql-file", required=True, type=Path, metavar="statements.sql",
                        help="the statements to execute, each ending in ';'")
    parser.add_argument("-i", "--input-file", required=True, type=Path, metavar="input.json",
                        help='{"inputs": [{"topic", "key", "value", "timestamp", "window"}, ...]}')
    if with_output:
        parser.add_argument("-o", "--output-file", required=True, type=Path, metavar="output.json",
                            help='{"outputs": [...]}: the records the queries must write')


def _read_json(path: Path, field: str) -> list:
    text = _read(path)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UserError(f"{path}: not JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get(field, []), list):
        raise UserError(f"{path}: expected an object with a list \"{field}\"")
    records = data.get(field, [])
    for i, rec in enumerate(records):
        if not isinstance(rec, dict) or "topic" not in rec:
            raise UserError(f"{path}: {field}[{i}] is not a record with a \"topic\"")
    return records


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None


def _test_runner(args) -> int:
    from socksort.ksql.testrunner.compare import check_case

    verdict = check_case(_read(args.sql_file), _read_json(args.input_file, "inputs"),
                         _read_json(args.output_file, "outputs"))
    if verdict.passed:
        print("\t >>> Test passed!")
        return 0
    print("\t >>> Test failed!", file=sys.stderr)
    for problem in verdict.problems:
        print(f"  {problem}", file=sys.stderr)
    return 1


def _run(args) -> int:
    from socksort.ksql.testrunner.runner import run

    result = run(_read(args.sql_file), _read_json(args.input_file, "inputs"))
    if result.error is not None:
        raise UserError(f"statement {result.failed_statement + 1}: {result.error}".replace("\n", " "))
    # One record per line, like the case files.
    lines = ",\n".join("    " + json.dumps(rec) for rec in result.outputs)
    print('{\n  "outputs": [\n' + lines + ("\n" if lines else "") + "  ]\n}")
    return 0


def _fidelity(args) -> int:
    from socksort.ksql.testrunner import fidelity

    if not Path(args.ksql_git).exists():
        raise UserError(f"--ksql-git {args.ksql_git}: no such git directory "
                        "(fetch github:confluentinc/ksql brings one)")
    for category in args.show:
        if category not in fidelity.CATEGORIES:
            raise UserError(f"--show {category}: not one of {', '.join(fidelity.CATEGORIES)}")
    bar = None

    def report(done, total):
        nonlocal bar
        if bar is None:
            bar = progress.Bar(total, "QTT cases")
        bar.update(1)
    try:
        sha, outcomes = fidelity.measure(args.ksql_git, args.out, args.commit, report)
    except subprocess.CalledProcessError as exc:
        raise UserError(f"--ksql-git {args.ksql_git}: git failed ({exc})") from None
    if bar is not None:
        bar.close()
    result = {"commit": sha, **fidelity.summary(outcomes)}
    shown = [{"folder": o.folder, "category": o.category, "detail": o.detail}
             for o in outcomes if o.category in args.show]
    if args.json:
        print(json.dumps({**result, "cases": shown}, indent=2))
        return 0
    print(f"ksqlDB query-validation tests at {sha}: {result['suite_cases']} cases, "
          f"{result['outside_subset']} outside the claimed subset")
    for group in ("inside", "beyond_shared", "beyond_shared_outputs", "beyond_shared_rejections"):
        counts = result[group]
        rate = "-" if counts["pass_rate"] is None else f"{counts['pass_rate']:.1%}"
        print(f"  {group:<26} {counts['cases']:>5} cases, pass {rate:>6}  " + ", ".join(
            f"{k} {counts[k]}" for k in fidelity.CATEGORIES if k != "pass" and counts[k]))
    for row in shown:
        print(f"{row['category']}\t{row['folder']}\t{row['detail']}")
    print(f"cases and MANIFEST.tsv in {args.out}", file=sys.stderr)
    return 0
