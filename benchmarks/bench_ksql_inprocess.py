"""Engine throughput in-process: single queries and ksql/pipeline.ksql vs a plain Python loop.

Both sides read the same JSON prediction messages, parse them, drop blank and
low-probability frames, count per design and serialise one JSON update per counted frame.
The engine does it through ksqlDB SQL (parser → planner → compiled operators), and
serialises every record it writes as the server does; the baseline is the hand-written
loop. The pipeline (five queries, several writes per frame) runs over simulated 30 FPS
sorting sessions, with the loop timed over the same frames. The ratio is the figure: the
server adds Kafka I/O to both sides, so the in-process ratio bounds what the server can
reach. Times are the process's CPU time (best round), so other work on the shared cores
does not count against either side.
"""

from __future__ import annotations

import json
import random
import time

from socksort.ksql.engine import Engine, Record
from socksort.ksql.pipeline import PIPELINE_SQL
from socksort.ksql.pipeline.simulate import SessionSpec, simulate

RECORDS = 40_000
ROUNDS = 5
SESSIONS = 6
FRAMES = """
CREATE STREAM FRAMES (IMAGE STRING, PROBABILITY DOUBLE, TS BIGINT)
    WITH (KAFKA_TOPIC='data_mqtt', VALUE_FORMAT='JSON', TIMESTAMP='TS');
"""
QUERIES = {
    "GROUP BY count": FRAMES + """
CREATE TABLE SEEN AS SELECT IMAGE, COUNT(*) AS FRAMES FROM FRAMES
    WHERE IMAGE != 'Blank' AND PROBABILITY > 50 GROUP BY IMAGE;
""",
    "session-window GROUP BY count": FRAMES + """
CREATE TABLE SHOWINGS AS SELECT IMAGE, COUNT(*) AS FRAMES FROM FRAMES
    WINDOW SESSION (2 SECONDS)
    WHERE IMAGE != 'Blank' AND PROBABILITY > 50 GROUP BY IMAGE;
""",
}


def messages(n: int) -> list[bytes]:
    rng = random.Random(6)
    designs = ["Mongo", "Streamset", "Argyle", "Polka", "Blank"]
    out = []
    for i in range(n):
        image = designs[(i // 90) % len(designs)]
        out.append(json.dumps({
            "image": image, "probability": round(rng.uniform(30, 99), 2), "ts": 1_700_000_000_000 + i * 33,
            "device": "deeplens-1", "seq": i,
            "top": [{"label": image, "probability": 90.0}]}).encode())
    return out


def session_frames(count: int) -> list[tuple[bytes, int]]:
    """(message, timestamp) of ``count`` simulated 30 FPS sessions, one after another."""
    out, offset = [], 0
    for seed in range(count):
        frames = simulate(seed, SessionSpec(fps=30.0)).frames
        for frame in frames:
            ts = frame.ts + offset
            out.append((json.dumps({**frame.to_dict(), "ts": ts}, separators=(",", ":")).encode(),
                        ts))
        offset = out[-1][1] + 10_000 - frames[0].ts
    return out


def run_engine(raw: list[bytes], statements: str,
               timestamps: list[int] | None = None) -> tuple[float, int]:
    engine = Engine()
    engine.execute(statements)
    timestamps = timestamps or [0] * len(raw)
    written = 0
    started = time.process_time()
    for value, ts in zip(raw, timestamps):
        for out in engine.process(Record("data_mqtt", None, value, ts)):
            engine.serialize(out)
            written += 1
    return time.process_time() - started, written


def run_baseline(raw: list[bytes]) -> tuple[float, int]:
    counts: dict[str, int] = {}
    last: dict[str, int] = {}
    written = 0
    started = time.process_time()
    for value in raw:
        msg = json.loads(value)
        image = msg.get("image")
        if image is None or image == "Blank" or not msg.get("probability", 0) > 50:
            continue
        ts = msg["ts"]
        if ts - last.get(image, ts) > 2000:
            counts[image] = 0                 # a new showing starts after a 2 s gap
        last[image] = ts
        counts[image] = counts.get(image, 0) + 1
        json.dumps({"FRAMES": counts[image]}, separators=(",", ":")).encode()
        image.encode()
        written += 1
    return time.process_time() - started, written


def run() -> list[dict]:
    raw = messages(RECORDS)
    frames = session_frames(SESSIONS)
    frame_values = [value for value, _ in frames]
    frame_times = [ts for _, ts in frames]
    # Alternate the contenders and keep each one's best round: the machine is shared.
    best: dict = {}

    def keep(name, result):
        best[name] = min(best.get(name, result), result)
    for _ in range(ROUNDS):
        for name, sql in QUERIES.items():
            keep(name, run_engine(raw, sql))
        keep("baseline", run_baseline(raw))
        keep("pipeline", run_engine(frame_values, PIPELINE_SQL.read_text(), frame_times))
        keep("pipeline baseline", run_baseline(frame_values))
    base_rate = RECORDS / best["baseline"][0]
    rows = [{"metric": "plain Python loop records/s (parse, filter, count, serialise)",
             "value": round(base_rate), "unit": "records/s",
             "note": f"{best['baseline'][1]} updates from {RECORDS} messages"}]
    for name in QUERIES:
        seconds, written = best[name]
        rate = RECORDS / seconds
        rows.append({"metric": f"engine records/s, {name} (in-process)", "value": round(rate),
                     "unit": "records/s", "note": f"{written} updates written"})
        rows.append({"metric": f"engine / plain loop, {name}", "value": round(rate / base_rate, 3),
                     "unit": "ratio", "note": "goal >= 0.5 (issue 6, against a hand-written consumer)"})
    n = len(frames)
    loop_rate = n / best["pipeline baseline"][0]
    seconds, written = best["pipeline"]
    rows += [
        {"metric": "plain Python loop records/s, simulated 30 FPS sessions", "value": round(loop_rate),
         "unit": "records/s", "note": f"{n} frames of {SESSIONS} sessions"},
        {"metric": "engine frames/s, ksql/pipeline.ksql (five queries, in-process)",
         "value": round(n / seconds), "unit": "records/s",
         "note": f"{written} records written ({written / n:.1f} per frame), each serialised"},
        {"metric": "engine / plain loop, ksql/pipeline.ksql", "value": round(n / seconds / loop_rate, 3),
         "unit": "ratio", "note": "goal >= 0.5 on the server (issue 6); the loop does one query's work"},
        {"metric": "engine / camera, ksql/pipeline.ksql", "value": round(n / seconds / 30),
         "unit": "x 30 records/s", "note": "goal >= 100 (issue 6)"},
    ]
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
