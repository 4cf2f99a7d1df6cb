"""The struct dereference operator `->`, as ksqlDB reads the processing log's MESSAGE."""

from __future__ import annotations

import json

import pytest

from socksort.ksql.engine import Engine, KsqlError, Record
from socksort.ksql.engine.records import processing_log_stream_sql
from socksort.ksql.sql import ast
from socksort.ksql.sql.parser import parse

LOG = processing_log_stream_sql("KSQL_PROCESSING_LOG", "log")
NESTED = ("CREATE STREAM N (ID INT, TYPE INT, S STRUCT<A STRUCT<B STRUCT<C STRING>>, "
          "X INT, `low` STRING>) WITH (KAFKA_TOPIC='n', VALUE_FORMAT='JSON');")


def log_record(message) -> Record:
    return Record("log", None, json.dumps({"level": "ERROR", "logger": "processing.Q",
                                           "time": 7, "message": message}).encode(), 7)


def failure(error_message: str = "boom") -> dict:
    return {"type": 1, "deserializationError": None, "recordProcessingError": {
        "errorMessage": error_message, "record": "{}", "cause": []}}


def run_log(select: str, messages: list) -> list:
    engine = Engine()
    engine.execute(LOG + f"CREATE STREAM OUT AS {select};")
    return [r.value for m in messages for r in engine.process(log_record(m))]


def run_nested(select: str, values: list) -> list:
    engine = Engine()
    engine.execute(NESTED + f"CREATE STREAM OUT AS {select};")
    return [r.value for v in values for r in engine.process(Record("n", None, v, 1))]


def columns_of(sql: str, source: str = LOG) -> list:
    engine = Engine()
    engine.execute(source + sql)
    return [(c.name, c.type) for c in engine.source("OUT").columns]


def planning_error(sql: str, source: str = LOG) -> KsqlError:
    engine = Engine()
    engine.execute(source)
    with pytest.raises(KsqlError) as err:
        engine.execute(sql)
    return err.value


# --- parsing ----------------------------------------------------------------------

def test_arrows_chain_left_to_right():
    [stmt] = parse("SELECT A->B->C FROM S EMIT CHANGES;")
    expr = stmt.node.select.items[0].expr
    assert expr == ast.Dereference(ast.Dereference(ast.ColumnRef("A"), "B"), "C")


def test_unquoted_field_names_are_upper_cased_and_back_quoted_ones_kept():
    [stmt] = parse("SELECT m->errorMessage, m->`errorMessage` FROM S EMIT CHANGES;")
    fields = [item.expr.field for item in stmt.node.select.items]
    assert fields == ["ERRORMESSAGE", "errorMessage"]


def test_an_arrow_needs_no_spaces_and_binds_tighter_than_arithmetic():
    [stmt] = parse("SELECT -M->X+1 FROM S EMIT CHANGES;")
    expr = stmt.node.select.items[0].expr
    assert expr == ast.BinaryOp("+", ast.UnaryOp("-", ast.Dereference(ast.ColumnRef("M"), "X")),
                                ast.Literal(1, "INTEGER"))


# --- values -----------------------------------------------------------------------

def test_a_struct_field_is_read_in_the_projection():
    assert run_log("SELECT MESSAGE->TYPE AS T FROM KSQL_PROCESSING_LOG", [failure()]) == [{"T": 1}]


def test_a_nested_field_is_read_through_every_level():
    rows = run_log("SELECT MESSAGE->RECORDPROCESSINGERROR->ERRORMESSAGE AS E "
                   "FROM KSQL_PROCESSING_LOG", [failure("/ by zero")])
    assert rows == [{"E": "/ by zero"}]


def test_a_path_of_more_than_two_fields_is_read():
    rows = run_nested("SELECT S->A->B->C AS V FROM N", [{"S": {"A": {"B": {"C": "deep"}}}}])
    assert rows == [{"V": "deep"}]


def test_unquoted_field_names_match_the_declared_fields_case_insensitively():
    rows = run_log("SELECT message->recordProcessingError->errorMessage AS E "
                   "FROM KSQL_PROCESSING_LOG", [failure("x")])
    assert rows == [{"E": "x"}]


def test_a_back_quoted_field_reads_the_field_declared_with_that_case():
    assert run_nested("SELECT S->`low` AS L FROM N", [{"S": {"low": "yes"}}]) == [{"L": "yes"}]


def test_a_null_struct_gives_null():
    assert run_log("SELECT MESSAGE->TYPE AS T FROM KSQL_PROCESSING_LOG", [None]) == [{"T": None}]


def test_a_null_struct_on_the_way_gives_null():
    rows = run_log("SELECT MESSAGE->RECORDPROCESSINGERROR->ERRORMESSAGE AS E "
                   "FROM KSQL_PROCESSING_LOG", [{"type": 0, "recordProcessingError": None}])
    assert rows == [{"E": None}]


def test_a_null_struct_deep_in_a_long_path_gives_null():
    assert run_nested("SELECT S->A->B->C AS V FROM N", [{"S": {"A": None}}]) == [{"V": None}]


def test_a_dereference_filters_in_where():
    rows = run_log("SELECT LOGGER FROM KSQL_PROCESSING_LOG WHERE MESSAGE->TYPE = 1",
                   [{"type": 0}, failure()])
    assert rows == [{"LOGGER": "processing.Q"}]


def test_a_dereference_is_a_function_argument():
    rows = run_log("SELECT LEN(MESSAGE->RECORDPROCESSINGERROR->ERRORMESSAGE) AS N "
                   "FROM KSQL_PROCESSING_LOG", [failure("four")])
    assert rows == [{"N": 4}]


def test_a_dereference_groups_and_becomes_the_key():
    engine = Engine()
    engine.execute(LOG + "CREATE TABLE OUT AS SELECT MESSAGE->TYPE, COUNT(*) AS N "
                         "FROM KSQL_PROCESSING_LOG GROUP BY MESSAGE->TYPE;")
    outputs = [engine.process(log_record(m))[0] for m in (failure(), {"type": 0}, failure())]
    assert [(r.key, r.value) for r in outputs] == [(1, {"N": 1}), (0, {"N": 1}), (1, {"N": 2})]
    assert [(c.name, c.key) for c in engine.source("OUT").columns] == [("TYPE", True), ("N", False)]


def test_a_grouped_dereference_is_usable_in_having():
    engine = Engine()
    engine.execute(LOG + "CREATE TABLE OUT AS SELECT MESSAGE->TYPE, COUNT(*) AS N "
                         "FROM KSQL_PROCESSING_LOG GROUP BY MESSAGE->TYPE HAVING MESSAGE->TYPE = 1;")
    outputs = [r for m in (failure(), {"type": 0}, failure()) for r in engine.process(log_record(m))]
    assert [(r.key, r.value) for r in outputs] == [(1, {"N": 1}), (1, {"N": 2})]


def test_a_field_of_a_qualified_struct_column_is_read():
    rows = run_log("SELECT L.MESSAGE->TYPE AS T FROM KSQL_PROCESSING_LOG L", [failure()])
    assert rows == [{"T": 1}]


def test_a_push_query_reads_struct_fields():
    engine = Engine()
    engine.execute(LOG)
    rows = []
    push = engine.push("SELECT MESSAGE->TYPE AS T, MESSAGE->RECORDPROCESSINGERROR->ERRORMESSAGE "
                       "AS E FROM KSQL_PROCESSING_LOG EMIT CHANGES;", rows.append)
    engine.process(log_record(failure("/ by zero")))
    assert (push.columns, push.types) == (["T", "E"], ["INTEGER", "STRING"])
    assert [r.columns for r in rows] == [[1, "/ by zero"]]


# --- names and types ----------------------------------------------------------------

def test_an_unaliased_dereference_is_named_after_its_last_field():
    assert columns_of("CREATE STREAM OUT AS SELECT MESSAGE->TYPE, "
                      "MESSAGE->RECORDPROCESSINGERROR->ERRORMESSAGE FROM KSQL_PROCESSING_LOG;") == [
        ("TYPE", "INTEGER"), ("ERRORMESSAGE", "STRING")]


def test_a_dereferenced_struct_keeps_its_struct_type():
    [(name, type_)] = columns_of("CREATE STREAM OUT AS SELECT MESSAGE->RECORDPROCESSINGERROR "
                                 "FROM KSQL_PROCESSING_LOG;")
    assert (name, type_) == ("RECORDPROCESSINGERROR",
                             "STRUCT<`ERRORMESSAGE` STRING, `RECORD` STRING, `CAUSE` ARRAY<STRING>>")


def test_unaliased_fields_named_like_a_source_column_or_each_other_are_numbered():
    # N has a TYPE column; ksqlDB numbers the generated names past the source's columns.
    assert [n for n, _ in columns_of("CREATE STREAM OUT AS SELECT S->X, S->A->B->C, S->X AS Y, "
                                     "S->`low`, ID AS TYPE_2 FROM N;", NESTED)] == [
        "X", "C", "Y", "low", "TYPE_2"]
    assert [n for n, _ in columns_of("CREATE STREAM OUT AS SELECT S->X, S->X FROM N;", NESTED)] == [
        "X", "X_1"]


def test_an_unaliased_field_named_like_a_source_column_gets_the_next_number():
    engine = Engine()
    engine.execute("CREATE STREAM N (TYPE INT, M STRUCT<TYPE INT>) "
                   "WITH (KAFKA_TOPIC='n', VALUE_FORMAT='JSON');"
                   "CREATE STREAM OUT AS SELECT M->TYPE FROM N;")
    assert [c.name for c in engine.source("OUT").columns] == ["TYPE_1"]


# --- errors -------------------------------------------------------------------------

def test_an_unknown_field_is_an_error_at_the_dereference():
    err = planning_error("CREATE STREAM OUT AS SELECT LOGGER,\n  MESSAGE->NOPE FROM KSQL_PROCESSING_LOG;")
    assert (err.message, err.line, err.column) == ("Could not find field 'NOPE' in 'MESSAGE'.", 2, 3)


def test_an_unknown_nested_field_names_the_struct_it_is_missing_from():
    err = planning_error("CREATE STREAM OUT AS SELECT MESSAGE->DESERIALIZATIONERROR->NOPE "
                         "FROM KSQL_PROCESSING_LOG;")
    assert err.message == "Could not find field 'NOPE' in 'MESSAGE->DESERIALIZATIONERROR'."


def test_a_reserved_word_as_an_unquoted_field_name_is_a_syntax_error():
    # TOPIC is one of ksqlDB's reserved words: the field `topic` is read as ->`topic`.
    err = planning_error("CREATE STREAM OUT AS SELECT MESSAGE->DESERIALIZATIONERROR->TOPIC "
                         "FROM KSQL_PROCESSING_LOG;")
    assert str(err).startswith("line 1:60: Syntax Error")


def test_an_unknown_field_in_where_is_a_where_error():
    err = planning_error("CREATE STREAM OUT AS SELECT LOGGER FROM KSQL_PROCESSING_LOG "
                         "WHERE MESSAGE->NOPE IS NULL;")
    assert err.message == "Error in WHERE expression: Could not find field 'NOPE' in 'MESSAGE'."
    assert (err.line, err.column) == (1, 67)


def test_dereferencing_a_column_that_is_not_a_struct_is_an_error():
    err = planning_error("CREATE STREAM OUT AS SELECT LEVEL->X FROM KSQL_PROCESSING_LOG;")
    assert (err.message, err.line, err.column) == ("Expected STRUCT type, got: STRING", 1, 29)


def test_dereferencing_a_field_that_is_not_a_struct_is_an_error():
    err = planning_error("CREATE STREAM OUT AS SELECT MESSAGE->TYPE->X FROM KSQL_PROCESSING_LOG;")
    assert err.message == "Expected STRUCT type, got: INTEGER"


def test_a_dereference_outside_group_by_is_not_an_aggregate_projection():
    err = planning_error("CREATE TABLE OUT AS SELECT LOGGER, MESSAGE->TYPE, COUNT(*) AS N "
                         "FROM KSQL_PROCESSING_LOG GROUP BY LOGGER;")
    assert err.message.splitlines()[0] == (
        "Non-aggregate SELECT expression(s) not part of GROUP BY: MESSAGE->TYPE")
