"""Every built-in function at its edges, as ksqlDB's Java UDFs answer (issue 18, class 1).

Each case names the rule it pins; the expected values come from the Java semantics of
ksqlDB's UDF sources (1-based UTF-16 positions, String.trim, Math.round, int wrap-around,
Double.compareTo, ...), worked out by hand, never by calling the function under test.
Values reach the sink as ksqlDB writes them: a NaN or infinite double as a JSON string.
"""

from __future__ import annotations

import json

import pytest

from socksort.ksql.engine import Engine, KsqlError, Record
from socksort.ksql.sql.types import json_safe

COLUMNS = "S STRING, T STRING, I INT, J INT, L BIGINT, D DOUBLE, E DOUBLE"


def evaluate(expression: str, value: dict | None = None, fmt: str = "JSON"):
    """The value the sink writes for ``expression`` over one record (JSON: the column's
    value; DELIMITED: the written line)."""
    engine = Engine()
    engine.execute(f"""
        CREATE STREAM IN1 ({COLUMNS}) WITH (KAFKA_TOPIC='in', VALUE_FORMAT='JSON');
        CREATE STREAM OUT1 WITH (VALUE_FORMAT='{fmt}') AS SELECT {expression} AS X FROM IN1;""")
    [out] = engine.process(Record("in", None, value or {}, 0))
    return out.value["X"] if fmt == "JSON" else out.value


def rejection(expression: str) -> str:
    engine = Engine()
    engine.execute(f"CREATE STREAM IN1 ({COLUMNS}) WITH (KAFKA_TOPIC='in', VALUE_FORMAT='JSON');")
    with pytest.raises(KsqlError) as err:
        engine.execute(f"CREATE STREAM OUT1 AS SELECT {expression} AS X FROM IN1;")
    return err.value.message


EDGES = [
    # SUBSTRING: 1-based; position 0 counts as 1; negative counts from the end; the end
    # clamps; Java's int arithmetic; UTF-16 units.
    ("SUBSTRING(S, 0, 2)", {"S": "abcdef"}, "ab", "substring-position-0-is-position-1"),
    ("SUBSTRING(S, 1, 2)", {"S": "abcdef"}, "ab", "substring-is-1-based"),
    ("SUBSTRING(S, -2)", {"S": "abcdef"}, "ef", "substring-negative-position-from-end"),
    ("SUBSTRING(S, -10)", {"S": "abc"}, "abc", "substring-negative-past-start-is-start"),
    ("SUBSTRING(S, 5)", {"S": "abc"}, "", "substring-position-past-end-is-empty"),
    ("SUBSTRING(S, 2, -1)", {"S": "abc"}, "", "substring-negative-length-is-empty"),
    ("SUBSTRING(S, 2, 2147483647)", {"S": "abc"}, "",
     "substring-start-plus-length-wraps-as-java-int"),
    ("SUBSTRING(S, 2, I)", {"S": "abc"}, None, "substring-null-length-is-null"),
    ("SUBSTRING(S, 2, 2)", {"S": "a\U0001F600b"}, "\U0001F600",
     "substring-counts-utf16-units"),
    ("LEN(S)", {"S": "\U0001F600"}, 2, "len-counts-utf16-units"),
    ("LEN(S)", {"S": ""}, 0, "len-of-empty-is-0"),
    ("LEN(S)", {}, None, "len-of-null-is-null"),
    ("TRIM(S)", {"S": "\t\x00 x \n"}, "x", "trim-strips-control-characters-like-java"),
    ("TRIM(S)", {"S": "\u00a0x"}, "\u00a0x", "trim-keeps-non-ascii-spaces-like-java"),
    ("UCASE(S)", {}, None, "ucase-of-null-is-null"),
    ("LCASE(S)", {"S": ""}, "", "lcase-of-empty-is-empty"),
    ("CONCAT(S, T, 'c')", {"S": "a"}, "ac", "concat-skips-nulls"),
    ("CONCAT(S, T)", {}, "", "concat-of-nulls-is-empty"),
    ("S || 'b' || T", {"S": "a"}, "ab", "concat-operator-skips-nulls"),
    ("REPLACE(S, '', '-')", {"S": "abc"}, "-a-b-c-", "replace-empty-target-inserts-everywhere"),
    ("REPLACE(S, 'a', T)", {"S": "abc"}, None, "replace-with-null-is-null"),
    ("LPAD(S, 5, 'xy')", {"S": "ab"}, "xyxab", "lpad-repeats-padding"),
    ("LPAD(S, 3, 'x')", {"S": "abcdef"}, "abc", "lpad-truncates-from-the-right"),
    ("LPAD(S, 3, '')", {"S": "a"}, None, "lpad-empty-padding-is-null"),
    ("LPAD(S, -1, 'x')", {"S": "a"}, None, "lpad-negative-length-is-null"),
    ("RPAD(S, 5, 'xy')", {"S": "ab"}, "abxyx", "rpad-repeats-padding"),
    ("RPAD(S, 0, 'x')", {"S": "ab"}, "", "rpad-zero-length-is-empty"),
    ("RPAD(S, 2, '')", {"S": "abc"}, None, "rpad-empty-padding-is-null-even-when-truncating"),
    ("INSTR(S, 'l')", {"S": "hello"}, 3, "instr-first-occurrence"),
    ("INSTR(S, 'l', 4)", {"S": "hello"}, 4, "instr-from-position"),
    ("INSTR(S, 'l', 1, 2)", {"S": "hello"}, 4, "instr-nth-occurrence"),
    ("INSTR(S, 'l', -1)", {"S": "hello"}, 4, "instr-negative-position-searches-backwards"),
    ("INSTR(S, 'l', -1, 2)", {"S": "hello"}, 3, "instr-backwards-nth-occurrence"),
    ("INSTR(S, 'z')", {"S": "hello"}, 0, "instr-absent-is-0"),
    ("INSTR(S, 'l', 0)", {"S": "hello"}, 0, "instr-position-0-is-0"),
    ("INSTR(S, 'l', 10)", {"S": "hello"}, 0, "instr-position-past-end-is-0"),
    ("INSTR(S, 'l')", {}, 0, "instr-null-string-is-0-not-null"),
    ("ABS(I)", {"I": -2147483648}, -2147483648, "abs-int-min-stays-as-java"),
    ("ABS(L)", {"L": -5}, 5, "abs-bigint"),
    ("ROUND(D)", {"D": 2.5}, 3, "round-half-up"),
    ("ROUND(D)", {"D": -2.5}, -2, "round-negative-half-towards-positive"),
    ("ROUND(D)", {"D": 0.49999999999999994}, 0, "round-just-below-half-is-down"),
    ("ROUND(SQRT(D))", {"D": -1.0}, 0, "round-nan-is-0"),
    ("ROUND(D)", {"D": 1e300}, 9223372036854775807, "round-saturates-at-bigint-max"),
    ("ROUND(D, 2)", {"D": 1.235}, 1.24, "round-places-half-up-for-positive"),
    ("ROUND(D, 2)", {"D": -1.235}, -1.23, "round-places-half-down-for-negative"),
    ("ROUND(D, -1)", {"D": 125.0}, 130.0, "round-negative-places-rounds-tens"),
    ("ROUND(I)", {"I": 7}, 7, "round-int-is-bigint"),
    ("FLOOR(D)", {"D": -0.5}, -1.0, "floor-double"),
    ("CEIL(D)", {"D": 1.2}, 2.0, "ceil-double"),
    ("FLOOR(I)", {"I": 3}, 3, "floor-int-is-int"),
    ("SIGN(I)", {"I": -3}, -1, "sign-int"),
    ("SIGN(SQRT(D))", {"D": -1.0}, 0, "sign-nan-is-0"),
    ("SQRT(D)", {"D": -1.0}, "NaN", "sqrt-negative-is-nan-written-as-string"),
    ("SQRT(I)", {"I": 9}, 3.0, "sqrt-int-is-double"),
    ("LN(D)", {"D": 0.0}, "-Infinity", "ln-zero-is-minus-infinity"),
    ("LN(D)", {"D": -1.0}, "NaN", "ln-negative-is-nan"),
    ("EXP(D)", {"D": 1000.0}, "Infinity", "exp-overflow-is-infinity"),
    ("GREATEST(I, J, 3)", {"I": 1}, 3, "greatest-skips-nulls"),
    ("GREATEST(I, J)", {}, None, "greatest-of-nulls-is-null"),
    ("GREATEST(I, 2.5e0)", {"I": 3}, 3.0, "greatest-widens-int-to-double"),
    ("GREATEST(D, E)", {"D": 1.0, "E": -1.0}, 1.0, "greatest-of-doubles"),
    ("GREATEST(SQRT(D), E)", {"D": -1.0, "E": 1e308}, "NaN", "greatest-nan-is-largest"),
    ("LEAST(S, T)", {"S": "b", "T": "a"}, "a", "least-of-strings"),
    ("GREATEST(S, T)", {"S": "\uffff", "T": "\U0001F600"}, "\uffff",
     "greatest-strings-by-utf16-unit"),
    ("IFNULL(I, 5)", {}, 5, "ifnull-replaces-null"),
    ("IFNULL(I, 5)", {"I": 1}, 1, "ifnull-keeps-value"),
    ("COALESCE(I, J, 3)", {}, 3, "coalesce-first-non-null"),
    ("COALESCE(I)", {}, None, "coalesce-all-null-is-null"),
    ("TIMESTAMPTOSTRING(L, 'yyyy-MM-dd HH:mm:ss.SSS')", {"L": -1}, "1969-12-31 23:59:59.999",
     "timestamptostring-before-epoch"),
    ("TIMESTAMPTOSTRING(L, S)", {"L": 0}, None, "timestamptostring-null-pattern-is-null"),
    ("TIMESTAMPTOSTRING(I, 'yyyy')", {"I": 0}, "1970", "timestamptostring-widens-int"),
    ("AS_VALUE(I)", {"I": 4}, 4, "as-value-is-the-value"),
]


@pytest.mark.parametrize("expression, value, expected",
                         [pytest.param(e, v, x, id=i) for e, v, x, i in EDGES])
def test_function_edge_answers_as_ksqldb(expression, value, expected):
    got = evaluate(expression, value)
    assert got == expected and type(got) is type(expected), (got, expected)


def test_ceil_of_a_small_negative_double_is_negative_zero():
    # Math.ceil(-0.5) is -0.0, which DELIMITED shows with its sign.
    assert evaluate("CEIL(D)", {"D": -0.5}, fmt="DELIMITED") == "-0.0"


def test_abs_of_negative_zero_is_positive_zero():
    assert evaluate("ABS(D)", {"D": -0.0}, fmt="DELIMITED") == "0.0"


def test_least_puts_negative_zero_below_zero():
    assert evaluate("LEAST(D, E)", {"D": 0.0, "E": -0.0}, fmt="DELIMITED") == "-0.0"


def test_floor_of_a_double_stays_a_double_in_delimited_text():
    assert evaluate("FLOOR(D)", {"D": 1.5}, fmt="DELIMITED") == "1.0"


def test_double_min_value_prints_as_java_does():
    assert evaluate("D", {"D": 5e-324}, fmt="DELIMITED") == "4.9E-324"


def test_nan_in_a_delimited_value_is_javas_text():
    assert evaluate("SQRT(D)", {"D": -1.0}, fmt="DELIMITED") == "NaN"


def test_instr_with_a_null_position_is_null():
    assert evaluate("INSTR(S, 'l', I)", {"S": "hello"}) is None


REJECTED = [
    ("GREATEST(I, L)", "Function 'greatest' cannot be resolved due to ambiguous method "
     "parameters (INTEGER, BIGINT).", "greatest-int-and-bigint-is-ambiguous"),
    ("LEAST(NULL, NULL)", "Function 'least' cannot be resolved due to ambiguous method "
     "parameters (null, null).", "least-of-untyped-nulls-is-ambiguous"),
    ("GREATEST(S, I)", "Function 'greatest' does not accept parameters (STRING, INTEGER).",
     "greatest-string-and-int"),
    ("GREATEST()", "Function 'greatest' does not accept parameters ().", "greatest-no-args"),
    ("GREATEST(*)", "Function 'greatest' does not accept parameters ().", "greatest-star"),
    ("ROUND(I, 2)", "Function 'Round' cannot be resolved due to ambiguous method parameters "
     "(INTEGER, INTEGER).", "round-int-with-places-is-ambiguous"),
    ("SUBSTRING(S)", "Function 'substring' does not accept parameters (STRING).",
     "substring-needs-a-position"),
    ("CONCAT(S, I)", "Function 'concat' does not accept parameters (STRING, INTEGER).",
     "concat-takes-strings-only"),
    ("IFNULL(I, L)", "Function 'IFNULL' does not accept parameters (INTEGER, BIGINT).",
     "ifnull-generic-binds-one-type"),
    ("LEN(I)", "Function 'len' does not accept parameters (INTEGER).", "len-of-int"),
]


@pytest.mark.parametrize("expression, message",
                         [pytest.param(e, m, id=i) for e, m, i in REJECTED])
def test_function_call_ksqldb_refuses_is_refused_with_its_message(expression, message):
    assert rejection(expression) == message


def aggregate(select: str, values: list[dict], columns: str = "K STRING KEY, I INT, D DOUBLE, S STRING"):
    engine = Engine()
    engine.execute(f"""
        CREATE STREAM IN1 ({columns}) WITH (KAFKA_TOPIC='in', VALUE_FORMAT='JSON');
        CREATE TABLE OUT1 AS SELECT K, {select} AS X FROM IN1 GROUP BY K;""")
    out = [engine.process(Record("in", "k", v, i)) for i, v in enumerate(values)]
    return out[-1][0].value["X"]


def test_integer_sum_wraps_as_java_int():
    assert aggregate("SUM(I)", [{"I": 2147483647}, {"I": 1}]) == -2147483648


def test_integer_avg_sums_in_a_wrapping_int():
    assert aggregate("AVG(I)", [{"I": 2147483647}, {"I": 1}]) == -2147483648 / 2


def test_max_of_doubles_takes_nan_as_largest():
    assert aggregate("MAX(SQRT(D))", [{"D": 4.0}, {"D": -1.0}]) == "NaN"


def test_min_of_doubles_puts_negative_zero_below_zero():
    assert str(aggregate("MIN(D)", [{"D": 0.0}, {"D": -0.0}])) == "-0.0"


def test_max_of_strings_orders_by_utf16_unit():
    assert aggregate("MAX(S)", [{"S": "\U0001F600"}, {"S": "\uffff"}]) == "\uffff"


def test_count_of_null_literal_counts_nothing():
    assert aggregate("COUNT(NULL)", [{}, {}]) == 0


def test_latest_by_offset_with_a_count_keeps_the_latest_values():
    assert aggregate("LATEST_BY_OFFSET(I, 2)", [{"I": 1}, {"I": 2}, {"I": 3}]) == [2, 3]


def test_earliest_by_offset_with_a_count_keeps_the_earliest_values():
    assert aggregate("EARLIEST_BY_OFFSET(I, 2)", [{"I": 1}, {"I": 2}, {"I": 3}]) == [1, 2]


def test_latest_by_offset_count_with_nulls_not_ignored_keeps_them():
    assert aggregate("LATEST_BY_OFFSET(I, 2, false)", [{"I": 1}, {}]) == [1, None]


def test_a_nan_result_is_written_as_valid_json():
    # ksqlDB's JSON serializer writes "NaN"; a bare NaN token is not JSON at all.
    engine = Engine()
    engine.execute(f"""
        CREATE STREAM IN1 ({COLUMNS}) WITH (KAFKA_TOPIC='in', VALUE_FORMAT='JSON');
        CREATE STREAM OUT1 AS SELECT SQRT(D) AS X FROM IN1;""")
    [out] = engine.process(Record("in", None, {"D": -1.0}, 0))
    _, value = engine.serialize(out)
    assert json.loads(value, parse_constant=lambda c: pytest.fail(f"bare {c}")) == {"X": "NaN"}


def test_push_rows_with_infinite_doubles_become_valid_json():
    assert json_safe([1.5, float("inf"), {"A": [float("-inf")]}]) == [
        1.5, "Infinity", {"A": ["-Infinity"]}]
