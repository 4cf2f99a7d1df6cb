"""Table functions (EXPLODE, CUBE_EXPLODE), array subscripts and SPLIT, as ksqlDB runs them.

ksqlDB's semantics (docs/developer-guide/ksqldb-reference/table-functions.md and its QTT
files explode.json and table-functions.json): one output row per element, the query's
other columns copied onto each; several table functions in one SELECT zipped row by row
up to the longest, the shorter ones null past their end; a null or empty array gives no
row; only in the SELECT list of a query over a stream, never with aggregation.
"""

from __future__ import annotations

import pytest

from socksort.ksql.engine import Engine, KsqlError, Record

SOURCE = ("CREATE STREAM S (ID STRING KEY, N INT, A ARRAY<BIGINT>, B ARRAY<BIGINT>, "
          "O ARRAY<STRUCT<LABEL STRING, P DOUBLE>>, X STRING) "
          "WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');")


def run(select: str, *values: str, key: bytes = b"k") -> list:
    engine = Engine()
    engine.execute(SOURCE + f"CREATE STREAM OUT AS {select};")
    return [(r.key, r.value) for v in values
            for r in engine.process(Record("s", key, v.encode(), 1))]


def refused(sql: str, source: str = SOURCE) -> str:
    engine = Engine()
    engine.execute(source)
    with pytest.raises(KsqlError) as err:
        engine.execute(sql)
    return err.value.message


def test_explode_gives_one_row_per_element_with_the_other_columns_copied():
    assert run("SELECT ID, N, EXPLODE(A) AS V FROM S", '{"N": 7, "A": [1, 2, 3]}') == [
        ("k", {"N": 7, "V": 1}), ("k", {"N": 7, "V": 2}), ("k", {"N": 7, "V": 3})]


def test_explode_of_a_struct_array_then_field_access():
    rows = run("SELECT ID, EXPLODE(O)->LABEL AS L, EXPLODE(O)->P FROM S",
               '{"O": [{"label": "Argyle", "p": 91.5}, {"label": "Polka", "p": 80}]}')
    assert [v for _, v in rows] == [{"L": "Argyle", "P": 91.5}, {"L": "Polka", "P": 80.0}]


def test_a_null_or_empty_array_gives_no_rows():
    assert run("SELECT ID, EXPLODE(A) AS V FROM S", '{"A": []}', '{"A": null}', '{}') == []


def test_two_table_functions_zip_up_to_the_longest_and_the_shorter_gives_null():
    rows = run("SELECT ID, EXPLODE(A), EXPLODE(B) FROM S", '{"A": [1, 2], "B": [10, 11, 12]}')
    assert [v for _, v in rows] == [{"KSQL_COL_0": 1, "KSQL_COL_1": 10},
                                    {"KSQL_COL_0": 2, "KSQL_COL_1": 11},
                                    {"KSQL_COL_0": None, "KSQL_COL_1": 12}]


def test_where_filters_the_input_row_before_it_is_exploded():
    rows = run("SELECT ID, EXPLODE(A) AS V FROM S WHERE N <> 1",
               '{"N": 1, "A": [1, 2]}', '{"N": 2, "A": [3]}')
    assert [v for _, v in rows] == [{"V": 3}]


def test_a_table_function_inside_a_scalar_function():
    rows = run("SELECT ID, ABS(EXPLODE(A)) AS V FROM S", '{"A": [-4, 5]}')
    assert [v for _, v in rows] == [{"V": 4}, {"V": 5}]


def test_the_exploded_column_has_the_element_type():
    engine = Engine()
    engine.execute(SOURCE + "CREATE STREAM OUT AS SELECT ID, EXPLODE(O) AS OB, EXPLODE(A) AS V FROM S;")
    types = {c.name: c.type for c in engine.source("OUT").columns}
    assert (types["OB"], types["V"]) == ("STRUCT<`LABEL` STRING, `P` DOUBLE>", "BIGINT")


def test_cube_explode_gives_every_combination_and_skips_the_duplicates_of_nulls():
    rows = run("SELECT ID, CUBE_EXPLODE(A) AS V FROM S", '{"A": [1, 2]}', '{"A": [1, null]}')
    assert [v["V"] for _, v in rows] == [[None, None], [None, 2], [1, None], [1, 2],
                                         [None, None], [1, None]]


def test_a_push_query_explodes_too():
    engine = Engine()
    engine.execute(SOURCE)
    rows = []
    engine.push("SELECT ID, EXPLODE(A) AS V FROM S EMIT CHANGES;", rows.append)
    engine.process(Record("s", b"k", b'{"A": [5, 6]}', 1))
    assert [r.columns for r in rows] == [["k", 5], ["k", 6]]


def test_table_functions_cannot_be_used_with_aggregations():
    assert refused("CREATE TABLE T AS SELECT N, EXPLODE(A), COUNT(*) FROM S GROUP BY N;") == (
        "Table functions cannot be used with aggregations.")


def test_table_functions_cannot_read_a_table():
    table = ("CREATE TABLE TT (ID STRING PRIMARY KEY, A ARRAY<BIGINT>) "
             "WITH (KAFKA_TOPIC='t', VALUE_FORMAT='JSON');")
    assert refused("CREATE TABLE T AS SELECT ID, EXPLODE(A) AS V FROM TT;", table) == (
        "Table source is not supported with table functions")


def test_table_functions_cannot_be_nested():
    assert refused("CREATE STREAM T AS SELECT ID, EXPLODE(EXPLODE(A)) FROM S;") == (
        "Table functions cannot be nested: EXPLODE(EXPLODE())")


def test_table_functions_cannot_be_used_in_case():
    assert refused("CREATE STREAM T AS SELECT ID, CASE WHEN N > 1 THEN EXPLODE(A) END FROM S;") == (
        "Table functions cannot be used in CASE: (CASE WHEN (N > 1) THEN EXPLODE(A) END)")


def test_a_table_function_in_where_is_no_scalar_function():
    assert refused("CREATE STREAM T AS SELECT ID, N FROM S WHERE EXPLODE(A) = 1;") == (
        "Can't find any functions with the name 'EXPLODE'")


def test_explode_of_something_not_an_array_lists_its_overloads():
    assert refused("CREATE STREAM T AS SELECT ID, EXPLODE(N) FROM S;") == (
        "Function 'explode' does not accept parameters (INTEGER).\nValid alternatives are:\n"
        "explode(ARRAY<DECIMAL> input)\nexplode(ARRAY<T> list)")


def test_a_subscript_counts_from_one_and_negative_from_the_end():
    rows = run("SELECT ID, A[1] AS F, A[-1] AS L, A[0] AS Z, A[9] AS OUTSIDE FROM S",
               '{"A": [4, 5, 6]}')
    assert [v for _, v in rows] == [{"F": 4, "L": 6, "Z": None, "OUTSIDE": None}]


def test_a_field_of_a_subscripted_struct():
    rows = run("SELECT ID, O[2]->LABEL AS L FROM S",
               '{"O": [{"label": "Argyle", "p": 91.5}, {"label": "Polka", "p": 80}]}', '{"O": []}')
    assert [v for _, v in rows] == [{"L": "Polka"}, {"L": None}]


def test_split_takes_its_delimiter_literally():
    rows = run("SELECT ID, SPLIT(X, ' + ') AS P, SPLIT(X, '.') AS D FROM S",
               '{"X": "Argyle + Polka"}', '{"X": "a.b"}')
    assert [v for _, v in rows] == [{"P": ["Argyle", "Polka"], "D": ["Argyle + Polka"]},
                                    {"P": ["a.b"], "D": ["a", "b"]}]


def test_a_table_function_after_a_case_in_the_same_item_is_refused_as_ksqldb_does():
    # ksqlDB's analyzer remembers a CASE for the rest of the SELECT item.
    assert refused("CREATE STREAM T AS SELECT ID, COALESCE(CASE WHEN N > 1 THEN 1 END, "
                   "EXPLODE(A)) FROM S;").startswith("Table functions cannot be used in CASE:")


def test_a_case_in_another_item_does_not_matter():
    rows = run("SELECT ID, CASE WHEN N > 1 THEN 'big' END AS C, EXPLODE(A) AS V FROM S",
               '{"N": 2, "A": [1]}')
    assert [v for _, v in rows] == [{"C": "big", "V": 1}]
