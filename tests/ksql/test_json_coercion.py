"""JSON values read as ksqlDB's JSON deserializer reads them (ksql/ENGINE.md, "JSON values").

Each case is one JSON value in one column type, fed to the engine as wire bytes: what
ksqlDB's KsqlJsonDeserializer/JsonSerdeUtils coerce comes out coerced, what they reject
skips the record with ksqlDB's message in the processing log.
"""

from __future__ import annotations

import json
import math

import pytest

from socksort.ksql.engine import Engine, Record


def _engine(column_type: str, logged: list) -> Engine:
    engine = Engine(processing_log=logged.append)
    engine.execute(f"CREATE STREAM S (V {column_type}) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');"
                   "CREATE STREAM O AS SELECT V FROM S;")
    return engine


def _read(column_type: str, json_value: str):
    """(value the query wrote, processing-log messages) for ``{"V": <json_value>}``."""
    logged: list = []
    out = _engine(column_type, logged).process(Record("s", None, f'{{"V": {json_value}}}'.encode(), 1))
    return (out[0].value["V"] if out else None), [entry.message for entry in logged]


COERCED = [
    # DOUBLE: any number; a string as Double.parseDouble reads it
    ("DOUBLE", "97.3", 97.3),
    ("DOUBLE", "97", 97.0),
    ("DOUBLE", '"97.3"', 97.3),
    ("DOUBLE", '" 97.3 "', 97.3),
    ("DOUBLE", '"1e3"', 1000.0),
    # (an infinite DOUBLE is written back as the string ksqlDB writes)
    ("DOUBLE", '"-Infinity"', "-Infinity"),
    ("DOUBLE", '"0x1.8p1"', 3.0),
    ("DOUBLE", "1e400", "Infinity"),
    # STRING: every node's text, numbers as written
    ("STRING", '"Mongo"', "Mongo"),
    ("STRING", "5", "5"),
    ("STRING", "97.30", "97.30"),
    ("STRING", "1e3", "1E+3"),
    ("STRING", "-0.0", "0.0"),
    ("STRING", "true", "true"),
    ("STRING", '{"a": 1.50, "b": [1, "x\\u001f"]}', '{"a":1.50,"b":[1,"x\\u001F"]}'),
    ("STRING", '["json", "array", null, 2, ["n"]]', "[json, array, null, 2, [n]]"),
    # INTEGER / BIGINT: a number's integral part (wrapped to the type's bits, as Java's
    # intValue/longValue), a string as Integer/Long.parseInt reads it
    ("INTEGER", "41", 41),
    ("INTEGER", "41.9", 41),
    ("INTEGER", "-41.9", -41),
    ("INTEGER", "2.9999999999999999999", 2),
    ("INTEGER", '"41"', 41),
    ("INTEGER", '"+41"', 41),
    ("INTEGER", "2147483648", -2147483648),
    ("BIGINT", "2147483648", 2147483648),
    ("BIGINT", '"-9223372036854775808"', -9223372036854775808),
    ("BIGINT", "9223372036854775808", -9223372036854775808),
    ("BIGINT", "1e3", 1000),
    # BOOLEAN: true and false only
    ("BOOLEAN", "true", True),
    ("BOOLEAN", "false", False),
    # null is null in every type
    ("BOOLEAN", "null", None),
    ("DOUBLE", "null", None),
]


@pytest.mark.parametrize("column_type, json_value, expected", COERCED,
                         ids=[f"{t}<-{v}" for t, v, _ in COERCED])
def test_a_json_value_ksqldb_coerces_is_coerced_the_same_way(column_type, json_value, expected):
    value, logged = _read(column_type, json_value)
    assert logged == []
    assert value == expected and type(value) is type(expected)


REJECTED = [
    ("DOUBLE", "true", "Can't convert type. sourceType: BooleanNode, requiredType: DOUBLE, path: $.V"),
    ("DOUBLE", "{}", "Can't convert type. sourceType: ObjectNode, requiredType: DOUBLE, path: $.V"),
    ("DOUBLE", "[1]", "Can't convert type. sourceType: ArrayNode, requiredType: DOUBLE, path: $.V"),
    ("DOUBLE", '"97,3"', "Can't coerce string to type. targetType: DOUBLE, path: $.V"),
    ("DOUBLE", '"inf"', "Can't coerce string to type. targetType: DOUBLE, path: $.V"),
    ("DOUBLE", '"1_000"', "Can't coerce string to type. targetType: DOUBLE, path: $.V"),
    ("INTEGER", "true", "Can't convert type. sourceType: BooleanNode, requiredType: INTEGER, path: $.V"),
    ("INTEGER", '" 41"', "Can't coerce string to type. targetType: INTEGER, path: $.V"),
    ("INTEGER", '"41.0"', "Can't coerce string to type. targetType: INTEGER, path: $.V"),
    ("INTEGER", '"2147483648"', "Can't coerce string to type. targetType: INTEGER, path: $.V"),
    ("BIGINT", '"1e3"', "Can't coerce string to type. targetType: BIGINT, path: $.V"),
    ("BIGINT", "{}", "Can't convert type. sourceType: ObjectNode, requiredType: BIGINT, path: $.V"),
    ("BOOLEAN", '"true"', "Can't convert type. sourceType: TextNode, requiredType: BOOLEAN, path: $.V"),
    ("BOOLEAN", "1", "Can't convert type. sourceType: IntNode, requiredType: BOOLEAN, path: $.V"),
    ("BOOLEAN", "1.0", "Can't convert type. sourceType: DecimalNode, requiredType: BOOLEAN, path: $.V"),
    ("ARRAY<INT>", '[1, "x"]', "Can't coerce string to type. targetType: INTEGER, path: $.V[1]"),
    ("ARRAY<INT>", "1", "Can't convert type. sourceType: IntNode, requiredType: ARRAY<INT>, path: $.V"),
    ("STRUCT<K BOOLEAN>", '{"k": "yes"}',
     "Can't convert type. sourceType: TextNode, requiredType: BOOLEAN, path: $.V.K"),
    ("STRUCT<K VARCHAR>", '"k"',
     "Can't convert type. sourceType: TextNode, requiredType: STRUCT<K VARCHAR>, path: $.V"),
]


@pytest.mark.parametrize("column_type, json_value, message", REJECTED,
                         ids=[f"{t}<-{v}" for t, v, _ in REJECTED])
def test_a_json_value_ksqldb_rejects_skips_the_record_with_its_message(column_type, json_value, message):
    value, logged = _read(column_type, json_value)
    assert value is None
    assert logged == [f"Failed to deserialize value: {message}"]


def test_nan_and_infinity_tokens_are_not_json():
    _, logged = _read("DOUBLE", "NaN")
    assert len(logged) == 1 and "not JSON" in logged[0]


def test_text_after_the_json_value_is_ignored_as_jackson_ignores_it():
    logged: list = []
    engine = _engine("DOUBLE", logged)
    out = engine.process(Record("s", None, b'\n {"V": 1.5} trailing {"V": 2}', 1))
    assert [r.value for r in out] == [{"V": 1.5}] and logged == []


def test_a_value_that_is_not_an_object_names_the_row_type_it_should_be():
    logged: list = []
    engine = Engine(processing_log=logged.append)
    engine.execute("CREATE STREAM S (IMAGE VARCHAR, PROBABILITY DOUBLE) WITH (KAFKA_TOPIC='s', "
                   "VALUE_FORMAT='JSON'); CREATE STREAM O AS SELECT * FROM S;")
    assert engine.process(Record("s", None, b'["Mongo", 97.3]', 1)) == []
    assert [e.message for e in logged] == [
        "Failed to deserialize value: Can't convert type. sourceType: ArrayNode, "
        "requiredType: STRUCT<IMAGE VARCHAR, PROBABILITY DOUBLE>, path: $"]


def test_a_json_null_value_is_read_as_a_null_value_not_as_a_bad_record():
    logged: list = []
    engine = Engine(processing_log=logged.append)
    engine.execute("CREATE TABLE T (ID VARCHAR PRIMARY KEY, N BIGINT) WITH (KAFKA_TOPIC='t', "
                   "VALUE_FORMAT='JSON'); CREATE TABLE C AS SELECT ID, N FROM T;")
    engine.process(Record("t", b"a", b'{"N": 1}', 1))
    out = engine.process(Record("t", b"a", b"null", 2))
    assert logged == []
    assert [(r.key, r.value) for r in out] == [("a", None)]


def test_a_field_matches_a_column_spelled_exactly_or_upper_casing_to_it():
    logged: list = []
    engine = Engine(processing_log=logged.append)
    engine.execute("CREATE STREAM S (IMAGE VARCHAR, `image` VARCHAR, `Mixed` VARCHAR) WITH "
                   "(KAFKA_TOPIC='s', VALUE_FORMAT='JSON'); CREATE STREAM O AS SELECT * FROM S;")
    out = engine.process(Record("s", None, json.dumps({"Image": "a", "MIXED": "b"}).encode(), 1))
    assert out[0].value == {"IMAGE": "a", "image": None, "Mixed": None}


def test_the_issues_string_probability_and_numeric_image_are_coerced_as_ksqldb_does():
    """ksqlDB reads "97.3" into a DOUBLE (Double.parseDouble) and 5 into a VARCHAR ("5"):
    the record counts, and nothing is logged, on both."""
    logged: list = []
    engine = Engine(processing_log=logged.append)
    engine.execute("CREATE STREAM F (IMAGE VARCHAR, PROBABILITY DOUBLE) WITH (KAFKA_TOPIC='f', "
                   "VALUE_FORMAT='JSON'); CREATE STREAM O AS SELECT * FROM F;")
    out = engine.process(Record("f", None, b'{"image": "Mongo", "probability": "97.3"}', 1))
    out += engine.process(Record("f", None, b'{"image": 5, "probability": 97.3}', 2))
    assert [r.value for r in out] == [{"IMAGE": "Mongo", "PROBABILITY": 97.3},
                                      {"IMAGE": "5", "PROBABILITY": 97.3}]
    assert logged == []


def test_nan_and_infinite_doubles_are_written_as_jackson_writes_them_and_read_back():
    engine = Engine()
    engine.execute("CREATE STREAM S (V DOUBLE) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');"
                   "CREATE STREAM O AS SELECT V FROM S;"
                   "CREATE STREAM O2 (V DOUBLE) WITH (KAFKA_TOPIC='O', VALUE_FORMAT='JSON');")
    out = engine.process(Record("s", None, b'{"V": "-Infinity"}', 1))
    _, value_bytes = engine.serialize(out[0])
    assert value_bytes == b'{"V":"-Infinity"}'
    assert engine.deserialize("O", None, value_bytes, 1).value == {"V": -math.inf}
