"""Tuning ``socksort edge --match``'s threshold offline: the looks of every showing of
rendered shows, collected once, then any rule replayed over them in milliseconds.

The edge runs in-process over each show (as ``bench_match_live`` renders it, same cache), and
every look the matcher decides on is kept with the true design of its showing. A rule is then
replayed showing by showing, as the edge would (each showing joins the most similar earlier
unmatched one when the rule allows), and judged: a show is right when every pair it makes is
one design and each design shown n times makes n // 2 pairs. Segmentation is what the edge did;
only the pairing is replayed, so the figures bound what a threshold rule can change.

Rules: what ships (``showings.Threshold``, called as the edge calls it), the calibrated rule
with other sigmas or a cap, robust ones the very unlike pairs cannot widen (median + MAD, an
upper quantile + a margin, both starting from the same prior) and fixed thresholds.

Tune on the tuning split only (designs seed 2017); ``bench_match_live`` then reports on the
held-out one. 20 shows take about 25 minutes to collect the first time.

    .venv/bin/python benchmarks/tune_match.py --split tuning --shows 20
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _bench():
    spec = importlib.util.spec_from_file_location("bench_match_live_shared", HERE / "bench_match_live.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Seen:
    design: str
    look: np.ndarray


def collect(model: Path, show: Path) -> list[Seen]:
    """Every showing's look, in the order the edge decided them, with its true design."""
    from socksort.edge_lambda import background, showings
    from socksort.edge_lambda.loop import EdgeConfig, EdgeLoop

    truth = json.loads((show / "truth.json").read_text())
    fps = truth["fps"]
    decided: list[tuple[int, np.ndarray]] = []
    first_ts: list[int] = []
    original, observe = showings.Pool.decide, background.Background.observe

    def recording(pool, look, samples, started_ms):
        decided.append((started_ms, look))
        return original(pool, look, samples, started_ms)

    def watching(self, frame, ts_ms):
        first_ts[:] = first_ts or [ts_ms]
        return observe(self, frame, ts_ms)

    showings.Pool.decide, background.Background.observe = recording, watching
    try:
        edge = EdgeLoop(EdgeConfig(model=model, source=str(show / "show.mp4"), unthrottled=True, match=True,
                                   greengrass=False), log=lambda text: None)
        edge.start()
        try:
            edge.run()
        finally:
            edge.stop(0)
    finally:
        showings.Pool.decide, background.Background.observe = original, observe
    seen = []
    for started_ms, look in decided:
        frame = round((started_ms - first_ts[0]) * fps / 1000)
        hits = [s for s in truth["showings"] if s["enter_frame"] - 3 <= frame < s["leave_frame"]]
        if len(hits) == 1 and look is not None:
            seen.append(Seen(hits[0]["design"], look))
    return seen


def replay(seen: list[Seen], rule) -> bool:
    """Whether the show comes out exactly right when ``rule`` decides, showing by showing, as
    ``showings.Pool`` does: ``rule(best, row, spread)`` gets the most similar earlier unmatched
    showing's similarity, the new look's similarities to every earlier showing, and the pool's
    spread (every similarity between showings so far, pairs left out, ``row``'s others in)."""
    partner: list[int | None] = []
    spread: list[float] = []
    for i, s in enumerate(seen):
        sims = [float(s.look @ e.look) for e in seen[:i]]
        free = [j for j in range(i) if partner[j] is None]
        best = max(free, key=lambda j: sims[j], default=None)
        others = sims if best is None else sims[:best] + sims[best + 1:]
        if best is not None and rule(sims[best], sims, spread + others):
            spread += others
            partner.append(best)
            partner[best] = i
        else:
            spread += sims
            partner.append(None)
    pairs = Counter()
    for i, j in enumerate(partner):
        if j is not None and j > i:
            if seen[i].design != seen[j].design:
                return False
            pairs[seen[i].design] += 1
    shown = Counter(s.design for s in seen)
    return all(pairs[d] == n // 2 for d, n in shown.items())


def _prior(mean: float, std: float, weight: float) -> np.ndarray:
    """The prior as ``weight`` similarities at the normal quantiles of mean +- std: a statistic of
    the spread and these starts at the prior and moves to the session's own as it grows."""
    from scipy.stats import norm

    n = max(int(round(weight)), 1)
    return mean + std * norm.ppf((np.arange(n) + 0.5) / n)


def calibrated(cap: float = 1.0, **fields):
    """The rule ``edge --match`` runs (``showings.Threshold``, called as the edge calls it), with
    other fields than its defaults and at most ``cap``."""
    from socksort.edge_lambda.showings import Spread, Threshold

    threshold = Threshold(**fields)
    return lambda best, row, spread: best >= min(cap, threshold.value(Spread.of(spread)))


def robust(mean=0.7, std=0.06, weight=10.0, sigmas=2.0, floor=0.5):
    """Median + sigmas x the MAD's standard deviation: very unlike pairs cannot widen it."""
    prior = _prior(mean, std, weight)

    def rule(best, row, spread):
        values = np.concatenate([prior, spread])
        median = float(np.median(values))
        mad = 1.4826 * float(np.median(np.abs(values - median)))
        return best >= max(floor, median + sigmas * mad)
    return rule


def quantile(q=0.95, margin=0.05, mean=0.7, std=0.06, weight=10.0, floor=0.5):
    """The spread's q-quantile (what the most alike different socks score), plus a margin."""
    prior = _prior(mean, std, weight)

    def rule(best, row, spread):
        return best >= max(floor, float(np.quantile(np.concatenate([prior, spread]), q)) + margin)
    return rule


def fixed(value):
    return lambda best, row, spread: best >= value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="tuning", choices=("tuning", "held_out"))
    parser.add_argument("--shows", type=int, default=10)
    args = parser.parse_args()
    bench = _bench()
    e2e = bench._pairs_e2e()
    cache = bench.CACHE
    model = bench.backbone(cache)
    dataset = bench.designs(cache, bench.SPLITS[args.split])
    store = cache / "looks" / bench.matcher_key()
    store.mkdir(parents=True, exist_ok=True)
    shows = []
    for seed in range(args.shows):
        show = e2e.render(dataset, seed, e2e.ShowShape(fps=30), cache)
        path = store / f"{show.name}.npz"
        if not path.is_file():
            print(f"collecting the looks of {show.name}", file=sys.stderr, flush=True)
            seen = collect(model, show)
            np.savez(path, designs=np.array([s.design for s in seen]), looks=np.stack([s.look for s in seen]))
        data = np.load(path)
        shows.append([Seen(str(d), l) for d, l in zip(data["designs"], data["looks"])])
    rules = {"shipped": calibrated()}
    for cap in (0.82, 0.85, 0.88):
        rules[f"calibrated, at most {cap}"] = calibrated(cap=cap)
    for sigmas in (1.5, 2.25, 2.5):
        rules[f"calibrated, {sigmas} sigma"] = calibrated(sigmas=sigmas)
    for sigmas in (2.0, 2.5, 3.0, 3.5, 4.0):
        rules[f"robust (median, MAD), {sigmas} sigma"] = robust(sigmas=sigmas)
    for q in (0.9, 0.95, 0.98):
        for margin in (0.0, 0.02, 0.04):
            rules[f"quantile {q} + {margin}"] = quantile(q, margin)
    for value in np.arange(0.76, 0.93, 0.02):
        rules[f"fixed {value:.2f}"] = fixed(value)
    for name, rule in rules.items():
        right = [replay(show, rule) for show in shows]
        print(f"{sum(right):3d}/{len(shows)}  {name}  wrong: {[i for i, ok in enumerate(right) if not ok]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
