"""How often the engine answers as ksqlDB does, on ksqlDB's own query-validation tests.

Runs `socksort ksql-fidelity`'s measurement (ksql/testrunner/fidelity.py) over the suite of a git
directory of confluentinc/ksql (`SOCKSORT_KSQL_GIT`, default the mirror `fetch
github:confluentinc/ksql` makes) and reports, for the cases inside the subset ksql/ENGINE.md
claims beyond the 200 shared conformance cases, the share that pass and the count of
silently wrong answers (goals: >= 0.9 and 0, issue 18). Without that directory the rows
say so instead of a figure.

    .venv/bin/python benchmarks/run.py ksql_fidelity
"""

from __future__ import annotations

from socksort.ksql.testrunner import fidelity
from socksort.paths import cache_dir, ksql_git_mirror

def run() -> list[dict]:
    git_dir = ksql_git_mirror()
    if not git_dir.exists():
        return [{"metric": "ksqlDB query-validation cases passing", "value": 0, "unit": "skipped",
                 "note": f"no ksqlDB git directory at {git_dir} (set SOCKSORT_KSQL_GIT)"}]
    sha, outcomes = fidelity.measure(str(git_dir), cache_dir() / "qtt")
    summary = fidelity.summary(outcomes)
    beyond = summary["beyond_shared"]
    note = f"confluentinc/ksql {sha[:7]}; {summary['suite_cases']} cases in the suite"
    return [
        {"metric": "cases inside the claimed subset beyond the 200 shared", "value": beyond["cases"],
         "unit": "cases", "note": note},
        {"metric": "share of them passing", "value": beyond["pass_rate"], "unit": "ratio",
         "note": "goal >= 0.9 (issue 18)"},
        {"metric": "with outputs, passing",
         "value": summary["beyond_shared_outputs"]["pass_rate"], "unit": "ratio",
         "note": f"{summary['beyond_shared_outputs']['cases']} cases"},
        {"metric": "rejected by ksqlDB, passing",
         "value": summary["beyond_shared_rejections"]["pass_rate"], "unit": "ratio",
         "note": f"{summary['beyond_shared_rejections']['cases']} cases"},
        {"metric": "silently wrong answers", "value": summary["inside"]["silently-wrong"],
         "unit": "cases", "note": "goal 0, all cases inside the subset"},
        {"metric": "wrongly accepted / wrongly rejected / wrong message",
         "value": beyond["wrongly-accepted"] + beyond["wrongly-rejected"] + beyond["wrong-message"],
         "unit": "cases", "note": (f"{beyond['wrongly-accepted']} / {beyond['wrongly-rejected']} / "
                                   f"{beyond['wrong-message']}")},
    ]
