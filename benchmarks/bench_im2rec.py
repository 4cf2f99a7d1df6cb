"""Packing throughput of ``socksort im2rec``: images/s with 1 and 2 encoding threads.

Both runs pack the same .lst of synthetic 640x480 photos to 512x512 centre crops at
quality 95 (what training reads), in this run, so the ratio is the figure to watch.
Also reports how fast ``synth dataset`` draws photos and how fast ``synth show`` renders
frames, against the 30 FPS it plays at.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

from socksort.im2rec import lists, pack, show
from socksort.im2rec.dataset import DatasetSpec, generate

CLASSES, PER_CLASS = 4, 30
ROUNDS = 3


class PackFigures(NamedTuple):
    rate: float = 0.0        # images per wall-clock second, best round
    cpu_ms: float = 0.0      # process CPU (all threads) per image, in that round


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _pack_round(lst: Path, root: Path, threads: int) -> PackFigures:
    opts = pack.PackOptions(resize=512, center_crop=True, quality=95, num_thread=threads)
    cpu, started = _cpu_seconds(), time.perf_counter()
    result = pack.pack_list(lst, root, opts)
    wall = time.perf_counter() - started
    return PackFigures(result.packed / wall, 1000 * (_cpu_seconds() - cpu) / result.packed)


def _best_rounds(lst: Path, root: Path) -> dict[int, PackFigures]:
    """Best of interleaved rounds per thread count: the machine is shared, and the best
    round is the one least disturbed by other work."""
    pack.pack_list(lst, root, pack.PackOptions(resize=512, center_crop=True))  # warm caches
    best = {1: PackFigures(), 2: PackFigures()}
    for _ in range(ROUNDS):
        for threads in best:
            figures = _pack_round(lst, root, threads)
            if figures.rate > best[threads].rate:
                best[threads] = figures
    return best


def _render_rate(root: Path, work: Path) -> float:
    spec = show.ShowSpec(out=work / "show.mp4", truth=work / "truth.json", classes_from=root,
                         seed=1, fps=30, seconds=20)
    started = time.perf_counter()
    result = show.make_show(spec)
    return result["frames"] / (time.perf_counter() - started)


def run() -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="bench-im2rec-") as tmp:
        work = Path(tmp)
        root = work / "photos"
        started = time.perf_counter()
        generate(DatasetSpec(out=root, classes=CLASSES, per_class=PER_CLASS, seed=3))
        photos_per_s = (CLASSES + 1) * PER_CLASS / (time.perf_counter() - started)
        found = lists.scan(root)
        lst = work / "all.lst"
        lists.write_list(lst, found.items)
        images = len(found.items)
        best = _best_rounds(lst, root)
        one, two = best[1].rate, best[2].rate
        fps = _render_rate(root, work)
    return [
        {"metric": "pack images/s, --num-thread 1", "value": one, "unit": "images/s",
         "note": f"{images} photos 640x480 -> 512x512 q95, best of {ROUNDS}"},
        {"metric": "pack images/s, --num-thread 2", "value": two, "unit": "images/s",
         "note": "same data, same run"},
        {"metric": "pack speed-up 2 threads vs 1", "value": two / one, "unit": "x",
         "note": f"ideal 2.0 on 2 idle cores; load average {os.getloadavg()[0]:.1f} at the end"},
        {"metric": "pack CPU per image, --num-thread 1", "value": best[1].cpu_ms, "unit": "ms",
         "note": "process CPU, all threads"},
        {"metric": "pack CPU per image, --num-thread 2", "value": best[2].cpu_ms, "unit": "ms",
         "note": "process CPU, all threads: more than 1 thread's is overhead"},
        {"metric": "synth dataset photos/s", "value": photos_per_s, "unit": "photos/s",
         "note": "640x480 JPEGs, --num-thread 2"},
        {"metric": "synth show render speed", "value": fps / 30, "unit": "x real time",
         "note": f"{fps:.0f} frames/s at 640x480, --num-thread 2, incl. mp4v encoding"},
    ]
