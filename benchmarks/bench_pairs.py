"""Pair-matching accuracy: ksql/pipeline.ksql against the seed's method on simulated sessions.

Each session (socksort.ksql.pipeline.simulate with every phenomenon on: 15 % ghosts inside showings,
transitions as socks come and go, +-15 % jitter, 5 % of frames lost, 2 % redelivered,
back-to-back showings of one design) goes through both methods on the embedded engine; a
session counts as right when its final SOCK_PAIRS table equals the truth row for row.

The grid: FPS 4 / 10 / 30, ghosts on 0 / 2 / 5 % of the wall's frames, our payload or the
seed's (only image and probability), one camera or two sorting at once. Goal: every cell
>= 99 % for the new pipeline. Also reported, without a goal: a stress row (single 'Blank'
frames inside showings, as when a sock slips half out of view) and the clean EASY sessions.
Sessions of a camera that finds objects, a third of their showings two socks held up
together (a pair at once, or two designs; some frames see only one of the two, some carry
a ghost object at 30-65 %), at 4 / 10 / 30 FPS: goal >= 95 % exactly right.
A PNG draws accuracy against the wall-ghost share (0-10 %) at 4 and 30 FPS for both methods.

    .venv/bin/python benchmarks/run.py pairs
    SOCKSORT_BENCH_PAIRS_SESSIONS=100 .venv/bin/python benchmarks/run.py pairs
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from socksort.ksql.pipeline.accuracy import session_right
from socksort.ksql.pipeline.simulate import EASY, TOGETHER_SESSIONS, SessionSpec
from socksort.progress import step

ROOT = Path(__file__).resolve().parent.parent
PLOT = ROOT / "bench-pairs-wall-ghosts.png"

# Sessions per cell: a 30 FPS session holds ~2400 frames, a 4 FPS one ~300.
SESSIONS = {4: 40, 10: 30, 30: 20}
FPS = (4, 10, 30)
WALL_GHOSTS = (0.0, 0.02, 0.05)
PAYLOADS = ("ours", "seed")
CAMERAS = (1, 2)
CURVE_SHARES = (0.0, 0.02, 0.04, 0.06, 0.08, 0.10)
METHODS = ("new pipeline", "seed's method")


@dataclass(frozen=True)
class Cell:
    spec: SessionSpec
    cameras: int
    count: int
    label: str


def _count(fps: float) -> int:
    override = os.environ.get("SOCKSORT_BENCH_PAIRS_SESSIONS")
    return int(override) if override else SESSIONS[int(fps)]


def _shares(pool, cells: list[Cell]) -> dict[tuple[str, str], float]:
    """Exactly-right share per (cell label, method), the sessions spread over both cores."""
    jobs = [(cell, method, seed) for cell in cells for method in METHODS for seed in range(cell.count)]
    right = list(pool.map(session_right, *zip(*[(m, c.spec, s, c.cameras) for c, m, s in jobs]),
                          chunksize=4))
    shares: dict[tuple[str, str], list[bool]] = {}
    for (cell, method, _), ok in zip(jobs, right):
        shares.setdefault((cell.label, method), []).append(ok)
    return {key: 100 * sum(oks) / len(oks) for key, oks in shares.items()}


def _grid() -> list[Cell]:
    return [Cell(SessionSpec(fps=fps, wall_ghost_share=wall, payload=payload), cameras, _count(fps),
                 f"{fps} FPS, wall ghosts {wall:.0%}, {payload} payload, "
                 f"{cameras} camera{'s' if cameras > 1 else ''}")
            for fps in FPS for wall in WALL_GHOSTS for payload in PAYLOADS for cameras in CAMERAS]


def _extra() -> list[Cell]:
    stress = [Cell(SessionSpec(fps=fps, blank_in_showing_share=0.02), 1, _count(fps),
                   f"stress: 'Blank' frames inside showings (2 %), {fps} FPS") for fps in FPS]
    easy = [Cell(replace(EASY, fps=fps), 1, _count(fps), f"easy sessions, {fps} FPS")
            for fps in (4, 30)]
    return stress + easy


def _together() -> list[Cell]:
    return [Cell(replace(TOGETHER_SESSIONS, fps=fps), 1, _count(fps),
                 f"two socks held up together (objects), {fps} FPS") for fps in FPS]


def _curve() -> list[Cell]:
    return [Cell(SessionSpec(fps=fps, wall_ghost_share=share), 1, _count(fps),
                 f"curve {fps} {share}")
            for fps in (4, 30) for share in CURVE_SHARES]


def _rows(cells: list[Cell], shares, goal: bool) -> list[dict]:
    rows = []
    for cell in cells:
        for method in METHODS:
            note = f"{cell.count} sessions" + (", goal >= 99 %" if goal and method == "new pipeline" else "")
            rows.append({"metric": f"exactly right, {method}: {cell.label}",
                         "value": shares[(cell.label, method)], "unit": "%", "note": note})
    return rows


def _plot(cells: list[Cell], shares) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for method, style in (("new pipeline", "-"), ("seed's method", "--")):
        for fps, marker in ((4, "o"), (30, "s")):
            points = [(cell.spec.wall_ghost_share * 100, shares[(cell.label, method)])
                      for cell in cells if cell.spec.fps == fps]
            ax.plot(*zip(*points), style, marker=marker, label=f"{method}, {fps} FPS")
    ax.set_xlabel("ghosts on the blank wall (% of its frames)")
    ax.set_ylabel("sessions with the exact pair table (%)")
    ax.set_ylim(-3, 103)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    ax.set_title("Pair table exactly right vs. misread wall frames")
    fig.tight_layout()
    fig.savefig(PLOT)
    plt.close(fig)


def run() -> list[dict]:
    grid, extra, curve, held = _grid(), _extra(), _curve(), _together()
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        step(f"pairs: {len(grid)} grid cells, both methods")
        grid_shares = _shares(pool, grid)
        step("pairs: stress and easy sessions")
        extra_shares = _shares(pool, extra)
        step("pairs: accuracy against the wall-ghost share")
        curve_shares = _shares(pool, curve)
        step("pairs: two socks held up together")
        held_shares = _shares(pool, held)
    _plot(curve, curve_shares)
    new = [grid_shares[(cell.label, "new pipeline")] for cell in grid]
    summary = [
        {"metric": "grid cells >= 99 % exactly right, new pipeline", "value": sum(v >= 99 for v in new),
         "unit": f"of {len(new)}", "note": f"lowest cell {min(new):.1f} %"},
        {"metric": "grid cells >= 99 % exactly right, seed's method",
         "value": sum(grid_shares[(c.label, "seed's method")] >= 99 for c in grid),
         "unit": f"of {len(grid)}", "note": ""},
        {"metric": "accuracy vs wall ghosts (plot)", "value": len(curve), "unit": "points",
         "note": str(PLOT.relative_to(ROOT))},
        {"metric": "two socks held up together, lowest cell, new pipeline",
         "value": min(held_shares[(c.label, "new pipeline")] for c in held), "unit": "%",
         "note": "goal >= 95 % exactly right"},
    ]
    return (summary + _rows(grid, grid_shares, True) + _rows(extra, extra_shares, False)
            + _rows(held, held_shares, False))


if __name__ == "__main__":
    for row in run():
        print(row, file=sys.stdout)
