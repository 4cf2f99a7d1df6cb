"""ksql/*.ksql uses only keywords and functions that ksqlDB 0.29 documents."""

from pathlib import Path

import pytest

from socksort.ksql.pipeline.seed_method import SEED_PUSH_QUERY, SEED_STATEMENTS
from socksort.ksql.sql import allowlist

KSQL_DIR = Path(allowlist.__file__).parents[1]
KSQL_FILES = sorted(KSQL_DIR.glob("*.ksql"))


def messages(text: str, target: str | None = None) -> list[str]:
    return [p.message for p in allowlist.check(text, allowlist.load(target=target))]


def test_the_project_has_the_pipeline_and_connector_files():
    assert {p.name for p in KSQL_FILES} >= {"pipeline.ksql", "connector.ksql"}


@pytest.mark.parametrize("path", KSQL_FILES, ids=lambda p: p.name)
def test_ksql_file_uses_only_ksqldb_words_and_functions(path):
    assert allowlist.check(path.read_text()) == []


def test_the_seeds_statements_pass():
    assert allowlist.check(SEED_STATEMENTS + SEED_PUSH_QUERY) == []


def test_a_function_ksqldb_lacks_is_reported():
    assert messages("CREATE STREAM S (A INT) WITH (KAFKA_TOPIC='t', VALUE_FORMAT='JSON');\n"
                    "CREATE TABLE M AS SELECT A, MEDIAN(A) AS M FROM S GROUP BY A;") == [
        "MEDIAN() is not a documented ksqlDB function"]


def test_a_keyword_ksqldb_lacks_is_reported():
    assert messages("CREATE STREAM S (A INT) WITH (KAFKA_TOPIC='t', VALUE_FORMAT='JSON');\n"
                    "CREATE STREAM T AS SELECT A FROM S QUALIFY A > 1;") == [
        "QUALIFY is not a ksqlDB keyword, type or function, nor a name declared in the file"]


def test_an_undocumented_with_property_is_reported():
    assert messages("CREATE STREAM S (A INT) WITH (KAFKA_TOPIC='t', COMPACTION='on');") == [
        "COMPACTION is not a documented WITH property"]


def test_a_function_newer_than_the_target_version_is_reported():
    text = "CREATE STREAM S (A DOUBLE) WITH (KAFKA_TOPIC='t', VALUE_FORMAT='JSON');\n" \
           "CREATE STREAM T AS SELECT POWER(A, 2) AS P FROM S;"
    assert messages(text, target="0.29.0") == []
    assert messages(text, target="0.28.0") == ["POWER() needs ksqlDB 0.29.0, the target is 0.28.0"]


def test_final_is_a_keyword_only_after_emit():
    base = "CREATE STREAM S (A INT) WITH (KAFKA_TOPIC='t', VALUE_FORMAT='JSON');\n"
    assert messages(base + "CREATE TABLE C AS SELECT A, COUNT(*) AS N FROM S "
                           "WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY A EMIT FINAL;") == []
    assert messages(base + "CREATE STREAM F AS SELECT A FROM S WHERE FINAL;") == [
        "FINAL is only a keyword after EMIT"]


def test_words_inside_strings_and_comments_are_not_checked():
    assert messages("-- QUALIFY MEDIAN(x)\nCREATE STREAM S (A INT) "
                    "WITH (KAFKA_TOPIC='QUALIFY MEDIAN(x)', VALUE_FORMAT='JSON');") == []


def test_the_checker_reports_file_and_line_from_the_command_line(tmp_path, capsys):
    bad = tmp_path / "bad.ksql"
    bad.write_text("CREATE STREAM S (A INT) WITH (KAFKA_TOPIC='t');\n\nSELECT NOPE(A) FROM S;\n")
    assert allowlist.main([str(bad)]) == 1
    assert capsys.readouterr().out == f"{bad}:3: NOPE() is not a documented ksqlDB function\n"


def test_a_struct_field_declared_in_a_column_type_is_a_known_name():
    sql = ("CREATE STREAM S (O ARRAY<STRUCT<LABEL VARCHAR, P DOUBLE>>) "
           "WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');\n"
           "CREATE STREAM T AS SELECT O[1]->LABEL, O[1]->OTHER FROM S;")
    assert messages(sql) == [
        "OTHER is not a ksqlDB keyword, type or function, nor a name declared in the file"]
