"""`socksort ksql-fidelity`: ksqlDB's query-validation suite, the claimed subset, the sorting.

The suite here is a tiny one written for these tests (same JSON layout as ksqlDB's QTT
files, in a throw-away git repository); nothing of ksqlDB's is used.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from socksort.ksql.testrunner import fidelity
from socksort.ksql.testrunner.fidelity import QttCase, classify, outside_subset

JSON_SOURCE = ("CREATE STREAM S (ID STRING KEY, V INT) WITH "
               "(kafka_topic='s', value_format='{fmt}');")


def case(statements, inputs=(), outputs=(), error=None, properties=None, file="x.json"):
    return QttCase(file, "a case", list(statements), list(inputs), list(outputs),
                   properties or {}, error, False)


def test_a_case_using_only_claimed_features_is_inside():
    assert outside_subset(case([JSON_SOURCE.format(fmt="JSON"),
                                "CREATE TABLE T AS SELECT ID, COUNT(*) FROM S GROUP BY ID;"])) == []


@pytest.mark.parametrize("statement, reason", [
    pytest.param("CREATE STREAM J AS SELECT * FROM S JOIN S2 ON S.ID = S2.ID;", "join", id="join"),
    pytest.param("CREATE STREAM P AS SELECT * FROM S PARTITION BY V;", "partition-by",
                 id="partition-by"),
    pytest.param("CREATE STREAM C AS SELECT ID, CAST(V AS STRING) FROM S;", "cast", id="cast"),
    pytest.param("CREATE TABLE L AS SELECT ID, COLLECT_LIST(V) FROM S GROUP BY ID;",
                 "function COLLECT_LIST", id="function-ksqldb-has-and-the-engine-lacks"),
    pytest.param("CREATE STREAM D (X DECIMAL(4, 2)) WITH (kafka_topic='d', value_format='JSON');",
                 "type DECIMAL", id="type-ksqldb-has-and-the-engine-lacks"),
    pytest.param("CREATE STREAM D (X STRUCT<A INT>) WITH (kafka_topic='d', value_format='DELIMITED');",
                 "struct-or-array-outside-json-value", id="struct-in-delimited"),
    pytest.param(JSON_SOURCE.format(fmt="AVRO"), "value-format AVRO", id="avro"),
    pytest.param("CREATE STREAM D WITH (kafka_topic='d', value_format='JSON');",
                 "schema-inference", id="schema-inference"),
])
def test_a_construct_engine_md_does_not_claim_is_outside(statement, reason):
    assert reason in outside_subset(case([JSON_SOURCE.format(fmt="JSON"), statement]))


def test_a_non_default_property_is_outside():
    reasons = outside_subset(case([JSON_SOURCE.format(fmt="JSON")],
                                  properties={"ksql.persistence.wrap.single.values": False}))
    assert reasons == ["property ksql.persistence.wrap.single.values=false"]


def test_record_headers_are_outside():
    reasons = outside_subset(case([JSON_SOURCE.format(fmt="JSON")],
                                  inputs=[{"topic": "s", "value": {}, "headers": []}]))
    assert reasons == ["headers"]


def test_a_function_ksqldb_reports_unknown_is_inside():
    error = {"type": "x", "message": "Can't find any functions with the name 'NOPE'"}
    assert outside_subset(case([JSON_SOURCE.format(fmt="JSON"),
                                "CREATE STREAM O AS SELECT ID, NOPE(V) FROM S;"],
                               error=error)) == []


def test_a_type_name_ksqldb_does_not_know_is_inside():
    assert outside_subset(case(["CREATE STREAM D (X WHAT) WITH (kafka_topic='d', "
                                "value_format='JSON');"])) == []


def write_case(tmp_path, statements, inputs, outputs, message=None):
    folder = tmp_path / "c"
    fidelity.write_case(case(statements, inputs, outputs,
                             error=None if message is None else {"type": "E", "message": message}),
                        "0" * 40, folder)
    return folder


SUM = ["CREATE STREAM S (ID STRING KEY, V INT) WITH (kafka_topic='s', value_format='JSON');",
       "CREATE TABLE T AS SELECT ID, SUM(V) AS TOTAL FROM S GROUP BY ID;"]
INPUT = [{"topic": "s", "key": "a", "value": {"V": 2}}]


def test_matching_outputs_pass(tmp_path):
    folder = write_case(tmp_path, SUM, INPUT, [{"topic": "T", "key": "a", "value": {"TOTAL": 2}}])
    assert classify(folder) == ("pass", "")


def test_different_outputs_are_silently_wrong(tmp_path):
    folder = write_case(tmp_path, SUM, INPUT, [{"topic": "T", "key": "a", "value": {"TOTAL": 3}}])
    assert classify(folder)[0] == "silently-wrong"


def test_running_what_ksqldb_refuses_is_wrongly_accepted(tmp_path):
    folder = write_case(tmp_path, SUM, [], [], message="some ksqlDB error")
    assert classify(folder)[0] == "wrongly-accepted"


def test_refusing_with_another_message_is_a_wrong_message(tmp_path):
    folder = write_case(tmp_path, SUM[:1] + ["CREATE TABLE T AS SELECT ID, BOB FROM S;"], [], [],
                        message="some ksqlDB error")
    assert classify(folder)[0] == "wrong-message"


def test_refusing_what_ksqldb_runs_is_wrongly_rejected(tmp_path):
    folder = write_case(tmp_path, SUM[:1] + ["CREATE TABLE T AS SELECT ID, BOB FROM S;"], INPUT,
                        [{"topic": "T", "key": "a", "value": {"BOB": 1}}])
    assert classify(folder)[0] == "wrongly-rejected"


def test_refusing_with_ksqldbs_message_passes(tmp_path):
    folder = write_case(tmp_path, SUM[:1] + ["CREATE TABLE T AS SELECT ID, BOB FROM S;"], [], [],
                        message="SELECT column 'BOB' cannot be resolved.")
    assert classify(folder) == ("pass", "")


@pytest.fixture
def suite(tmp_path):
    """A git repository holding a two-test QTT file (one test over a format matrix)."""
    repo = tmp_path / "ksql"
    qtt = repo / fidelity.QTT_PATH
    qtt.mkdir(parents=True)
    (qtt / "sums.json").write_text(json.dumps({"tests": [
        {"name": "sum", "format": ["JSON", "AVRO"],
         "statements": [s.replace("'JSON'", "'{FORMAT}'") for s in SUM],
         "inputs": INPUT, "outputs": [{"topic": "T", "key": "a", "value": {"TOTAL": 2}}]},
        {"name": "bad", "statements": SUM[:1] + ["CREATE TABLE T AS SELECT ID, BOB FROM S;"],
         "expectedException": {"type": "E", "message": "BOB is wrong"}},
    ]}) + "\n// a comment, as QTT files may have\n")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git[:3] + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "suite"], check=True)
    return repo / ".git"


def test_a_format_matrix_becomes_one_case_per_format(suite):
    _, cases = fidelity.read_suite(str(suite))
    assert [c.name for c in cases] == ["sum - JSON", "sum - AVRO", "bad"]


def test_measuring_sorts_every_case_inside_and_counts_the_rest_outside(suite, tmp_path):
    _, outcomes = fidelity.measure(str(suite), tmp_path / "out")
    summary = fidelity.summary(outcomes)
    assert (summary["suite_cases"], summary["outside_subset"]) == (3, 1)
    assert (summary["inside"]["pass"], summary["inside"]["wrong-message"]) == (1, 1)
    assert (tmp_path / "out" / "MANIFEST.tsv").read_text().count("\n") == 4


def test_the_command_prints_the_summary_as_json(suite, tmp_path, run_cli):
    result = run_cli("ksql-fidelity", "--ksql-git", suite, "--out", tmp_path / "out", "--json",
                     "--show", "wrong-message",
                     env={"SOCKSORT_KSQL_CONFORMANCE": str(tmp_path / "no-shared")})
    data = json.loads(result.stdout)
    assert (data["beyond_shared"]["cases"], data["beyond_shared"]["pass_rate"]) == (2, 0.5)
    assert [c["folder"] for c in data["cases"]] == ["sums__bad"]


def test_the_command_names_a_missing_git_directory(tmp_path, run_cli):
    result = run_cli("ksql-fidelity", "--ksql-git", tmp_path / "nope")
    assert result.returncode == 2 and "no such git directory" in result.stderr
