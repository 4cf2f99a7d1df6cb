"""ksqlDB's statement rules, each pinned by name (issue 18, classes 2 to 5).

What ksqlDB refuses is refused with ksqlDB's message (taken from its source: Analyzer,
AggregateAnalyzer, LogicalPlanner, CreateSourceFactory, AstBuilder, ...); what it accepts
inside the claimed subset runs; functions it has and the engine lacks are "not supported".
"""

from __future__ import annotations

import pytest

from socksort.ksql.engine import Engine, KsqlError, Record, Window

SOURCES = """
CREATE STREAM S (ID STRING KEY, A INT, B BIGINT, D DOUBLE, NAME STRING, F BOOLEAN,
                 ST STRUCT<X INT>, AR ARRAY<STRUCT<X INT>>)
    WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');
CREATE STREAM DS (ID STRING KEY, A INT) WITH (KAFKA_TOPIC='ds', VALUE_FORMAT='DELIMITED');
CREATE TABLE T (ID STRING PRIMARY KEY, A INT) WITH (KAFKA_TOPIC='t', VALUE_FORMAT='JSON');
CREATE STREAM BK (K BOOLEAN KEY, A INT) WITH (KAFKA_TOPIC='bk', FORMAT='JSON');
"""


def refused(statement: str) -> KsqlError:
    engine = Engine()
    engine.execute(SOURCES)
    with pytest.raises(KsqlError) as err:
        engine.execute(statement)
    return err.value


REFUSED = [
    # class 2: statements ksqlDB refuses
    ("CREATE STREAM O AS SELECT ID, ID AS ID2, A FROM S;",
     "The projection contains a key column (`ID`) more than once, aliased as: ID and ID2.",
     "key-column-projected-twice"),
    ("CREATE TABLE O AS SELECT NAME, NAME AS N2, COUNT(*) FROM S GROUP BY NAME;",
     "The projection contains a key column more than once: `NAME` and `N2`.",
     "grouping-key-projected-twice"),
    ("CREATE TABLE W (K STRING PRIMARY KEY, V INT) WITH (KAFKA_TOPIC='w', VALUE_FORMAT='JSON', "
     "WINDOW_TYPE='SESSION', WINDOW_SIZE='30 SECONDS');",
     "'WINDOW_SIZE' should not be set for SESSION windows.", "session-window-with-size"),
    ("CREATE STREAM W (V INT) WITH (KAFKA_TOPIC='w', VALUE_FORMAT='JSON', WINDOW_TYPE='TUMBLING', "
     "WINDOW_SIZE='1 SECOND');", "Windowed sources require a key column.",
     "windowed-source-without-key"),
    ("CREATE TABLE O AS SELECT ID, AVG(A) FROM DS GROUP BY ID;",
     "One of the functions used in the statement has an intermediate type that the value format "
     "can not handle.", "delimited-source-with-struct-state-aggregate"),
    ("CREATE STREAM O WITH (VALUE_FORMAT='DELIMITED') AS SELECT * FROM S;",
     "The 'DELIMITED' format does not support type 'STRUCT', column: `ST`",
     "delimited-sink-with-struct-column"),
    ("CREATE STREAM O WITH (KEY_FORMAT='KAFKA') AS SELECT * FROM BK;",
     "The 'KAFKA' format does not support type 'BOOLEAN'", "kafka-key-format-boolean-key"),
    ("CREATE TABLE O WITH (KEY_FORMAT='NONE') AS SELECT NAME, COUNT(*) FROM S GROUP BY NAME;",
     "The 'NONE' format can only be used when no columns are defined. Got: [`NAME` STRING KEY]",
     "none-key-format-with-a-key"),
    ("CREATE STREAM O WITH (TIMESTAMP='A') AS SELECT * FROM S;",
     "Timestamp column, `A`, should be LONG(INT64), TIMESTAMP, or a String with a "
     "timestamp_format specified.", "timestamp-column-of-int"),
    ("CREATE STREAM O AS SELECT ID, NULL AS N FROM S;",
     "Can't infer a type of null. Please explicitly cast it to a required type, e.g. "
     "CAST(null AS VARCHAR).", "null-typed-projection"),
    ("CREATE STREAM O AS SELECT * FROM S LIMIT 2;",
     "CREATE STREAM AS SELECT statements don't support LIMIT clause.", "limit-in-csas"),
    ("CREATE STREAM O AS SELECT ID, 1.7976931348623159E308 AS X FROM S;",
     "Number overflows DOUBLE: 1.7976931348623159E308", "double-literal-overflow"),
    ("CREATE STREAM O AS SELECT ID, -9223372036854775809 AS X FROM S;",
     "Invalid numeric literal: -9223372036854775809", "bigint-literal-overflow"),
    ("CREATE TABLE O AS SELECT A, COUNT(*) FROM T WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY A;",
     "Windowing not supported for table aggregations.", "windowed-table-aggregation"),
    ("CREATE TABLE O AS SELECT ID, SUM(A, 1) FROM S GROUP BY ID;",
     "Function 'SUM' does not accept parameters (INTEGER, INTEGER).",
     "aggregate-with-an-extra-literal"),
    ("CREATE TABLE O AS SELECT ID, LATEST_BY_OFFSET(A, A) FROM S GROUP BY ID;",
     "Parameter 2 passed to function LATEST_BY_OFFSET must be a literal constant, but was "
     "expression: 'A'", "aggregate-parameter-not-literal"),
    ("INSERT INTO S (ID, A) VALUES ('k', 'x');",
     "Failed to insert values into 'S'. Expected type INTEGER for field `A` but got STRING(x)",
     "insert-values-no-string-to-int"),
    ("INSERT INTO T (A) VALUES (1);",
     "Value for primary key column(s) ID is required for tables", "insert-table-needs-key"),
    ("CREATE STREAM X (V INT) WITH (KAFKA_TOPIC='x', VALUE_FORMAT='DELIMITED', "
     "VALUE_DELIMITER='<~>');", "Configuration VALUE_DELIMITER is invalid: Invalid delimiter "
     "value: '<~>'. Delimiter must be a single character or TAB,SPACE", "invalid-delimiter"),
    ("CREATE STREAM X (V INT) WITH (KAFKA_TOPIC='x', VALUE_FORMAT='JSON', VALUE_DELIMITER='|');",
     "JSON does not support the following configs: [delimiter]", "delimiter-of-json"),
    # class 4: ksqlDB's own words
    ("CREATE STREAM O AS SELECT ID, A FROM S WHERE BOB > 1;",
     "WHERE column 'BOB' cannot be resolved.", "where-unknown-column"),
    ("CREATE STREAM O AS SELECT ID, X.BOB FROM S X;",
     "SELECT column 'X.BOB' cannot be resolved.", "select-unknown-qualified-column"),
    ("CREATE TABLE O AS SELECT NAME, COUNT(*) FROM S GROUP BY NAME, S.NAME;",
     "Duplicate GROUP BY expression: S.NAME", "duplicate-group-by"),
    ("CREATE TABLE O AS SELECT NAME, COUNT(*) FROM S GROUP BY NAME HAVING A > 1;",
     "Non-aggregate HAVING expression not part of GROUP BY: A", "having-non-aggregate-column"),
    ("CREATE TABLE O AS SELECT ID, COUNT(*) FROM S WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY ID "
     "HAVING WINDOWSTART > 1;", "Window bounds column WINDOWSTART can only be used in the SELECT "
     "clause of windowed aggregations", "window-bound-in-having"),
    ("CREATE STREAM O AS SELECT ID, A AS ROWTIME FROM S;",
     "`ROWTIME` is a reserved column name. You cannot use it as an alias for a column.",
     "reserved-alias"),
    ("CREATE TABLE O AS SELECT NAME AS CNT, COUNT(*) AS CNT FROM S GROUP BY NAME;",
     "Duplicate value columns found in schema: `CNT` BIGINT", "duplicate-value-columns"),
    ("CREATE TABLE O AS SELECT COUNT(*) FROM S GROUP BY NAME, A;",
     "The query used to build `O` must include the grouping expressions NAME and A in its "
     "projection (eg, SELECT NAME, A...).", "grouping-expressions-missing"),
    ("DROP STREAM NOPE;", "Stream NOPE does not exist.", "drop-unknown-stream"),
    ("DROP TABLE S;", "Incompatible data source type is stream, but statement was DROP table",
     "drop-stream-as-table"),
    ("INSERT INTO NOPE (A) VALUES (1);", "Cannot insert values into an unknown stream/table: "
     "`NOPE`", "insert-unknown-target"),
    ("CREATE STREAM X (V INT) WITH (KAFKA_TOPIC='x');",
     "Statement is missing the 'VALUE_FORMAT' property from the WITH clause.",
     "missing-value-format"),
    ("CREATE TABLE W (K STRING PRIMARY KEY, V INT) WITH (KAFKA_TOPIC='w', VALUE_FORMAT='JSON', "
     "WINDOW_TYPE='HOPPING', WINDOW_SIZE='30 bobs');",
     "Configuration WINDOW_SIZE is invalid: Invalid duration: '30 bobs'. Unknown time unit: "
     "'BOBS'", "window-size-unknown-unit"),
    ("CREATE STREAM X (ROWTIME BIGINT) WITH (KAFKA_TOPIC='x', VALUE_FORMAT='JSON');",
     "'ROWTIME' is a reserved column name. You cannot use it as a name for a column.",
     "reserved-column-name"),
    ("CREATE STREAM O AS SELECT ID, A FROM S WHERE A = NULL;",
     "Comparison with NULL not supported: INTEGER = NULL", "comparison-with-null"),
    # class 5: ksqlDB's functions the engine lacks
    ("CREATE TABLE O AS SELECT ID, COLLECT_LIST(A) FROM S GROUP BY ID;",
     "function COLLECT_LIST is not supported by the embedded engine", "collect-list-unsupported"),
    ("CREATE TABLE O AS SELECT ID, COLLECT_SET(A) FROM S GROUP BY ID;",
     "function COLLECT_SET is not supported by the embedded engine", "collect-set-unsupported"),
    ("CREATE TABLE O AS SELECT ID, TOPK(A, 2) FROM S GROUP BY ID;",
     "function TOPK is not supported by the embedded engine", "topk-unsupported"),
    ("CREATE TABLE O AS SELECT ID, HISTOGRAM(NAME) FROM S GROUP BY ID;",
     "function HISTOGRAM is not supported by the embedded engine", "histogram-unsupported"),
    ("CREATE STREAM O AS SELECT ID, WONT_FIND_ME(A) FROM S;",
     "Can't find any functions with the name 'WONT_FIND_ME'", "unknown-function"),
]


@pytest.mark.parametrize("statement, message",
                         [pytest.param(st, m, id=i) for st, m, i in REFUSED])
def test_statement_ksqldb_refuses_is_refused_with_its_message(statement, message):
    assert message in refused(statement).message


SYNTAX_ERRORS = [
    ("CREATE STREAM X (K INT (KEY)) WITH (KAFKA_TOPIC='x', VALUE_FORMAT='JSON');",
     "line 1:25: Syntax Error", "type-parameter-must-be-a-number-or-string"),
    ("CREATE TABLE O AS SELECT COUNT(*) FROM S GROUP BY NAME AND ID;",
     "line 1:56: Syntax Error", "group-by-takes-value-expressions"),
    ("CREATE TABLE O AS SELECT A, COUNT(*) FROM S GROUP BY A, (NAME, ID);",
     "line 1:62: Syntax Error", "no-row-constructors"),
    ("CREATE STREAM O AS SELECT ID, A AS SIZE FROM S;",
     "line 1:36: Syntax Error", "reserved-word-as-alias"),
    ("CREATE STREAM O AS SELECT ID FROM S WHERE A = 1 = 1;",
     "line 1:49: Syntax Error", "one-comparison-per-predicate"),
]


@pytest.mark.parametrize("statement, prefix",
                         [pytest.param(st, p, id=i) for st, p, i in SYNTAX_ERRORS])
def test_syntax_error_reads_as_ksqldb_prints_it(statement, prefix):
    assert str(refused(statement)).startswith(prefix)


def test_failed_preparation_reads_as_ksqldb_prints_it():
    # ksqlDB's AST builder reports the column one past the literal's (a quirk it has).
    assert str(refused("CREATE STREAM O AS SELECT ID, 9223372036854775808 AS X FROM S;")) == (
        "Failed to prepare statement: line 1:32: Invalid numeric literal: 9223372036854775808")


def run(statements: str, records: list[Record]) -> list[Record]:
    engine = Engine()
    engine.execute(SOURCES + statements)
    return [out for record in records for out in engine.process(record)]


def test_rowtime_compares_with_a_timestamp_string():
    out = run("CREATE STREAM O AS SELECT ID, A FROM S WHERE ROWTIME >= '2018-01-01T00:00:00.001';",
              [Record("s", "a", {"A": 1}, 1514764800000), Record("s", "b", {"A": 2}, 1514764800001)])
    assert [r.key for r in out] == ["b"]


def test_a_partial_timestamp_string_fills_in_the_rest():
    # '2018' is 2018-01-01T00:00:00.000 UTC = 1514764800000
    out = run("CREATE STREAM O AS SELECT ID, A FROM S WHERE ROWTIME < '2018';",
              [Record("s", "a", {"A": 1}, 1514764799999), Record("s", "b", {"A": 2}, 1514764800000)])
    assert [r.key for r in out] == ["a"]


def test_a_timestamp_string_with_an_offset_is_in_that_zone():
    # 2018-01-01T04:45+0445 is midnight UTC
    out = run("CREATE STREAM O AS SELECT ID, A FROM S WHERE ROWTIME = '2018-01-01T04:45:00.000+0445';",
              [Record("s", "a", {"A": 1}, 1514764800000)])
    assert [r.key for r in out] == ["a"]


def test_windowstart_of_a_windowed_source_compares_with_a_timestamp_string():
    engine = Engine()
    engine.execute("CREATE STREAM W (K STRING KEY, V INT) WITH (KAFKA_TOPIC='w', "
                   "VALUE_FORMAT='JSON', WINDOW_TYPE='TUMBLING', WINDOW_SIZE='1 SECOND');"
                   "CREATE STREAM O AS SELECT K, V FROM W WHERE WINDOWSTART >= '1970-01-01T00:00:01';")
    out = [r for w in (0, 1000) for r in engine.process(
        Record("w", "a", {"V": w}, w, window=Window(w, w + 1000, "time")))]
    assert [r.value for r in out] == [{"V": 1000}]


def test_struct_star_selects_every_field_under_its_name():
    out = run("CREATE STREAM O AS SELECT ID, ST->* FROM S;", [Record("s", "a", {"ST": {"X": 7}}, 0)])
    assert out[0].value == {"X": 7}


def test_an_alias_may_start_with_a_digit():
    out = run("CREATE STREAM O AS SELECT ID, A 1_A FROM S;", [Record("s", "a", {"A": 3}, 0)])
    assert out[0].value == {"1_A": 3}


def test_varchar_takes_a_type_parameter():
    engine = Engine()
    engine.execute("CREATE STREAM X (K VARCHAR(STRING) KEY, V VARCHAR(STRING)) "
                   "WITH (KAFKA_TOPIC='x', VALUE_FORMAT='JSON');")
    assert [c.type for c in engine.source("X").columns] == ["STRING", "STRING"]


def test_none_key_format_declares_a_keyless_stream():
    engine = Engine()
    engine.execute("CREATE STREAM X (V INT) WITH (KAFKA_TOPIC='x', KEY_FORMAT='NONE', "
                   "VALUE_FORMAT='JSON'); CREATE STREAM O AS SELECT * FROM X;")
    [out] = engine.process(Record("x", b"ignored", b'{"V": 1}', 0))
    assert (out.key, out.value) == (None, {"V": 1})


def test_arrays_of_structs_compare_equal_element_by_element():
    out = run("CREATE STREAM O AS SELECT ID, AR = AR AS SAME FROM S;",
              [Record("s", "a", {"AR": [{"X": 1}]}, 0)])
    assert out[0].value == {"SAME": True}


def test_arrays_of_different_element_types_are_never_equal():
    # Java's List.equals: an Integer never equals a Long.
    engine = Engine()
    engine.execute("CREATE STREAM X (P ARRAY<INT>, Q ARRAY<BIGINT>) WITH (KAFKA_TOPIC='x', "
                   "VALUE_FORMAT='JSON'); CREATE STREAM O AS SELECT P = Q AS SAME FROM X;")
    assert engine.process(Record("x", None, {"P": [1], "Q": [1]}, 0))[0].value == {"SAME": False}


def test_not_equal_is_false_for_nan_as_ksqldb_compiles_it():
    out = run("CREATE STREAM O AS SELECT ID, SQRT(D) <> SQRT(D) AS NE FROM S;",
              [Record("s", "a", {"D": -1.0}, 0)])
    assert out[0].value == {"NE": False}


def test_generated_names_skip_numbers_the_source_uses():
    engine = Engine()
    engine.execute("CREATE STREAM X (KSQL_COL_0 INT) WITH (KAFKA_TOPIC='x', VALUE_FORMAT='JSON');"
                   "CREATE STREAM O AS SELECT KSQL_COL_0, ABS(KSQL_COL_0), ABS(KSQL_COL_0) FROM X;")
    assert [c.name for c in engine.source("O").columns] == ["KSQL_COL_0", "KSQL_COL_1",
                                                            "KSQL_COL_2"]


def test_a_window_may_be_named():
    out = run("CREATE TABLE O AS SELECT ID, COUNT(*) AS N FROM S WINDOW W1 TUMBLING (SIZE 1 SECOND) "
              "GROUP BY ID;", [Record("s", "a", {}, 0)])
    assert out[0].value == {"N": 1}


def test_as_value_copies_the_key_into_the_value():
    out = run("CREATE STREAM O AS SELECT ID, AS_VALUE(ID) AS ID2 FROM S;",
              [Record("s", "a", {}, 0)])
    assert (out[0].key, out[0].value) == ("a", {"ID2": "a"})


def test_the_smallest_bigint_literal_is_valid():
    out = run("CREATE STREAM O AS SELECT ID, -9223372036854775808 AS M FROM S;",
              [Record("s", "a", {}, 0)])
    assert out[0].value == {"M": -9223372036854775808}


def test_a_pull_query_names_an_unknown_column_as_ksqldb_does():
    engine = Engine()
    engine.execute(SOURCES + "CREATE TABLE C AS SELECT ID, COUNT(*) AS N FROM S GROUP BY ID;")
    with pytest.raises(KsqlError, match=r"^Line: 1, Col: 27: WHERE column 'BOB' cannot be resolved\.$"):
        engine.pull("SELECT ID, N FROM C WHERE BOB = 1;")


def test_case_branches_must_have_one_type():
    assert refused("CREATE STREAM O AS SELECT ID, CASE WHEN A > 1 THEN A ELSE B END AS X FROM S;"
                   ).message.startswith("Invalid Case expression. Type for the default clause "
                                        "should be the same as for 'THEN' clauses.")


def test_negating_the_smallest_int_wraps_as_java_does():
    out = run("CREATE STREAM O AS SELECT ID, -A AS N FROM S;",
              [Record("s", "a", {"A": -2147483648}, 0)])
    assert out[0].value == {"N": -2147483648}


def test_a_bigint_compares_with_a_double_as_a_double():
    # 2^53 + 1 converts to the double 2^53, as Java's long-to-double comparison does.
    out = run("CREATE STREAM O AS SELECT ID, B = D AS SAME FROM S;",
              [Record("s", "a", {"B": 2**53 + 1, "D": float(2**53)}, 0)])
    assert out[0].value == {"SAME": True}


def test_arithmetic_with_a_null_literal_is_refused():
    assert refused("CREATE STREAM O AS SELECT ID, A + NULL AS X FROM S;").message == (
        "Error processing expression: (A + NULL). Arithmetic on types INTEGER and null are not "
        "supported.")


def test_a_sink_delimiter_the_engine_cannot_write_is_not_supported():
    # Never silently written with commas instead.
    assert refused("CREATE STREAM O WITH (VALUE_FORMAT='DELIMITED', VALUE_DELIMITER='|') AS "
                   "SELECT ID, A FROM S;").message == (
        "VALUE_DELIMITER other than ',' is not supported by the embedded engine")
