"""``make bench``: run every ``benchmarks/bench_*.py``, print one table, write bench-results.json.

A benchmark module exposes ``run() -> list[dict]``; each dict is one figure:
``{"metric": str, "value": number, "unit": str, "note": str (optional)}``.
Figures that are goals compare against a baseline measured in the same run (a ratio),
because this machine is noisy; nothing here passes or fails on a wall-clock time.

    benchmarks/run.py [NAME ...]      # only bench_NAME.py modules

Benchmarks in ``BY_NAME_ONLY`` take too long for every ``make bench``; they run when named.
"""

from __future__ import annotations

import importlib.util
import json
import platform
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # keep bench names local

from socksort import atomic  # noqa: E402

# name -> why it is left out of a run without names
BY_NAME_ONLY = {"chaos": "over 6 minutes: a show with every service killed once (make bench-chaos)"}


def load(path: Path):
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # as an import would: dataclasses and pickle look it up
    spec.loader.exec_module(module)
    return module


def main(argv: list[str]) -> int:
    wanted = set(argv)
    paths = sorted(HERE.glob("bench_*.py"))
    if wanted:
        paths = [p for p in paths if p.stem.removeprefix("bench_") in wanted]
    else:
        for name, why in BY_NAME_ONLY.items():
            print(f"==> skipping benchmark {name} ({why}); run it with benchmarks/run.py {name}",
                  file=sys.stderr)
        paths = [p for p in paths if p.stem.removeprefix("bench_") not in BY_NAME_ONLY]
    results, failed = [], []
    for path in paths:
        name = path.stem.removeprefix("bench_")
        print(f"==> benchmark {name}", file=sys.stderr, flush=True)
        started = time.monotonic()
        try:
            rows = load(path).run()
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        for row in rows:
            results.append({"bench": name, **row})
        print(f"    {name} took {time.monotonic() - started:.0f}s", file=sys.stderr)
    print_table(results)
    atomic.write_json(ROOT / "bench-results.json", {
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "results": results,
        "failed": failed,
    })
    print(f"wrote {ROOT / 'bench-results.json'}", file=sys.stderr)
    return 1 if failed else 0


def print_table(rows: list[dict]) -> None:
    cells = [("bench", "metric", "value", "unit", "note")]
    for r in rows:
        value = r["value"]
        shown = f"{value:,.3g}" if isinstance(value, float) and abs(value) < 1000 else (
            f"{value:,.0f}" if isinstance(value, float) else str(value))
        cells.append((r["bench"], r["metric"], shown, r.get("unit", ""), r.get("note", "")))
    widths = [max(len(row[i]) for row in cells) for i in range(5)]
    for i, row in enumerate(cells):
        print("  ".join(c.ljust(w) if j != 2 else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
