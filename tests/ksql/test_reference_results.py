"""Aggregations agree with brute-force references once all records are in.

With a grace period longer than any disorder, the table left by applying every update
and tombstone in order must equal windows computed directly from the whole input; a
table aggregation must equal the aggregate of the source table's final state.
"""

from __future__ import annotations

import random

import pytest

from socksort.ksql.engine import Engine, Record
from socksort.ksql.engine.windows import time_window_starts

STREAM = "CREATE STREAM S (ID STRING KEY, V INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');"


def random_records(seed: int) -> list[tuple]:
    rng = random.Random(seed)
    ts = 1_000
    records = []
    for _ in range(rng.randint(5, 40)):
        ts += rng.choice([0, 100, 400, 900, 2_500, 7_000])
        jitter = rng.choice([0, 0, 0, -300, -1_200])          # some records arrive late
        records.append((rng.choice("ab"), rng.randint(-5, 5), max(ts + jitter, 0)))
    return records


def final_table(sql: str, records: list[tuple]) -> dict:
    engine = Engine()
    engine.execute(STREAM + sql)
    table = {}
    for key, v, ts in records:
        for out in engine.process(Record("s", key, {"V": v}, ts)):
            slot = (out.key, out.window.start, out.window.end)
            if out.value is None:
                table.pop(slot, None)
            else:
                table[slot] = (out.value["C"], out.value["T"])
    return table


def reference_sessions(records: list[tuple], gap: int) -> dict:
    table = {}
    for key in {k for k, _, _ in records}:
        events = sorted((ts, v) for k, v, ts in records if k == key)
        session = [events[0]]
        for event in events[1:]:
            if event[0] - session[-1][0] > gap:
                table[(key, session[0][0], session[-1][0])] = (len(session), sum(v for _, v in session))
                session = []
            session.append(event)
        table[(key, session[0][0], session[-1][0])] = (len(session), sum(v for _, v in session))
    return table


def reference_time_windows(records: list[tuple], size: int, advance: int) -> dict:
    table = {}
    for key, v, ts in records:
        for start in time_window_starts(ts, size, advance):
            count, total = table.get((key, start, start + size), (0, 0))
            table[(key, start, start + size)] = (count + 1, total + v)
    return table


@pytest.mark.parametrize("seed", range(40))
def test_session_windows_match_the_reference(seed):
    records = random_records(seed)
    sql = ("CREATE TABLE T AS SELECT ID, COUNT(*) AS C, SUM(V) AS T FROM S "
           "WINDOW SESSION (1 SECOND) GROUP BY ID;")
    assert final_table(sql, records) == reference_sessions(records, 1_000)


@pytest.mark.parametrize("seed", range(20))
def test_hopping_windows_match_the_reference(seed):
    records = random_records(seed)
    sql = ("CREATE TABLE T AS SELECT ID, COUNT(*) AS C, SUM(V) AS T FROM S "
           "WINDOW HOPPING (SIZE 2 SECONDS, ADVANCE BY 500 MILLISECONDS) GROUP BY ID;")
    assert final_table(sql, records) == reference_time_windows(records, 2_000, 500)


@pytest.mark.parametrize("seed", range(20))
def test_emit_final_emits_every_closed_tumbling_window_once(seed):
    rng = random.Random(seed)
    ts, records = 0, []
    for _ in range(rng.randint(5, 60)):
        ts += rng.choice([0, 50, 300, 900])          # in order, never jumping past retention
        records.append((rng.choice("ab"), rng.randint(-5, 5), ts))
    engine = Engine()
    engine.execute(STREAM + "CREATE TABLE T AS SELECT ID, COUNT(*) AS C, SUM(V) AS T FROM S "
                            "WINDOW TUMBLING (SIZE 1 SECOND, GRACE PERIOD 1 SECOND) GROUP BY ID EMIT FINAL;")
    emitted = []
    for key, v, t in records:
        emitted += [((o.key, o.window.start, o.window.end), (o.value["C"], o.value["T"]))
                    for o in engine.process(Record("s", key, {"V": v}, t))]
    closed = {slot: agg for slot, agg in reference_time_windows(records, 1_000, 1_000).items()
              if slot[2] <= ts - 1_000}
    assert sorted(emitted) == sorted(closed.items())


@pytest.mark.parametrize("seed", range(20))
def test_table_aggregation_matches_the_final_table_state(seed):
    rng = random.Random(seed)
    engine = Engine()
    engine.execute("""
        CREATE TABLE P (ID STRING PRIMARY KEY, G STRING, V INT) WITH (KAFKA_TOPIC='p', VALUE_FORMAT='JSON');
        CREATE TABLE A AS SELECT G, COUNT(*) AS C, SUM(V) AS T FROM P GROUP BY G;""")
    state, result, ever = {}, {}, set()
    for ts in range(rng.randint(5, 80)):
        row_id = rng.choice("uvwxyz")
        if rng.random() < 0.25:
            state.pop(row_id, None)
            value = None
        else:
            value = {"G": rng.choice(["g1", "g2", "g3", None]), "V": rng.randint(0, 9)}
            state[row_id] = value
            if value["G"] is not None:
                ever.add(value["G"])
        for out in engine.process(Record("p", row_id, value, ts)):
            result[out.key] = (out.value["C"], out.value["T"])
    expected = {g: (0, 0) for g in ever}
    for value in state.values():
        if value["G"] is not None:
            count, total = expected[value["G"]]
            expected[value["G"]] = (count + 1, total + value["V"])
    assert result == expected
