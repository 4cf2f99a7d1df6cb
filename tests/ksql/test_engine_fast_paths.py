"""The engine's shortcuts give exactly what the general path gives.

A query reading another query's output takes the writer's column values instead of
looking them up in the decoded key and value again, and output records are serialised
with encoders built once per topic. Both must be invisible in the results.
"""

from __future__ import annotations

import json
import math
import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from socksort.ksql.engine import Engine, Record, formats
from socksort.ksql.engine.formats import DecodeError, RowLayout, Window
from socksort.ksql.pipeline import PIPELINE_SQL
from socksort.ksql.pipeline.simulate import SessionSpec, simulate
from socksort.ksql.sql import timeformat
from socksort.ksql.sql import types as T

TYPES = [T.STRING, T.BIGINT, T.INTEGER, T.DOUBLE, T.BOOLEAN]
SAMPLES = {
    T.STRING: ["a", "Mongo", "ünï", "12", ""],
    T.BIGINT: [0, -5, 2**40, 2**63 - 1],
    T.INTEGER: [1, -7, 2**31 - 1],
    T.DOUBLE: [0.5, -1e300, 91.25, float("inf")],
    T.BOOLEAN: [True, False],
}


def _value_of(rng: random.Random, t: str):
    """Mostly a value of the column's own type; sometimes null or another type's value."""
    roll = rng.random()
    if roll < 0.1:
        return None
    if roll < 0.3:
        t = rng.choice(TYPES)
    return rng.choice(SAMPLES[t] + [2**35, "x1", 3.0, "true"])


def _columns(rng: random.Random, prefix: str, count: int) -> list[tuple[str, str]]:
    return [(f"{prefix}{i}", rng.choice(TYPES)) for i in range(count)]


def _reader_columns(rng: random.Random, written: list[tuple[str, str]], prefix: str):
    """A reader's declaration of a written topic: some columns kept (maybe re-typed,
    re-ordered or re-cased), some dropped, some that the writer never wrote."""
    cols = [(name, rng.choice([t, t, rng.choice(TYPES)])) for name, t in written
            if rng.random() < 0.8]
    if rng.random() < 0.3:
        cols.append((f"{prefix}X", rng.choice(TYPES)))
    if cols and rng.random() < 0.2:
        name, t = cols[0]
        cols[0] = (name.lower(), t)
    if rng.random() < 0.3:
        rng.shuffle(cols)
    return cols


def _decoded(key_format, key_cols, value_format, value_cols, window_kind, key, value):
    """The general path: the decoders over the decoded key and value."""
    try:
        row = formats.key_decoder(key_format, key_cols, window_kind)(key)
        row += ([None] * len(value_cols) if value is None
                else formats.value_decoder(value_format, value_cols)(value))
        return row
    except DecodeError as exc:
        return ("error", str(exc))


@pytest.mark.parametrize("seed", range(300))
def test_reading_a_writers_columns_gives_what_decoding_its_record_gives(seed):
    rng = random.Random(seed)
    writer_key_format = rng.choice([formats.KAFKA, formats.JSON])
    written_keys = _columns(rng, "K", 1 if writer_key_format == formats.KAFKA
                            else rng.choice([0, 1, 2, 3]))
    written_values = _columns(rng, "V", rng.choice([1, 2, 4]))
    layout = RowLayout(writer_key_format, [n for n, _ in written_keys], formats.JSON,
                       [n for n, _ in written_values])
    key_out = formats.key_output(writer_key_format, [n for n, _ in written_keys])
    value_out = formats.value_encoder(formats.JSON, [n for n, _ in written_values],
                                      [t for _, t in written_values])
    reader_key_format = rng.choice([formats.KAFKA, formats.JSON])
    reader_keys = _reader_columns(rng, written_keys, "K")
    if reader_key_format == formats.KAFKA:
        reader_keys = reader_keys[:1]
    reader_values = _reader_columns(rng, written_values, "V")
    convert = formats.row_converter(layout, reader_key_format, reader_keys, formats.JSON,
                                    reader_values)
    for _ in range(20):
        keys = [_value_of(rng, t) for _, t in written_keys]
        values = None if rng.random() < 0.2 else [_value_of(rng, t) for _, t in written_values]
        expected = _decoded(reader_key_format, reader_keys, formats.JSON, reader_values, None,
                            key_out(keys), None if values is None else value_out(values))
        if convert is None:
            continue                # left to the decoders: nothing to compare
        try:
            got = convert(list(keys), None if values is None else list(values))
        except DecodeError as exc:
            got = ("error", str(exc))
        assert _same(got, expected), (keys, values, reader_keys, reader_values)


def _same(a, b) -> bool:
    """Equal, and of the same Python types (1 and 1.0 print differently as JSON)."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if type(a) is not type(b):
        return False
    return a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))


def test_a_matching_declaration_reads_the_writers_columns():
    layout = RowLayout(formats.JSON, ["DEVICE", "SHOWING_START"], formats.JSON, ["N", "W"])
    convert = formats.row_converter(layout, formats.JSON,
                                    [("DEVICE", T.STRING), ("SHOWING_START", T.BIGINT)],
                                    formats.JSON, [("N", T.BIGINT), ("W", T.DOUBLE)])
    assert convert(["cam", 5], [3, 1]) == ["cam", 5, 3, 1.0]
    assert convert(["cam", 5], None) == ["cam", 5, None, None]


def test_names_that_match_only_ignoring_case_are_left_to_the_decoders():
    layout = RowLayout(formats.KAFKA, ["K"], formats.JSON, ["Image"])
    assert formats.row_converter(layout, formats.KAFKA, [("K", T.STRING)], formats.JSON,
                                 [("IMAGE", T.STRING)]) is None


def test_delimited_values_are_left_to_the_decoders():
    layout = RowLayout(formats.KAFKA, ["K"], formats.DELIMITED, ["V"])
    assert formats.row_converter(layout, formats.KAFKA, [("K", T.STRING)], formats.DELIMITED,
                                 [("V", T.DOUBLE)]) is None


@pytest.mark.parametrize("key_format,key_type,key", [
    (formats.KAFKA, T.STRING, "Mongo"), (formats.KAFKA, T.STRING, None),
    (formats.KAFKA, T.INTEGER, -3), (formats.KAFKA, T.BIGINT, 2**40),
    (formats.KAFKA, T.DOUBLE, 1.5), (formats.KAFKA, T.BOOLEAN, None),
    (formats.JSON, T.STRING, "ü"), (formats.JSON, T.STRING, {"A": 1, "B": None}),
    (formats.JSON, T.BIGINT, None)])
@pytest.mark.parametrize("window", [None, Window(10, 20, "time"), Window(10, 20, "session")])
def test_built_key_serializer_writes_what_serialize_key_writes(key_format, key_type, key, window):
    built = formats.key_serializer(key_format, [key_type])(key, window)
    assert built == formats.serialize_key(key_format, [key_type], key, window)


@pytest.mark.parametrize("key_format,key_type,key", [
    (formats.KAFKA, T.STRING, "Mongo"), (formats.KAFKA, T.STRING, None),
    (formats.KAFKA, T.STRING, 5), (formats.KAFKA, T.BIGINT, 2**40),
    (formats.JSON, T.STRING, "ü"), (formats.JSON, T.STRING, {"A": 1, "B": None}),
    (formats.JSON, T.BIGINT, None)])
@pytest.mark.parametrize("window", [None, Window(10, 20, "session")])
@pytest.mark.parametrize("value_format,value", [
    (formats.JSON, {"A": 1.5, "B": "x"}), (formats.JSON, None), (formats.DELIMITED, "1,a")])
def test_record_serializer_writes_what_serialize_key_and_value_write(
        key_format, key_type, key, window, value_format, value):
    record = Record("t", key, value, 0, window)
    assert formats.record_serializer(key_format, [key_type], value_format)(record) == (
        formats.serialize_key(key_format, [key_type], key, window),
        formats.serialize_value(value_format, value))


@pytest.mark.parametrize("fmt,value", [
    (formats.JSON, {"A": 1, "B": "x\"ü", "C": None, "D": True, "E": float("nan"), "F": 0.1}),
    (formats.JSON, None), (formats.JSON, "text"), (formats.DELIMITED, "1,a,,2.5"),
    (formats.DELIMITED, None)])
def test_built_value_serializer_writes_what_serialize_value_writes(fmt, value):
    assert formats.value_serializer(fmt)(value) == formats.serialize_value(fmt, value)


def test_json_values_are_written_as_json_dumps_writes_them():
    value = {"IMAGE": "Mongo", "P": 91.5, "N": 3, "X": None, "Q": "a\nb\u2603"}
    assert formats.serialize_value(formats.JSON, value) == json.dumps(
        value, separators=(",", ":")).encode()


def _pipeline_outputs(frames, through_bytes: bool) -> list:
    """Every record the pipeline writes, as (topic, key bytes, value bytes, timestamp).

    ``through_bytes``: each query runs in its own engine and reads the previous queries'
    output as a consumer of the topic would, from the serialised bytes.
    """
    sql = PIPELINE_SQL.read_text()
    if not through_bytes:
        engine = Engine()
        engine.execute(sql)
        return [(out.topic, *engine.serialize(out), out.timestamp)
                for frame in frames
                for out in engine.process(Record("data_mqtt", None, frame.to_json(), frame.ts))]
    full = Engine()
    full.execute(sql)
    engines = []
    for query in full.queries():
        engine = Engine()
        engine.execute(sql)
        for other in engine.queries():
            if other.id != query.id:
                engine.execute(f"TERMINATE {other.id};")
        engines.append(engine)
    written = []

    def feed(record):
        for engine in engines:
            for out in engine.process(record):
                key, value = engine.serialize(out)
                written.append((out.topic, key, value, out.timestamp))
                feed(Record(out.topic, key, value, out.timestamp))
    for frame in frames:
        feed(Record("data_mqtt", None, frame.to_json(), frame.ts))
    return written


@pytest.mark.parametrize("fps", [30.0, 4.0])
def test_pipeline_writes_the_same_bytes_as_queries_reading_each_others_topics(fps):
    frames = simulate(3, SessionSpec(fps=fps)).frames
    assert _pipeline_outputs(frames, False) == _pipeline_outputs(frames, True)


def test_records_returned_by_process_carry_no_engine_state():
    engine = Engine()
    engine.execute(PIPELINE_SQL.read_text())
    frames = simulate(1, SessionSpec(fps=4.0)).frames
    outputs = [out for frame in frames
               for out in engine.process(Record("data_mqtt", None, frame.to_json(), frame.ts))]
    assert outputs and all(out.columns is None for out in outputs)


# Each pattern as java.time's DateTimeFormatter prints it, written out by hand with strftime
# and arithmetic on the local time (timeformat's own pattern reader is what is tested).
# k is the hour 1-24, K 0-11, h 1-12; S, SS, SSSS the first 1, 2 and 4 fraction digits.
JAVA_PATTERNS = {
    "HHmmssSSS": lambda t, ms: f"{t:%H%M%S}{ms:03d}",
    "HH:mm:ss.SSS": lambda t, ms: f"{t:%H:%M:%S}.{ms:03d}",
    "k K h H m s S SS SSSS": lambda t, ms: (f"{t.hour or 24} {t.hour % 12} {t.hour % 12 or 12} "
                                            f"{t.hour} {t.minute} {t.second} {ms // 100} "
                                            f"{ms // 10:02d} {ms:03d}0"),
    "hh 'o''clock' a": lambda t, ms: f"{t:%I} o'clock {'AM' if t.hour < 12 else 'PM'}",
    "yyyy-MM-dd'T'HH:mm:ss.SSS": lambda t, ms: f"{t:%Y-%m-%dT%H:%M:%S}.{ms:03d}",
    "'{0}' {HH}": lambda t, ms: f"{{0}} {{{t:%H}}}",
}
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ZONES = {None: timezone.utc, "UTC": timezone.utc, "gmt": timezone.utc,
         "Europe/Berlin": ZoneInfo("Europe/Berlin")}


@pytest.mark.parametrize("pattern", sorted(JAVA_PATTERNS))
@pytest.mark.parametrize("zone", sorted(ZONES, key=str))
def test_timestamp_patterns_print_each_field_as_java_does(pattern, zone):
    rng = random.Random(pattern)
    for millis in [0, 1, 999, 43_200_000, 86_399_999, 86_400_000] + [
            rng.randrange(0, 253_402_300_799_999) for _ in range(200)]:
        local = (EPOCH + timedelta(milliseconds=millis)).astimezone(ZONES[zone])
        expected = JAVA_PATTERNS[pattern](local, millis % 1000)
        assert timeformat.timestamp_to_string(millis, pattern, zone) == expected, millis


def test_literal_operands_give_what_the_same_values_read_from_columns_give():
    engine = Engine()
    engine.execute("""
        CREATE STREAM S (S STRING, X BIGINT, D DOUBLE, TWO INT, SEVENTY INT, ZERO INT,
                         PAT STRING, ZONE STRING)
            WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');
        CREATE STREAM OUT AS SELECT
            SUBSTRING(S, 2) AS A1, SUBSTRING(S, TWO) AS B1,
            D - 70 AS A2, D - SEVENTY AS B2,
            X % 2 = 0 AS A3, X % TWO = ZERO AS B3,
            TIMESTAMPTOSTRING(X, 'HHmmssSSS', 'UTC') AS A4, TIMESTAMPTOSTRING(X, PAT, ZONE) AS B4,
            X / 0 AS A5, X / ZERO AS B5
        FROM S;""")
    rng = random.Random(5)
    for _ in range(200):
        value = {"S": rng.choice([None, "", "a", "Mongo"]),
                 "X": rng.choice([None, 0, 7, -3, 123_456_789, 2**40]),
                 "D": rng.choice([None, 0.5, 70.0, 99.9]),
                 "TWO": 2, "SEVENTY": 70, "ZERO": 0, "PAT": "HHmmssSSS", "ZONE": "UTC"}
        (out,) = engine.process(Record("s", None, json.dumps(value).encode(), 0))
        for i in range(1, 6):
            assert _same(out.value[f"A{i}"], out.value[f"B{i}"]), (i, value, out.value)
