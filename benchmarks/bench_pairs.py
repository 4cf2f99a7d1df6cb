"""Pair-matching accuracy: ksql/pipeline.ksql against the seed's method on simulated sessions.

Each session (socksort.ksql.simulate: 3-6 designs shown 1-4 times each in random order,
holds of 1-8 s, 1-3 s of blank wall between, 15 % ghost frames) goes through both methods
on the embedded engine; a session counts as right when its final SOCK_PAIRS table equals
the truth row for row. Goals: >= 99 % at 30 FPS and >= 95 % at 4 FPS for the new pipeline.
The extra rows misread the blank wall too (2 % of its frames are ghosts), a harder case
the goals do not cover, reported so its cost is visible.

    .venv/bin/python benchmarks/run.py pairs
    SOCKSORT_BENCH_PAIRS_SESSIONS=400 .venv/bin/python benchmarks/run.py pairs
"""

from __future__ import annotations

import os
import sys

from socksort.ksql.accuracy import pipeline_pairs, share_exactly_right
from socksort.ksql.seed_method import seed_pairs
from socksort.ksql.simulate import SessionSpec, sessions
from socksort.progress import step

# Sessions per case: 30 FPS sessions hold ~2400 frames each, 4 FPS ~300.
SESSIONS = {30: 100, 4: 300}
WALL_GHOST_SESSIONS = 60


def _count(default: int) -> int:
    override = os.environ.get("SOCKSORT_BENCH_PAIRS_SESSIONS")
    return int(override) if override else default


def _case(spec: SessionSpec, count: int, label: str, with_seed: bool) -> list[dict]:
    step(f"{label}: {count} simulated sessions at {spec.fps:g} FPS")
    batch = sessions(count, spec)
    frames = sum(len(s.frames) for s in batch)
    note = f"{count} sessions, {frames} frames, {sum(len(s.showings) for s in batch)} showings"
    rows = [{"metric": f"{label} exactly right, new pipeline @ {spec.fps:g} FPS",
             "value": 100 * share_exactly_right(batch, pipeline_pairs), "unit": "%", "note": note}]
    if with_seed:
        rows.append({"metric": f"{label} exactly right, seed's method @ {spec.fps:g} FPS",
                     "value": 100 * share_exactly_right(batch, seed_pairs), "unit": "%",
                     "note": note})
    return rows


def run() -> list[dict]:
    rows: list[dict] = []
    for fps in (30, 4):
        rows += _case(SessionSpec(fps=fps), _count(SESSIONS[fps]), "sessions", True)
    for fps in (30, 4):
        rows += _case(SessionSpec(fps=fps, gap_ghost_share=0.02),
                      _count(WALL_GHOST_SESSIONS), "wall-ghost sessions", True)
    return rows


if __name__ == "__main__":
    for row in run():
        print(row, file=sys.stdout)
