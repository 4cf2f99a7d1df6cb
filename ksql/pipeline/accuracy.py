"""Run prediction frames through ``ksql/pipeline.ksql`` in-process and read the tables it ends with.

Used by the pipeline tests and the accuracy benchmark: the frames go through the embedded
engine exactly as the server would feed them from ``data_mqtt`` (value = the camera's JSON,
record time = the Kafka record's time: the frame's ``ts``, else its arrival), and the final tables are rebuilt from the records
the queries write, upserts and tombstones applied in order, as a consumer of the topic would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from socksort.contract import KAFKA_TOPIC, PAIRS, SHOWINGS
from socksort.ksql.engine import Engine, Record
from socksort.ksql.pipeline.files import PIPELINE_SQL
from socksort.ksql.pipeline.rows import PairRow, ShowingRow
from socksort.ksql.pipeline.seed_method import seed_pairs
from socksort.ksql.pipeline.simulate import Delivery, Session, SessionSpec, sessions

@dataclass(frozen=True)
class PipelineResult:
    pairs: dict[str, PairRow]
    showings: tuple[ShowingRow, ...]


def run_pipeline(deliveries: Iterable[Delivery], sql: str | None = None) -> PipelineResult:
    """Feed ``deliveries`` (in order) to a fresh engine running the pipeline; return its final tables."""
    engine = Engine()
    engine.execute(PIPELINE_SQL.read_text() if sql is None else sql)
    tables: dict[str, dict] = {PAIRS: {}, SHOWINGS: {}}
    for delivery in deliveries:
        record = Record(topic=KAFKA_TOPIC, key=delivery.key, value=delivery.prediction.to_json(),
                        timestamp=delivery.timestamp)
        for out in engine.process(record):
            table = tables.get(out.topic)
            if table is None:
                continue
            key = tuple(sorted(out.key.items())) if isinstance(out.key, dict) else out.key
            if out.value is None:
                table.pop(key, None)
            else:
                table[key] = (out.key, out.value)
    pairs = {key: PairRow(key, value["PAIR_SEEN"], value["NUMBER_SOCKS_SEEN"])
             for key, (_, value) in sorted(tables[PAIRS].items())}
    showings = tuple(sorted(
        (ShowingRow(device=key["DEVICE"], start=value["SHOWING_START"], end=value["SHOWING_END"],
                    image=value["IMAGE"], frames=value["FRAMES"], weight=value["WEIGHT"])
         for key, value in tables[SHOWINGS].values()),
        key=lambda row: (row.device, row.start)))
    return PipelineResult(pairs=pairs, showings=showings)


def pipeline_pairs(deliveries: Iterable[Delivery]) -> dict[str, PairRow]:
    return run_pipeline(deliveries).pairs


def share_exactly_right(sessions: Iterable[Session],
                        method: Callable[[Iterable[Delivery]], dict[str, PairRow]]) -> float:
    """The share of sessions whose final pair table equals the truth, row for row."""
    results = [method(session.deliveries) == session.pairs for session in sessions]
    return sum(results) / len(results) if results else 0.0


def session_right(method: str, spec: SessionSpec, seed: int, cameras: int = 1) -> bool:
    """Whether ``method`` ("new pipeline" or "seed's method") gets session ``seed`` exactly
    right; takes only picklable arguments, so benchmarks can spread sessions over processes."""
    methods = {"new pipeline": pipeline_pairs, "seed's method": seed_pairs}
    [session] = sessions(1, spec, first_seed=seed, cameras=cameras)
    return methods[method](session.deliveries) == session.pairs
