"""ksqlDB behaviour the conformance cases leave open (SEMANTICS.md notes), and the subset's edges."""

from __future__ import annotations

import pytest

from socksort.ksql.engine import Engine, KsqlError, Record

STREAM = "CREATE STREAM S (ID STRING KEY, V INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');"


def run(sql: str, records: list[tuple]) -> list:
    engine = Engine()
    engine.execute(STREAM + sql)
    out = []
    for key, value, ts in records:
        out += engine.process(Record("s", key, value, ts))
    return out


def test_aggregate_output_time_is_the_largest_time_seen_for_the_group():
    out = run("CREATE TABLE T AS SELECT ID, COUNT(*) AS C FROM S GROUP BY ID;",
              [("a", {"V": 1}, 50), ("a", {"V": 1}, 10)])
    assert [r.timestamp for r in out] == [50, 50]


def test_record_inside_a_session_retracts_and_re_emits_the_same_bounds():
    out = run("CREATE TABLE T AS SELECT ID, COUNT(*) AS C FROM S WINDOW SESSION (10 SECONDS) GROUP BY ID;",
              [("a", {"V": 1}, 0), ("a", {"V": 1}, 4000), ("a", {"V": 1}, 2000)])
    assert [(r.window.start, r.window.end, r.value) for r in out[-2:]] == [
        (0, 4000, None), (0, 4000, {"C": 3})]


def test_record_at_a_one_point_session_time_overwrites_without_tombstone():
    out = run("CREATE TABLE T AS SELECT ID, COUNT(*) AS C FROM S WINDOW SESSION (10 SECONDS) GROUP BY ID;",
              [("a", {"V": 1}, 0), ("a", {"V": 1}, 0)])
    assert [r.value for r in out] == [{"C": 1}, {"C": 2}]


def test_late_record_is_dropped_only_from_windows_already_closed():
    sql = ("CREATE TABLE T AS SELECT ID, COUNT(*) AS C FROM S WINDOW HOPPING (SIZE 10 SECONDS, "
           "ADVANCE BY 5 SECONDS, GRACE PERIOD 0 SECONDS) GROUP BY ID;")
    out = run(sql, [("a", {"V": 1}, 12_000), ("a", {"V": 1}, 9_000)])
    assert [(r.window.start, r.value) for r in out[2:]] == [(5_000, {"C": 2})]


def test_having_false_after_true_emits_a_tombstone_once():
    out = run("CREATE TABLE T AS SELECT ID, SUM(V) AS T FROM S GROUP BY ID HAVING SUM(V) > 1;",
              [("a", {"V": 2}, 0), ("a", {"V": -5}, 1), ("a", {"V": -1}, 2)])
    assert [r.value for r in out] == [{"T": 2}, None]


def test_table_aggregation_moves_a_row_between_groups():
    engine = Engine()
    engine.execute("""
        CREATE TABLE P (ID STRING PRIMARY KEY, IMAGE STRING) WITH (KAFKA_TOPIC='p', VALUE_FORMAT='JSON');
        CREATE TABLE C AS SELECT IMAGE, COUNT(*) AS N FROM P GROUP BY IMAGE;""")
    engine.process(Record("p", "1", {"IMAGE": "Mongo"}, 0))
    out = engine.process(Record("p", "1", {"IMAGE": "Argyle"}, 1))
    assert [(r.key, r.value) for r in out] == [("Mongo", {"N": 0}), ("Argyle", {"N": 1})]


@pytest.mark.parametrize("statement, feature", [
    ("CREATE STREAM O AS SELECT S.ID, S.V FROM S JOIN S2 ON S.ID = S2.ID;", "JOIN"),
    ("CREATE STREAM O AS SELECT ID, CAST(V AS STRING) AS X FROM S;", "CAST"),
    ("CREATE STREAM O AS SELECT ID, V FROM S WHERE ID LIKE 'a%';", "LIKE"),
    ("CREATE STREAM O AS SELECT ID, V FROM S WHERE V IN (1, 2);", "IN"),
    ("CREATE STREAM O AS SELECT ID, V FROM S PARTITION BY V;", "PARTITION BY"),
    ("INSERT INTO S SELECT * FROM S;", "INSERT"),
    ("CREATE STREAM X (A MAP<STRING, INT>) WITH (KAFKA_TOPIC='x', VALUE_FORMAT='JSON');", "type MAP"),
    ("CREATE STREAM X (A INT) WITH (KAFKA_TOPIC='x', VALUE_FORMAT='AVRO');", "VALUE_FORMAT 'AVRO'"),
])
def test_features_outside_the_subset_are_errors_naming_them(statement, feature):
    engine = Engine()
    engine.execute(STREAM)
    with pytest.raises(KsqlError, match=f"{feature}.* is not supported") as err:
        engine.execute(statement)
    assert err.value.line == 1


def test_boolean_group_key_needs_a_json_key_format():
    engine = Engine()
    engine.execute("CREATE STREAM K (NAME STRING) WITH (KAFKA_TOPIC='k', VALUE_FORMAT='JSON');")
    with pytest.raises(KsqlError, match="'KAFKA' format does not support type 'BOOLEAN'"):
        engine.execute("CREATE TABLE O AS SELECT NAME IS NULL, COUNT(*) AS C FROM K GROUP BY (NAME IS NULL);")


def test_having_memory_of_closed_windows_is_released():
    engine = Engine()
    engine.execute(STREAM + "CREATE TABLE T AS SELECT ID, COUNT(*) AS C FROM S "
                            "WINDOW TUMBLING (SIZE 1 SECOND, GRACE PERIOD 0 SECONDS) GROUP BY ID HAVING COUNT(*) > 0;")
    for i in range(5000):
        engine.process(Record("s", "a", {"V": 1}, i * 1000))
    emitter = engine.queries()[0].operator.emitter
    assert len(emitter.passed) < 5000 - 4000


def test_unknown_with_property_is_named_like_ksqldb_does():
    with pytest.raises(KsqlError, match="Invalid config variable\\(s\\) in the WITH clause: COLOUR"):
        Engine().execute("CREATE STREAM X (A INT) WITH (KAFKA_TOPIC='x', VALUE_FORMAT='JSON', COLOUR='red');")
