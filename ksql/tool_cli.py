"""Engine tools: `socksort ksql-test-runner` and `socksort ksql-run` (in-process, no broker)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from socksort.errors import UserError


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
    from socksort.ksql.testrunner import check_case

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
    from socksort.ksql.runner import run

    result = run(_read(args.sql_file), _read_json(args.input_file, "inputs"))
    if result.error is not None:
        raise UserError(f"statement {result.failed_statement + 1}: {result.error}".replace("\n", " "))
    # One record per line, like the case files.
    lines = ",\n".join("    " + json.dumps(rec) for rec in result.outputs)
    print('{\n  "outputs": [\n' + lines + ("\n" if lines else "") + "  ]\n}")
    return 0
