"""The Engine contract of ksql/ENGINE.md, as the server uses it."""

from __future__ import annotations

import json

import pytest

from socksort.ksql.engine import (Engine, KsqlError, PropertiesListed, QueryCreated, Record,
                                  ServerStatement, SourceCreated, SourceDescribed,
                                  SourceDropped, SourcesDescribed, SourcesListed, ValuesInserted)
from socksort.ksql.sql import parse
from socksort.ksql.sql import functions
from socksort.ksql.sql import types as T

SHOWS = """
CREATE STREAM FRAMES (IMAGE STRING, PROBABILITY DOUBLE) WITH (KAFKA_TOPIC='data_mqtt', VALUE_FORMAT='JSON');
CREATE TABLE SEEN AS SELECT IMAGE, COUNT(*) AS N FROM FRAMES WHERE PROBABILITY > 50 GROUP BY IMAGE;
"""


def frame(image, probability=90.0, ts=0, topic="data_mqtt"):
    return Record(topic, None, json.dumps({"image": image, "probability": probability}).encode(), ts)


def test_execute_returns_one_result_per_statement():
    results = Engine().execute(SHOWS)
    assert [type(r) for r in results] == [SourceCreated, QueryCreated]
    assert results[1].query.sink_topic == "SEEN"


def test_process_returns_the_records_queries_write():
    engine = Engine()
    engine.execute(SHOWS)
    out = engine.process(frame("Mongo"))
    assert [(r.topic, r.key, r.value) for r in out] == [("SEEN", "Mongo", {"N": 1})]


def test_process_feeds_query_output_to_downstream_queries_in_the_same_call():
    engine = Engine()
    engine.execute(SHOWS + """
        CREATE STREAM SEEN_CHANGES (IMAGE STRING KEY, N BIGINT) WITH (KAFKA_TOPIC='SEEN', VALUE_FORMAT='JSON');
        CREATE STREAM BIG AS SELECT IMAGE, N FROM SEEN_CHANGES WHERE N >= 2;""")
    engine.process(frame("Mongo"))
    out = engine.process(frame("Mongo"))
    assert [(r.topic, r.value) for r in out] == [("SEEN", {"N": 2}), ("BIG", {"N": 2})]


def test_external_topics_leave_out_topics_the_engine_writes():
    engine = Engine()
    engine.execute(SHOWS + """
        CREATE STREAM SEEN_CHANGES (IMAGE STRING KEY, N BIGINT) WITH (KAFKA_TOPIC='SEEN', VALUE_FORMAT='JSON');
        CREATE STREAM BIG AS SELECT IMAGE, N FROM SEEN_CHANGES;""")
    assert engine.external_topics() == {"data_mqtt"}


def test_bad_records_are_skipped_counted_and_logged():
    logged = []
    engine = Engine(processing_log=logged.append)
    engine.execute(SHOWS)
    bad = Record("data_mqtt", None, b"not json", 5, partition=0, offset=7)
    assert engine.process(bad) == []
    assert engine.process(frame("Mongo", probability="high")) == []
    assert engine.process(frame("Mongo"))[0].value == {"N": 1}
    assert engine.stats.bad_records == 2
    assert (logged[0].topic, logged[0].offset) == ("data_mqtt", 7)
    assert "not JSON" in logged[0].message


def test_serialize_writes_kafka_string_keys_and_compact_json():
    engine = Engine()
    engine.execute(SHOWS)
    out = engine.process(frame("Mongo"))[0]
    assert engine.serialize(out) == (b"Mongo", b'{"N":1}')


def test_serialize_appends_session_window_end_and_start_to_the_key():
    engine = Engine()
    engine.execute("""
        CREATE STREAM S (ID BIGINT KEY, V INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');
        CREATE TABLE T AS SELECT ID, COUNT(*) AS C FROM S WINDOW SESSION (10 SECONDS) GROUP BY ID;""")
    out = engine.process(Record("s", 7, {"V": 1}, 1000))[0]
    key, _ = engine.serialize(out)
    assert key == (7).to_bytes(8, "big") + (1000).to_bytes(8, "big") + (1000).to_bytes(8, "big")


def test_wire_keys_are_decoded_with_the_source_key_format():
    engine = Engine()
    engine.execute("""
        CREATE STREAM S (ID INT KEY, V INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');
        CREATE STREAM O AS SELECT ID, V FROM S;""")
    out = engine.process(Record("s", (3).to_bytes(4, "big"), b'{"V": 1}', 0))
    assert (out[0].key, out[0].value) == (3, {"V": 1})


def test_errors_carry_ksqldb_message_position_and_statement():
    engine = Engine()
    with pytest.raises(KsqlError) as err:
        engine.execute("CREATE STREAM S (ID INT KEY) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');\n"
                       "CREATE STREAM O AS SELECT ID, BOB FROM S;")
    assert err.value.message == "SELECT column 'BOB' cannot be resolved."
    assert (err.value.line, err.value.column) == (2, 31)
    assert err.value.statement_text == "CREATE STREAM O AS SELECT ID, BOB FROM S"


def test_statements_before_a_failing_one_take_effect():
    engine = Engine()
    with pytest.raises(KsqlError):
        engine.execute("CREATE STREAM S (ID INT KEY) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');\n"
                       "CREATE STREAM O AS SELECT ID, BOB FROM S;")
    assert [s.name for s in engine.sources()] == ["S"]


def test_syntax_errors_name_the_position():
    with pytest.raises(KsqlError) as err:
        Engine().execute("SELECT FROM;")
    assert (err.value.line, err.value.column) == (1, 8)


def test_pull_query_reads_the_materialized_table():
    engine = Engine()
    engine.execute(SHOWS)
    for image in ("Mongo", "Mongo", "Streamset"):
        engine.process(frame(image))
    result = engine.pull("SELECT IMAGE, N FROM SEEN WHERE IMAGE = 'Mongo';")
    assert (result.columns, result.rows) == (["IMAGE", "N"], [["Mongo", 2]])


def test_pull_query_where_must_be_boolean():
    engine = Engine()
    engine.execute(SHOWS)
    with pytest.raises(KsqlError, match="Type error in WHERE expression: Should evaluate to "
                                        "boolean but is \\(N \\+ 1\\) \\(BIGINT\\)"):
        engine.pull("SELECT IMAGE, N FROM SEEN WHERE N + 1;")


def test_push_query_sees_changes_of_its_source_table():
    engine = Engine()
    engine.execute(SHOWS)
    rows = []
    push = engine.push("SELECT * FROM SEEN EMIT CHANGES LIMIT 2;", rows.append)
    for image in ("Mongo", "Mongo", "Streamset"):
        engine.process(frame(image))
    assert [r.columns for r in rows] == [["Mongo", 1], ["Mongo", 2]]
    assert push.done and push.columns == ["IMAGE", "N"]


def test_show_describe_and_terminate():
    engine = Engine()
    engine.execute(SHOWS)
    [tables] = engine.execute("SHOW TABLES;")
    assert isinstance(tables, SourcesListed) and tables.kind == "TABLE"
    assert [t["name"] for t in tables.rows] == ["SEEN"]
    source = engine.execute("DESCRIBE SEEN;")[0].source
    assert [(c.name, c.type, c.key) for c in source.columns] == [
        ("IMAGE", "STRING", True), ("N", "BIGINT", False)]
    query_id = engine.queries()[0].id
    assert engine.execute(f"TERMINATE {query_id};")[0].query_ids == (query_id,)
    assert engine.process(frame("Mongo")) == []


def test_drop_refuses_a_source_that_a_query_reads():
    engine = Engine()
    engine.execute(SHOWS)
    with pytest.raises(KsqlError, match="Cannot drop FRAMES"):
        engine.execute("DROP STREAM FRAMES;")


def test_registered_scalar_function_is_usable_in_queries():
    functions.register_scalar("TEST_DOUBLE_IT", lambda v: v * 2, T.INTEGER)
    engine = Engine()
    engine.execute("""
        CREATE STREAM S (V INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');
        CREATE STREAM O AS SELECT TEST_DOUBLE_IT(V) AS W FROM S;""")
    assert engine.process(Record("s", None, {"V": 21}, 0))[0].value == {"W": 42}


def test_a_function_refusing_its_argument_types_is_an_error_at_the_call():
    def strings_only(arg_types):
        if arg_types != [T.STRING]:
            raise KsqlError("TEST_STRINGS_ONLY takes one STRING")
        return T.STRING
    functions.register_scalar("TEST_STRINGS_ONLY", str.upper, strings_only)
    engine = Engine()
    engine.execute("CREATE STREAM S (V INT, W STRING) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');")
    with pytest.raises(KsqlError) as err:
        engine.execute("CREATE STREAM O AS SELECT TEST_STRINGS_ONLY(V) AS X FROM S;")
    assert (err.value.message, err.value.line, err.value.column) == (
        "TEST_STRINGS_ONLY takes one STRING", 1, 27)
    engine.execute("CREATE STREAM P AS SELECT TEST_STRINGS_ONLY(W) AS X FROM S;")
    assert engine.process(Record("s", None, {"V": 1, "W": "sock"}, 0))[-1].value == {"X": "SOCK"}


def test_same_input_gives_same_output_after_rebuilding():
    records = [frame(image, ts=i) for i, image in enumerate(["A", "B", "A", "A", "C", "B"])]

    def replay():
        engine = Engine()
        engine.execute(SHOWS)
        return [(r.key, r.value) for rec in records for r in engine.process(rec)]
    assert replay() == replay()


def test_push_query_shows_a_having_deletion_as_a_tombstone_row_with_the_key():
    engine = Engine()
    engine.execute("""
        CREATE TABLE T (ID STRING PRIMARY KEY, IMAGE STRING) WITH (KAFKA_TOPIC='t', VALUE_FORMAT='JSON');""")
    rows = []
    engine.push("SELECT IMAGE, COUNT(*) AS N FROM T GROUP BY IMAGE HAVING COUNT(*) > 0 EMIT CHANGES;",
                rows.append)
    engine.process(Record("t", "1", {"IMAGE": "Mongo"}, 0))
    engine.process(Record("t", "1", None, 1))
    assert [(r.columns, r.tombstone) for r in rows] == [(["Mongo", 1], False), (["Mongo", None], True)]


class _CountDistinct(functions.Aggregate):
    name = "TEST_COUNT_DISTINCT"

    def returns(self, arg_types):
        return T.BIGINT

    def init(self):
        return frozenset()

    def add(self, acc, value):
        return acc if value is None else acc | {value}

    def merge(self, a, b):
        return a | b

    def result(self, acc):
        return len(acc)


def test_registered_aggregate_is_usable_with_session_windows():
    functions.register_aggregate("TEST_COUNT_DISTINCT", _CountDistinct)
    engine = Engine()
    engine.execute("""
        CREATE STREAM S (ID STRING KEY, V INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');
        CREATE TABLE T AS SELECT ID, TEST_COUNT_DISTINCT(V) AS D FROM S
            WINDOW SESSION (20 SECONDS) GROUP BY ID;""")
    engine.process(Record("s", "a", {"V": 1}, 0))
    engine.process(Record("s", "a", {"V": 1}, 30_000))
    out = engine.process(Record("s", "a", {"V": 2}, 15_000))
    assert [(r.window.start, r.window.end, r.value) for r in out] == [
        (0, 0, None), (30_000, 30_000, None), (0, 30_000, {"D": 2})]


def test_processing_log_entry_renders_as_ksqldb_deserialization_error():
    logged = []
    engine = Engine(processing_log=logged.append)
    engine.execute(SHOWS)
    engine.process(Record("data_mqtt", None, b"{oops", 5, partition=0, offset=3))
    record = logged[0].to_ksql(time_ms=1234)
    error = record["message"]["deserializationError"]
    assert record["message"]["type"] == 0 and record["logger"] == "processing.CTAS_SEEN_0"
    assert (error["target"], error["topic"], error["recordB64"]) == ("value", "data_mqtt", "e29vcHM=")


def test_a_null_timestamp_column_is_logged_against_the_timestamp():
    logged = []
    engine = Engine(processing_log=logged.append)
    engine.execute("CREATE STREAM S (ID STRING KEY, T BIGINT) WITH (KAFKA_TOPIC='s', "
                   "VALUE_FORMAT='JSON', TIMESTAMP='T'); CREATE STREAM O AS SELECT * FROM S;")
    assert engine.process(Record("s", "a", b'{"T": null}', 5)) == []
    assert [(e.target, e.raw) for e in logged] == [("timestamp", None)]


def test_statements_before_a_syntax_error_take_effect():
    engine = Engine()
    with pytest.raises(KsqlError) as err:
        engine.execute(SHOWS + "CREATE STREAM oops;")
    assert err.value.line == 4
    assert [s.name for s in engine.sources()] == ["FRAMES", "SEEN"]
    assert [q.sink for q in engine.queries()] == ["SEEN"]


def test_describe_gives_the_rest_source_description():
    engine = Engine()
    engine.execute(SHOWS)
    [described] = engine.execute("DESCRIBE SEEN;")
    assert isinstance(described, SourceDescribed)
    desc = described.description
    assert desc["fields"][0] == {"name": "IMAGE", "schema": {"type": "STRING", "fields": None,
                                                              "memberSchema": None}, "type": "KEY"}
    assert [q["id"] for q in desc["writeQueries"]] == ["CTAS_SEEN_0"]
    assert [q["id"] for q in engine.describe("FRAMES")["readQueries"]] == ["CTAS_SEEN_0"]


def test_push_query_on_a_stream_sees_each_new_row():
    engine = Engine()
    engine.execute(SHOWS)
    rows = []
    engine.push("SELECT IMAGE, PROBABILITY FROM FRAMES WHERE PROBABILITY > 50 EMIT CHANGES;", rows.append)
    engine.process(frame("Mongo", 90.0))
    engine.process(frame("Ghost", 40.0))
    assert [r.columns for r in rows] == [["Mongo", 90.0]]


def test_push_query_star_on_a_windowed_table_shows_the_window_bounds():
    engine = Engine()
    engine.execute(SHOWS + """
        CREATE TABLE W AS SELECT IMAGE, COUNT(*) AS N FROM FRAMES WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY IMAGE;
        CREATE TABLE WT (IMAGE STRING PRIMARY KEY, N BIGINT) WITH (KAFKA_TOPIC='W', VALUE_FORMAT='JSON', WINDOW_TYPE='TUMBLING', WINDOW_SIZE='1 SECOND');""")
    rows = []
    push = engine.push("SELECT * FROM WT EMIT CHANGES;", rows.append)
    engine.process(frame("Mongo", ts=1500))
    assert push.columns == ["IMAGE", "WINDOWSTART", "WINDOWEND", "N"]
    assert [r.columns for r in rows] == [["Mongo", 1000, 2000, 1]]


def test_connector_statements_are_handed_to_the_server_with_their_config():
    result = Engine().execute("""CREATE SOURCE CONNECTOR mqtt WITH (
        "connector.class" = 'io.example.MqttSource', "mqtt.topics" = 'sockfound', "tasks.max" = 1);""")[0]
    assert isinstance(result, ServerStatement)
    assert result.statement.name == "MQTT"
    assert result.statement.properties == {"connector.class": "io.example.MqttSource",
                                           "mqtt.topics": "sockfound", "tasks.max": "1"}


def test_print_keeps_the_topic_name_as_written():
    statement = Engine().execute("PRINT data_mqtt FROM BEGINNING LIMIT 3;")[0].statement
    assert (statement.topic, statement.from_beginning, statement.limit) == ("data_mqtt", True, 3)


def test_insert_values_yields_the_record_to_produce():
    engine = Engine()
    engine.execute(SHOWS)
    result = engine.execute("INSERT INTO FRAMES (IMAGE, PROBABILITY, ROWTIME) VALUES ('Mongo', 91.5, 7);")[0]
    assert isinstance(result, ValuesInserted)
    assert (result.record.topic, result.record.timestamp) == ("data_mqtt", 7)
    assert result.wire == (None, b'{"IMAGE":"Mongo","PROBABILITY":91.5}')
    assert engine.process(result.record)[0].value == {"N": 1}


def test_a_query_failing_on_a_record_is_logged_and_the_others_go_on():
    def explode(v):
        raise RuntimeError("boom")
    functions.register_scalar("TEST_EXPLODE", explode, T.INTEGER)
    logged = []
    engine = Engine(processing_log=logged.append)
    engine.execute(SHOWS + "CREATE STREAM BAD AS SELECT TEST_EXPLODE(1) AS X FROM FRAMES;")
    out = engine.process(frame("Mongo"))
    assert [r.topic for r in out] == ["SEEN"]
    assert engine.stats.errors == 1
    assert logged[0].target == "processing" and "boom" in logged[0].message
    assert logged[0].to_ksql(0)["message"]["type"] == 1


def test_a_query_feeding_its_own_source_topic_is_rejected():
    engine = Engine()
    engine.execute(SHOWS)
    with pytest.raises(KsqlError, match="feeds its own source"):
        engine.execute("CREATE STREAM LOOP WITH (KAFKA_TOPIC='data_mqtt') AS SELECT * FROM FRAMES;")


def test_windowed_table_state_forgets_windows_past_retention():
    engine = Engine()
    engine.execute(SHOWS + "CREATE TABLE W AS SELECT IMAGE, COUNT(*) AS N FROM FRAMES "
                           "WINDOW TUMBLING (SIZE 1 SECOND, GRACE PERIOD 0 SECONDS) GROUP BY IMAGE;")
    for i in range(10_000):
        engine.process(frame("Mongo", ts=i * 1000))
    rows = engine.pull("SELECT WINDOWSTART FROM W;").rows
    assert 0 < len(rows) < 5_000
    assert [9_999_000] in rows


def test_show_streams_extended_describes_each_stream():
    engine = Engine()
    engine.execute(SHOWS)
    result = engine.execute("SHOW STREAMS EXTENDED;")[0]
    assert isinstance(result, SourcesDescribed)
    assert [(d["name"], d["extended"]) for d in result.descriptions] == [("FRAMES", True)]


# --- expression errors at run time: null for the expression, a processing-log entry ---------

ZONES = """
CREATE STREAM S (ID STRING KEY, TS BIGINT, ZONE STRING, A INT, B INT)
    WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');
"""


def test_a_function_failing_on_a_record_yields_null_and_the_record_goes_on():
    engine = Engine()
    engine.execute(ZONES + "CREATE STREAM O AS SELECT ID, TIMESTAMPTOSTRING(TS, 'yyyy', ZONE) AS Y, "
                           "A FROM S;")
    out = engine.process(Record("s", "a", {"TS": 0, "ZONE": "Mars/Olympus", "A": 1}, 5))
    assert [r.value for r in out] == [{"Y": None, "A": 1}]


def test_a_function_failing_on_a_record_is_logged_as_a_record_processing_error():
    logged = []
    engine = Engine(processing_log=logged.append)
    engine.execute(ZONES + "CREATE STREAM O AS SELECT ID, TIMESTAMPTOSTRING(TS, 'yyyy', ZONE) AS Y "
                           "FROM S;")
    engine.process(Record("s", "a", {"TS": 0, "ZONE": "Mars/Olympus"}, 5, partition=0, offset=9))
    entry = logged[0].to_ksql(time_ms=1234)
    error = entry["message"]["recordProcessingError"]
    assert (entry["logger"], entry["level"], entry["message"]["type"]) == (
        "processing.CSAS_O_0", "ERROR", 1)
    assert error["errorMessage"] == (
        "Error computing expression TIMESTAMPTOSTRING(TS, 'yyyy', ZONE) for column Y with index 1: "
        "Unknown time-zone ID: Mars/Olympus")
    assert json.loads(error["record"]) == {"TS": 0, "ZONE": "Mars/Olympus"}
    assert (logged[0].topic, logged[0].offset) == ("s", 9)


def test_a_record_whose_expressions_all_succeed_logs_nothing():
    logged = []
    engine = Engine(processing_log=logged.append)
    engine.execute(ZONES + "CREATE STREAM O AS SELECT ID, TIMESTAMPTOSTRING(TS, 'yyyy', ZONE) AS Y "
                           "FROM S;")
    assert engine.process(Record("s", "a", {"TS": 0, "ZONE": "UTC"}, 5))[0].value == {"Y": "1970"}
    assert logged == [] and engine.stats.expression_errors == 0


def test_integer_division_by_zero_yields_null_and_is_counted_and_logged():
    logged = []
    engine = Engine(processing_log=logged.append)
    engine.execute(ZONES + "CREATE STREAM O AS SELECT ID, A / B AS Q, A % B AS R FROM S;")
    out = engine.process(Record("s", "a", {"A": 7, "B": 0}, 5))
    assert [r.value for r in out] == [{"Q": None, "R": None}]
    assert engine.stats.expression_errors == 2
    assert [e.message for e in logged] == [
        "Error computing expression (A / B) for column Q with index 1: / by zero",
        "Error computing expression (A % B) for column R with index 2: / by zero"]


def test_a_failing_where_predicate_drops_the_record_and_is_logged_as_a_predicate():
    logged = []
    engine = Engine(processing_log=logged.append)
    engine.execute(ZONES + "CREATE STREAM O AS SELECT ID, A FROM S WHERE A / B > 1;")
    assert engine.process(Record("s", "a", {"A": 7, "B": 0}, 5)) == []
    assert [e.message for e in logged] == [
        "Error evaluating predicate ((A / B) > 1): / by zero"]


def test_a_failing_aggregate_argument_is_logged_and_the_aggregate_skips_its_null():
    logged = []
    engine = Engine(processing_log=logged.append)
    engine.execute(ZONES + "CREATE TABLE T AS SELECT ID, SUM(A / B) AS TOTAL FROM S GROUP BY ID;")
    engine.process(Record("s", "a", {"A": 6, "B": 2}, 5))
    out = engine.process(Record("s", "a", {"A": 6, "B": 0}, 6))
    assert [r.value for r in out] == [{"TOTAL": 3}]
    assert [e.message for e in logged] == [
        "Error computing aggregate argument of SUM((A / B)): / by zero"]


def test_a_push_query_logs_its_expression_errors_under_its_own_id():
    logged = []
    engine = Engine(processing_log=logged.append)
    engine.execute(ZONES)
    rows = []
    push = engine.push("SELECT ID, A / B AS Q FROM S EMIT CHANGES;", rows.append)
    engine.process(Record("s", "a", {"A": 7, "B": 0}, 5))
    assert [r.columns for r in rows] == [["a", None]]
    assert [e.query_id for e in logged] == [push.id]


def test_replayed_history_fed_to_a_push_query_logs_its_expression_errors():
    logged = []
    engine = Engine(processing_log=logged.append)
    engine.execute(ZONES)
    push = engine.push("SELECT ID, A / B AS Q FROM S EMIT CHANGES;", lambda row: None)
    push.feed(Record("s", "a", {"A": 7, "B": 0}, 5, partition=0, offset=3))
    assert [(e.query_id, e.offset) for e in logged] == [(push.id, 3)]


def test_processing_log_entries_read_back_through_the_processing_log_stream():
    from socksort.ksql.engine.records import processing_log_stream_sql

    logged = []
    engine = Engine(processing_log=logged.append)
    engine.execute(ZONES + "CREATE STREAM O AS SELECT ID, A / B AS Q FROM S;"
                   + processing_log_stream_sql("KSQL_PROCESSING_LOG", "log"))
    rows = []
    engine.push("SELECT * FROM KSQL_PROCESSING_LOG EMIT CHANGES;", rows.append)
    engine.process(Record("s", "a", {"A": 7, "B": 0}, 5))
    engine.process(Record("log", None, json.dumps(logged[0].to_ksql(time_ms=1234)).encode(), 1234))
    [row] = [r.columns for r in rows]
    assert row[:3] == ["processing.CSAS_O_0", "ERROR", 1234]
    assert row[3]["TYPE"] == 1 and row[3]["DESERIALIZATIONERROR"] is None
    assert row[3]["RECORDPROCESSINGERROR"] == {
        "ERRORMESSAGE": "Error computing expression (A / B) for column Q with index 1: / by zero",
        "RECORD": '{"A": 7, "B": 0}', "CAUSE": []}


def test_a_struct_column_is_described_with_its_fields_as_ksqldb_does():
    engine = Engine()
    engine.execute("CREATE STREAM P (M STRUCT<kind INTEGER, `why` ARRAY<VARCHAR>>) "
                   "WITH (KAFKA_TOPIC='p', VALUE_FORMAT='JSON');")
    assert engine.describe("P")["fields"][0]["schema"] == {
        "type": "STRUCT", "memberSchema": None, "fields": [
            {"name": "KIND", "schema": {"type": "INTEGER", "fields": None, "memberSchema": None}},
            {"name": "why", "schema": {"type": "ARRAY", "fields": None, "memberSchema": {
                "type": "STRING", "fields": None, "memberSchema": None}}}]}


def test_a_struct_value_that_is_not_an_object_is_a_bad_record():
    logged = []
    engine = Engine(processing_log=logged.append)
    engine.execute("CREATE STREAM P (M STRUCT<kind INTEGER>) WITH (KAFKA_TOPIC='p', VALUE_FORMAT='JSON');"
                   "CREATE STREAM O AS SELECT * FROM P;")
    assert engine.process(Record("p", None, b'{"M": 3}', 1)) == []
    assert engine.process(Record("p", None, b'{"M": {"KIND": "4"}}', 1))[0].value == {"M": {"KIND": 4}}
    assert engine.stats.bad_records == 1


def test_struct_columns_cannot_be_ordered():
    # ksqlDB's ComparisonUtil: structs compare with = and <> only.
    engine = Engine()
    engine.execute("CREATE STREAM P (M STRUCT<kind INTEGER>) WITH (KAFKA_TOPIC='p', VALUE_FORMAT='JSON');")
    with pytest.raises(KsqlError, match="Cannot compare"):
        engine.execute("CREATE STREAM O AS SELECT * FROM P WHERE M < M;")


# --- push queries end with their source ----------------------------------------------------

def test_dropping_a_source_ends_the_push_queries_reading_it():
    engine = Engine()
    engine.execute(SHOWS)
    push = engine.push("SELECT * FROM SEEN EMIT CHANGES;", lambda row: None)
    engine.execute("DROP TABLE SEEN;")
    assert push.done
    assert push.final_message == "Query terminated: its source SEEN was dropped."


def test_a_push_query_on_a_dropped_source_sees_nothing_of_its_recreation():
    engine = Engine()
    engine.execute(SHOWS)
    rows = []
    engine.push("SELECT * FROM SEEN EMIT CHANGES;", rows.append)
    engine.execute("DROP TABLE SEEN;" + SHOWS.split(";")[1] + ";")
    engine.process(frame("Mongo"))
    assert rows == []


def test_dropping_another_source_leaves_a_push_query_running():
    engine = Engine()
    engine.execute(SHOWS + "CREATE STREAM OTHER (A INT) WITH (KAFKA_TOPIC='o', VALUE_FORMAT='JSON');")
    rows = []
    push = engine.push("SELECT * FROM SEEN EMIT CHANGES;", rows.append)
    engine.execute("DROP STREAM OTHER;")
    engine.process(frame("Mongo"))
    assert not push.done and [r.columns for r in rows] == [["Mongo", 1]]


def test_a_push_query_reaching_its_limit_says_so():
    engine = Engine()
    engine.execute(SHOWS)
    push = engine.push("SELECT * FROM SEEN EMIT CHANGES LIMIT 1;", lambda row: None)
    engine.process(frame("Mongo"))
    assert (push.done, push.final_message) == (True, "Limit Reached")


# --- push queries over windows: the window is part of the key --------------------------------

SESSIONS = SHOWS + """
CREATE TABLE W AS SELECT IMAGE, COUNT(*) AS N FROM FRAMES WINDOW SESSION (1 SECOND) GROUP BY IMAGE;
"""


def test_a_push_tombstone_on_a_windowed_table_shows_the_window_it_deletes():
    engine = Engine()
    engine.execute(SESSIONS)
    rows = []
    engine.push("SELECT * FROM W EMIT CHANGES;", rows.append)
    engine.process(frame("Mongo", ts=1000))
    engine.process(frame("Mongo", ts=1500))      # extends the session: [1000,1000] is superseded
    assert [(r.columns, r.tombstone) for r in rows] == [
        (["Mongo", 1000, 1000, 1], False), (["Mongo", 1000, 1000, None], True),
        (["Mongo", 1000, 1500, 2], False)]


def test_a_windowed_push_aggregation_tombstone_fills_the_projected_window_bounds():
    engine = Engine()
    engine.execute(SHOWS)
    rows = []
    engine.push("SELECT WINDOWEND AS WE, IMAGE, COUNT(*) AS C FROM FRAMES "
                "WINDOW SESSION (1 SECOND) GROUP BY IMAGE EMIT CHANGES;", rows.append)
    engine.process(frame("Mongo", ts=1000))
    engine.process(frame("Mongo", ts=1500))
    assert [r.columns for r in rows if r.tombstone] == [[1000, "Mongo", None]]


def test_a_push_tombstone_read_from_windowed_key_bytes_shows_its_window():
    engine = Engine()
    engine.execute(SESSIONS + "CREATE TABLE WT (IMAGE STRING PRIMARY KEY, N BIGINT) WITH "
                   "(KAFKA_TOPIC='W', VALUE_FORMAT='JSON', WINDOW_TYPE='SESSION');")
    [written] = [r for r in engine.process(frame("Mongo", ts=1000)) if r.topic == "W"]
    key, _ = engine.serialize(written)
    rows = []
    engine.push("SELECT * FROM WT EMIT CHANGES;", rows.append)
    engine.process(Record("W", key, None, 1000))    # as the server reads it from Kafka
    assert [(r.columns, r.tombstone) for r in rows] == [(["Mongo", 1000, 1000, None], True)]


def test_a_key_too_short_for_its_window_is_a_bad_key_not_a_failed_query():
    logged = []
    engine = Engine(processing_log=logged.append)
    engine.execute("CREATE TABLE WT (IMAGE STRING PRIMARY KEY, N BIGINT) WITH "
                   "(KAFKA_TOPIC='w', VALUE_FORMAT='JSON', WINDOW_TYPE='SESSION');")
    engine.push("SELECT * FROM WT EMIT CHANGES;", lambda row: None)
    engine.process(Record("w", b"Mongo", b'{"N": 1}', 1000))
    assert (engine.stats.bad_records, engine.stats.errors) == (1, 0)
    assert logged[0].target == "key"


def test_math_functions_outside_their_domain_answer_as_java_and_log_nothing():
    logged = []
    engine = Engine(processing_log=logged.append)
    engine.execute("CREATE STREAM N (X DOUBLE) WITH (KAFKA_TOPIC='n', VALUE_FORMAT='JSON');"
                   "CREATE STREAM O AS SELECT SQRT(X) AS R, LN(X) AS L, LN(X + 1) AS L1, "
                   "EXP(X * -1000) AS E FROM N;")
    [out] = engine.process(Record("n", None, {"X": -1.0}, 1))
    # JSON has no NaN or Infinity: ksqlDB's serializer writes the strings Java prints.
    assert out.value == {"R": "NaN", "L": "NaN", "L1": "-Infinity", "E": "Infinity"}
    assert logged == []


# --- parsed statements and typed arguments, as the server hands them over -----------------

def test_run_takes_a_statement_parsed_once_and_names_it_in_its_error():
    engine = Engine()
    [create, bad] = parse("CREATE STREAM S (V INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');\n"
                          "CREATE STREAM O AS SELECT NOPE FROM S;")
    assert isinstance(engine.run(create), SourceCreated)
    with pytest.raises(KsqlError) as err:
        engine.run(bad)
    assert err.value.statement_text == "CREATE STREAM O AS SELECT NOPE FROM S"


def test_a_statements_properties_are_in_effect_for_it_and_leave_the_engines_alone():
    engine = Engine(properties={"auto.offset.reset": "latest", "ksql.x": "1"})
    [show] = parse("SHOW PROPERTIES;")
    listed = engine.run(show, {"auto.offset.reset": "earliest", "ksql.x": "1"})
    assert isinstance(listed, PropertiesListed)
    assert listed.properties == {"auto.offset.reset": "earliest", "ksql.x": "1"}
    assert listed.overwritten == ("auto.offset.reset",)
    assert engine.properties == {"auto.offset.reset": "latest", "ksql.x": "1"}
    assert engine.run(show).properties == {"auto.offset.reset": "latest", "ksql.x": "1"}


def test_an_inserted_row_is_the_record_insert_values_writes():
    engine = Engine()
    engine.execute("CREATE STREAM S (ID INT KEY, NAME STRING, P DOUBLE, N BIGINT, OK BOOLEAN) "
                   "WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');")
    row = {"id": 7, "name": "it's", "p": 91.5, "n": 2**40, "ok": True}
    typed = engine.insert_row("s", row)
    [written] = engine.execute("INSERT INTO S (ID, NAME, P, N, OK) "
                               "VALUES (7, 'it''s', 91.5, 1099511627776, TRUE);")
    assert isinstance(typed, ValuesInserted) and typed.source.name == "S"
    assert (typed.record, typed.wire) == (written.record, written.wire)
    assert typed.record.value == {"NAME": "it's", "P": 91.5, "N": 2**40, "OK": True}


def test_an_inserted_row_is_refused_as_insert_values_refuses_it():
    engine = Engine()
    engine.execute("CREATE STREAM S (ID INT KEY, V INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');")
    with pytest.raises(KsqlError, match=r"^Failed to insert values into 'S'\. Column name `NOPE` "
                                        r"does not exist\.$"):
        engine.insert_row("S", {"ID": 1, "NOPE": 2})
    with pytest.raises(KsqlError, match=r"Expected type INTEGER for field `V` but got DECIMAL\(1\.5\)"):
        engine.insert_row("S", {"ID": 1, "V": 1.5})
    with pytest.raises(KsqlError, match="Cannot insert a value of type list"):
        engine.insert_row("S", {"ID": 1, "V": [1]})
    with pytest.raises(KsqlError, match="unknown stream/table: `T`"):
        engine.insert_row("T", {"ID": 1})


def test_drop_source_takes_back_a_source_as_drop_does():
    engine = Engine()
    engine.execute(SHOWS)
    dropped = engine.drop_source("SEEN")
    assert isinstance(dropped, SourceDropped) and dropped.source.topic == "SEEN"
    assert [s.name for s in engine.sources()] == ["FRAMES"] and engine.queries() == []
    engine.execute(SHOWS.split(";")[1] + ";")
    with pytest.raises(KsqlError, match="Cannot drop FRAMES"):
        engine.drop_source("FRAMES")


def test_pull_and_push_take_a_parsed_select():
    engine = Engine()
    engine.execute(SHOWS)
    rows = []
    [push] = parse("SELECT IMAGE FROM FRAMES EMIT CHANGES;")
    engine.push(push, rows.append)
    engine.process(frame("Mongo"))
    [pull] = parse("SELECT IMAGE, N FROM SEEN;")
    assert engine.pull(pull).rows == [["Mongo", 1]]
    assert [r.columns for r in rows] == [["Mongo"]]
