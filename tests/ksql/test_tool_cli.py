"""`socksort ksql-test-runner` and `socksort ksql-run`, run as a user would."""

from __future__ import annotations

import json

import pytest

STATEMENTS = """CREATE STREAM S (ID STRING KEY, V INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');
CREATE TABLE T AS SELECT ID, SUM(V) AS TOTAL FROM S GROUP BY ID;
"""
INPUTS = {"inputs": [{"topic": "s", "key": "a", "value": {"V": 1}},
                     {"topic": "s", "key": "a", "value": {"V": 2}}]}


@pytest.fixture
def case(tmp_path):
    (tmp_path / "statements.sql").write_text(STATEMENTS)
    (tmp_path / "input.json").write_text(json.dumps(INPUTS))
    return tmp_path


def write_outputs(case, totals):
    (case / "output.json").write_text(json.dumps({"outputs": [
        {"topic": "T", "key": "a", "value": {"TOTAL": t}} for t in totals]}))


def test_test_runner_exits_zero_when_outputs_match(case, run_cli):
    write_outputs(case, [1, 3])
    result = run_cli("ksql-test-runner", "-s", case / "statements.sql", "-i", case / "input.json",
                     "-o", case / "output.json")
    assert result.returncode == 0, result.stderr


def test_test_runner_shows_a_diff_and_fails_on_mismatch(case, run_cli):
    write_outputs(case, [1, 4])
    result = run_cli("ksql-test-runner", "-s", case / "statements.sql", "-i", case / "input.json",
                     "-o", case / "output.json")
    assert result.returncode == 1
    assert 'T[1]: value {"TOTAL": 3} != expected {"TOTAL": 4}' in result.stderr


def test_run_prints_the_outputs_in_output_json_format(case, run_cli):
    result = run_cli("ksql-run", "-s", case / "statements.sql", "-i", case / "input.json", check=True)
    outputs = json.loads(result.stdout)["outputs"]
    assert [(o["topic"], o["key"], o["value"]) for o in outputs] == [
        ("T", "a", {"TOTAL": 1}), ("T", "a", {"TOTAL": 3})]


def test_run_reports_a_failing_statement_in_one_line(case, run_cli):
    (case / "statements.sql").write_text(STATEMENTS + "CREATE STREAM X AS SELECT NOPE FROM S;\n")
    result = run_cli("ksql-run", "-s", case / "statements.sql", "-i", case / "input.json")
    assert result.returncode == 2
    assert result.stderr.startswith("socksort: error: statement 3: ")
    assert "SELECT column 'NOPE' cannot be resolved." in result.stderr
