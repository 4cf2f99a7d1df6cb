"""The end-to-end accuracy harness (benchmarks/bench_pairs_e2e.py) on two small shows, with
the shared small sock model: it renders them, runs the real `socksort edge` over each,
records what the edge publishes to a real Mosquitto, replays it through the pipeline and
judges the result against the truth. These tests check that machinery, not the accuracy
figure (that is the benchmark's)."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from socksort.ksql.pipeline.accuracy import run_pipeline
from socksort.ksql.pipeline.simulate import Delivery, pair_rows
from socksort.schema import Prediction

pytestmark = [pytest.mark.broker, pytest.mark.slow]

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_pairs_e2e.py"
SEEDS = [0, 1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_pairs_e2e", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def run(bench, sock_model, sock_dataset, tmp_path_factory):
    cache = tmp_path_factory.mktemp("e2e-cache")
    shape = bench.ShowShape(fps=10, seconds=16, width=320, height=240)
    return cache, shape, bench.evaluate(sock_model, sock_dataset, SEEDS, shape, cache)


def recorded(cache: Path, show: Path) -> list[Prediction]:
    (path,) = (cache / "predictions").glob(f"*/{show.name}.jsonl")
    return [Prediction.from_json(line) for line in path.read_bytes().splitlines()]


def test_the_edge_s_predictions_for_every_frame_of_each_show_are_recorded(run):
    cache, _, outcomes = run
    assert [o.seed for o in outcomes] == SEEDS
    for outcome in outcomes:
        truth = json.loads((outcome.show / "truth.json").read_text())
        frames = recorded(cache, outcome.show)
        assert [p.seq for p in frames] == list(range(truth["frames"])) and outcome.frames == truth["frames"]
        assert [b.ts - a.ts for a, b in zip(frames, frames[1:])] == [100] * (truth["frames"] - 1)
        assert {p.device for p in frames} == {f"bench-{outcome.show.name}"}


def test_each_show_is_judged_against_its_truth_by_the_pipeline_s_final_table(run):
    cache, _, outcomes = run
    for outcome in outcomes:
        truth = json.loads((outcome.show / "truth.json").read_text())
        verdict = outcome.verdict
        assert verdict.expected == pair_rows(Counter(truth["counts"]))
        assert verdict.got == run_pipeline([Delivery.of(p) for p in recorded(cache, outcome.show)]).pairs
        assert verdict.right == (verdict.expected == verdict.got)
        assert {d.design for d in verdict.differences} == {
            design for design in set(verdict.expected) | set(verdict.got)
            if verdict.expected.get(design) != verdict.got.get(design)}
        assert all(d.reasons for d in verdict.differences)


def test_the_shows_have_back_to_back_showings_and_the_rows_report_the_share(bench, run):
    _, shape, outcomes = run
    assert sum(o.back_to_back for o in outcomes) >= 1
    rows = {row["metric"]: row for row in bench.rows(outcomes, "under test")}
    share = rows["shows exactly right, pipeline.ksql @ 10 FPS"]
    assert share["value"] == 100 * sum(o.verdict.right for o in outcomes) / len(outcomes)
    wrong = [name for name in rows if name.startswith("wrong: ")]
    assert wrong == [f"wrong: {o.verdict.name}" for o in outcomes if not o.verdict.right]


def test_a_rerun_replays_the_cached_predictions_without_running_the_edge(bench, run, sock_model, sock_dataset,
                                                                          monkeypatch):
    cache, shape, outcomes = run

    def no_edge(*args, **kwargs):
        raise AssertionError("the edge ran again although its predictions are cached")

    monkeypatch.setattr(bench, "classify", no_edge)
    again = bench.evaluate(sock_model, sock_dataset, SEEDS, shape, cache)
    assert [o.verdict for o in again] == [o.verdict for o in outcomes]
