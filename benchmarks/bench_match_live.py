"""Match by look, live: rendered shows -> the real ``socksort edge --match`` -> the real Mosquitto
-> ``ksql/pipeline.ksql`` -> SOCK_PAIRS, with no sock ever trained.

The model is the ImageNet backbone alone (``socksort backbones export efficientnet_lite0``):
it has no Blank class, so the edge learns the empty scene from each show's first second.
Shows are rendered as ``bench_pairs_e2e`` renders them (60 s at 30 FPS, designs shown once,
twice or three times, one pair back to back) from 8 designs of designs seed 2026, which
the edge's choices (crops, colour weight, samples, the calibrated threshold) were never
tuned on; the tuning looked at shows of designs seed 2017 only (``SPLITS``).

A show is exactly right when the pipeline's showings are the true showings one for one and
its pair table, each ``sock-<n>`` read as the design its showings hold, is the truth's: each
label's showings are one design, and each design shown n times has n // 2 labels of two
showings. Every show that is not right is listed with what went wrong.

With ``SOCKSORT_BENCH_MATCH_SERVICE=1`` every show's showings are decided by a match service
instead (``socksort edge --match --match-service URL``; a fresh service per show, in this
process, on a free port): the same judging, plus how many showings the camera had to decide
itself because the service did not answer (``sock-<device>-<n>`` labels).

Speed: the per-frame CPU (process time over every thread, from the first frame to the last)
of the edge with ``--match`` against the plain edge on the same show, in the same run.

    .venv/bin/python benchmarks/run.py match_live
    SOCKSORT_BENCH_MATCH_SHOWS=4 SOCKSORT_BENCH_MATCH_SPLIT=tuning .venv/bin/python benchmarks/run.py match_live
    SOCKSORT_BENCH_MATCH_SERVICE=1 SOCKSORT_BENCH_MATCH_SHOWS=4 .venv/bin/python benchmarks/run.py match_live
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from socksort import atomic, progress
from socksort.schema import Prediction

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = ROOT / ".cache" / "bench-match-live"
SHOWS = 10
SPLITS = {"held_out": 2026, "tuning": 2017}     # designs seed of each split
DESIGNS = 8
GOAL_SHOWS, GOAL_EXTRA_CPU = 90.0, 20.0
MATCHER_FILES = ("showings.py", "open_set.py", "background.py", "embedding.py", "loop.py")
SERVICE_FILES = ("match_service.py", "match_client.py")


def _pairs_e2e():
    """The end-to-end pair benchmark's rendering, broker and recording, reused as they are."""
    spec = importlib.util.spec_from_file_location("bench_pairs_e2e_shared", HERE / "bench_pairs_e2e.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Judged:
    name: str
    right: bool
    showings: int
    pairs: int
    problems: tuple[str, ...]


def backbone(cache: Path) -> Path:
    folder = cache / "efficientnet_lite0"
    if not (folder / "model.json").is_file():
        progress.step("exporting the ImageNet backbone as a model folder")
        _run("backbones", "export", "efficientnet_lite0", "--out", folder)
    return folder


def designs(cache: Path, designs_seed: int) -> Path:
    folder = cache / f"designs-{designs_seed}"
    if not (folder / "synth.json").is_file():
        _run("synth", "dataset", "--out", folder, "--classes", DESIGNS, "--per-class", 1,
             "--designs-seed", designs_seed, "--reuse")
    return folder


def _run(*args) -> str:
    done = subprocess.run([sys.executable, "-m", "socksort", *map(str, args)], capture_output=True, text=True,
                          timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"socksort {' '.join(map(str, args))} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def matcher_key(via_service: bool = False) -> str:
    """What made the predictions besides the model and the show: the edge's matching code."""
    digest = hashlib.sha256()
    for name in MATCHER_FILES + (SERVICE_FILES if via_service else ()):
        digest.update((ROOT / "edge_lambda" / name).read_bytes())
    return digest.hexdigest()[:12] + ("-service" if via_service else "")


@contextlib.contextmanager
def match_service():
    """A fresh ``socksort match-service`` (its code, in this process): its URL."""
    from socksort.config import HostPort
    from socksort.edge_lambda.album import LabelNumbers
    from socksort.edge_lambda.match_service import MatchService, MatchServiceServer
    from socksort.net import free_port

    with tempfile.TemporaryDirectory() as folder:
        service = MatchService(numbers=LabelNumbers(Path(folder) / "match-service.json"))
        server = MatchServiceServer(HostPort("127.0.0.1", free_port()), service).start()
        try:
            yield server.url
        finally:
            server.stop()


def recorded(model: Path, show: Path, cache: Path, broker, via_service: bool = False) -> list[Prediction]:
    """What ``socksort edge --match`` published for the show, through Mosquitto (cached)."""
    path = cache / "predictions" / matcher_key(via_service) / f"{show.name}.jsonl"
    if not path.is_file():
        url, recorder = broker()
        truth = json.loads((show / "truth.json").read_text())
        progress.step(f"socksort edge --match over {show.name}" + (" with a match service" if via_service else ""))
        device = f"match-{show.name}"
        with match_service() if via_service else contextlib.nullcontext() as service_url:
            status = json.loads(_run("edge", "--model", model, "--source", show / "show.mp4", "--unthrottled",
                                     "--match", *(("--match-service", service_url) if via_service else ()),
                                     "--http", "none", "--mqtt-url", url, "--device", device, "--json"))
        payloads = recorder.take(device, truth["frames"])
        if status["classified"] != truth["frames"] or len(payloads) != truth["frames"]:
            raise RuntimeError(f"{show.name}: classified {status['classified']}, recorded {len(payloads)} "
                               f"of {truth['frames']} frames")
        payloads.sort(key=lambda p: json.loads(p)["seq"])
        with atomic.atomic_write(path) as handle:
            handle.write(b"".join(p.rstrip(b"\n") + b"\n" for p in payloads))
    return [Prediction.from_json(line) for line in path.read_bytes().splitlines() if line.strip()]


def judge(name: str, truth_path: Path, frames: list[Prediction]) -> Judged:
    """Whether the open-set pair table, read through the true showings, is the truth's."""
    from socksort.ksql.pipeline.accuracy import run_pipeline
    from socksort.ksql.pipeline.show_accuracy import load_truth
    from socksort.ksql.pipeline.simulate import Delivery

    truth = load_truth(truth_path, name=name)
    result = run_pipeline([Delivery.of(frame) for frame in frames])
    first_ts = frames[0].ts
    problems: list[str] = []
    designs_of: dict[str, list[str]] = defaultdict(list)
    matched = set()
    for row in result.showings:
        first = round((row.start - first_ts) * truth.fps / 1000)
        last = round((row.end - first_ts) * truth.fps / 1000)
        hits = [s for s in truth.showings if first < s.end and last >= s.first]
        if len(hits) != 1:
            problems.append(f"{row.image} at frames {first}-{last} overlaps {len(hits)} true showings")
            continue
        if hits[0].n in matched:
            problems.append(f"showing {hits[0].n} ({hits[0].design}) counted twice")
        matched.add(hits[0].n)
        designs_of[row.image].append(hits[0].design)
    for s in truth.showings:
        if s.n not in matched:
            problems.append(f"showing {s.n} ({s.design}, frames {s.first}-{s.end}) not counted")
    for label, held in sorted(designs_of.items()):
        if len(set(held)) > 1:
            problems.append(f"{label} holds {' and '.join(held)}")
    counts = Counter(s.design for s in truth.showings)
    labelled_pairs = Counter(held[0] for held in designs_of.values() if len(held) == 2 and len(set(held)) == 1)
    for design, n in sorted(counts.items()):
        if labelled_pairs[design] != n // 2:
            problems.append(f"{design} shown {n} times: {labelled_pairs[design]} pairs found, {n // 2} true")
    return Judged(name, not problems, len(truth.showings), sum(n // 2 for n in counts.values()), tuple(problems))


def cpu_per_frame(model: Path, show: Path, match: bool) -> float:
    """CPU seconds a frame (every thread of the process), the edge over the whole show."""
    from socksort.edge_lambda.loop import EdgeConfig, EdgeLoop

    edge = EdgeLoop(EdgeConfig(model=model, source=str(show / "show.mp4"), unthrottled=True, match=match,
                               greengrass=False), log=lambda text: None)
    edge.start()
    try:
        began = time.process_time()
        frames = edge.run()
        spent = time.process_time() - began
    finally:
        edge.stop(0)
    return spent / max(1, frames)


def run() -> list[dict]:
    e2e = _pairs_e2e()
    count = int(os.environ.get("SOCKSORT_BENCH_MATCH_SHOWS", SHOWS))
    split = os.environ.get("SOCKSORT_BENCH_MATCH_SPLIT", "held_out")
    via_service = os.environ.get("SOCKSORT_BENCH_MATCH_SERVICE", "") == "1"
    cache = CACHE
    model = backbone(cache)
    dataset = designs(cache, SPLITS[split])
    shape = e2e.ShowShape(fps=30)
    judged = []
    shows = []
    fallbacks = 0
    with e2e.lazy_broker(cache) as broker:
        for seed in range(count):
            show = e2e.render(dataset, seed, shape, cache)
            shows.append(show)
            frames = recorded(model, show, cache, broker, via_service)
            fallbacks += len({f.image for f in frames if f.image.startswith(f"sock-match-{show.name}-")})
            verdict = judge(f"seed {seed}", show / "truth.json", frames)
            for line in verdict.problems:
                progress.step(f"wrong, seed {seed}: {line}")
            judged.append(verdict)
    right = sum(j.right for j in judged)
    table = [
        {"metric": f"shows exactly right, edge --match{' via a match service' if via_service else ''} "
                   f"({split} designs)", "value": 100 * right / len(judged),
         "unit": "%", "note": f"{len(judged)} shows of 60 s at 30 FPS, designs seed {SPLITS[split]}, "
                              f"{sum(j.showings for j in judged)} showings, {sum(j.pairs for j in judged)} true "
                              f"pairs; ImageNet backbone, nothing trained; goal >= {GOAL_SHOWS:g} %"}]
    if via_service:
        table.append({"metric": "socks the camera labelled itself, the service not answering", "value": fallbacks,
                      "unit": "labels", "note": "sock-<device>-<n> labels in what the edges published"})
    else:   # the CPU of deciding is the same either way; the service's own is another process's
        plain = cpu_per_frame(model, shows[0], match=False)
        matching = cpu_per_frame(model, shows[0], match=True)
        table.append(
            {"metric": "CPU a frame, edge --match / plain edge", "value": matching / plain, "unit": "x",
             "note": f"{1000 * matching:.1f} vs {1000 * plain:.1f} ms of CPU a frame on {shows[0].name}; goal <= "
                     f"{1 + GOAL_EXTRA_CPU / 100:g}x"})
    for j in judged:
        if not j.right:
            table.append({"metric": f"wrong: {j.name}", "value": len(j.problems), "unit": "problems",
                          "note": " | ".join(j.problems)})
    return table
