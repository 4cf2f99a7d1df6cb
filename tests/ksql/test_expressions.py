"""Expression semantics: nulls, integer arithmetic, CASE, and the string/time functions."""

from __future__ import annotations

import pytest

from socksort.ksql.engine import Engine, KsqlError, Record


def evaluate(expression: str, value: dict, columns: str = "A INT, B INT, S STRING, D DOUBLE"):
    engine = Engine()
    engine.execute(f"""
        CREATE STREAM IN1 ({columns}) WITH (KAFKA_TOPIC='in', VALUE_FORMAT='JSON');
        CREATE STREAM OUT1 AS SELECT {expression} AS X FROM IN1;""")
    return engine.process(Record("in", None, value, 1526075913000))[0].value["X"]


def test_integer_division_truncates_toward_zero():
    assert evaluate("A / B", {"A": -7, "B": 2}) == -3


def test_integer_remainder_takes_the_sign_of_the_dividend():
    assert evaluate("A % B", {"A": -7, "B": 3}) == -1


def test_integer_division_by_zero_is_null():
    assert evaluate("A / B", {"A": 1, "B": 0}) is None


def test_int_arithmetic_wraps_like_java():
    assert evaluate("A * B", {"A": 2_000_000_000, "B": 2}) == -294967296


def test_arithmetic_with_null_is_null():
    assert evaluate("A + B", {"A": 1}) is None


def test_comparison_with_null_is_false():
    assert evaluate("A = B", {"A": 1}) is False


def test_case_takes_the_first_true_branch_and_null_without_else():
    assert evaluate("CASE WHEN A > 1 THEN 'big' WHEN A > 0 THEN 'small' END", {"A": 1}) == "small"
    assert evaluate("CASE WHEN A > 1 THEN 'big' END", {"A": 0}) is None


def test_string_plus_concatenates():
    assert evaluate("S + '!'", {"S": "hi"}) == "hi!"


def test_concat_skips_nulls():
    assert evaluate("CONCAT(S, '-', S)", {}) == "-"


def test_ucase_and_lcase():
    assert evaluate("UCASE(S)", {"S": "Mongo"}) == "MONGO"
    assert evaluate("LCASE(S)", {"S": "Mongo"}) == "mongo"
    assert evaluate("LCASE(S)", {}) is None


def test_timestamptostring_formats_in_utc_by_default():
    assert evaluate("TIMESTAMPTOSTRING(ROWTIME, 'yyyy-MM-dd''T''HH:mm:ss.SSS')", {}) == \
        "2018-05-11T21:58:33.000"


def test_timestamptostring_honours_a_time_zone():
    assert evaluate("TIMESTAMPTOSTRING(ROWTIME, 'HH:mm zzz', 'Europe/Berlin')", {}) == "23:58 CEST"


def test_comparing_a_number_with_a_string_is_rejected():
    with pytest.raises(KsqlError, match="Cannot compare A \\(INTEGER\\) to 'x' \\(STRING\\)"):
        evaluate("A = 'x'", {})


def test_unknown_function_is_rejected():
    with pytest.raises(KsqlError, match="Can't find any functions with the name 'NOPE'"):
        evaluate("NOPE(A)", {})


@pytest.mark.parametrize("pattern, text", [
    ("Z", "-0400"), ("X", "-04"), ("XXX", "-04:00"), ("EEE, d MMM yyyy hh:mm a", "Fri, 11 May 2018 05:58 PM"),
])
def test_timestamptostring_offset_and_text_fields_follow_java_time(pattern, text):
    assert evaluate(f"TIMESTAMPTOSTRING(ROWTIME, '{pattern}', 'America/New_York')", {}) == text


@pytest.mark.parametrize("expression, expected", [
    ("INSTR('CORPORATE FLOOR', 'OR', 3, 2)", 14),
    ("INSTR('CORPORATE FLOOR', 'OR', -3, 2)", 2),
    ("LPAD('Foo', 7, 'Bar')", "BarBFoo"),
    ("RPAD('Foo', 7, 'Bar')", "FooBarB"),
    ("GREATEST(A, B, 7)", 7),
    ("LEAST(A, B)", 2),
    ("FLOOR(D)", -3.0),
    ("CEIL(D)", -2.0),
    ("SUBSTRING('socksort', 5)", "sort"),
    ("ROUND(2.5)", 3),
])
def test_scalar_functions_follow_ksqldb_documentation(expression, expected):
    assert evaluate(expression, {"A": 3, "B": 2, "D": -2.5}) == expected


def test_count_distinct_counts_each_value_once():
    engine = Engine()
    engine.execute("""
        CREATE STREAM IN1 (K STRING KEY, V INT) WITH (KAFKA_TOPIC='in', VALUE_FORMAT='JSON');
        CREATE TABLE OUT1 AS SELECT K, COUNT_DISTINCT(V) AS D FROM IN1 GROUP BY K;""")
    out = [engine.process(Record("in", "k", {"V": v}, 0))[0].value["D"] for v in (1, 1, 2, None)]
    assert out == [1, 1, 2, 2]


def test_decimal_literal_arithmetic_is_exact():
    assert evaluate("0.1 + 0.2", {}) == 0.3
    assert evaluate("A * 1.1", {"A": 3}) == 3.3
