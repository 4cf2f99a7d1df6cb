"""`ksql-test-runner` semantics: compare a run's outputs with output.json (README rules)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from socksort.ksql.testrunner import runner

_ABSENT = object()


@dataclass
class Verdict:
    passed: bool
    problems: list = field(default_factory=list)


def values_equal(expected, actual) -> bool:
    """Numbers numerically (1e-6 for doubles), strings/booleans/null exactly, objects by name."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        if isinstance(expected, int) and isinstance(actual, int):
            return expected == actual
        return math.isclose(expected, actual, rel_tol=0, abs_tol=1e-6) or expected == actual
    if isinstance(expected, str) or isinstance(actual, str):
        return isinstance(expected, str) and isinstance(actual, str) and expected == actual
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or len(expected) != len(actual):
            return False
        for name, ev in expected.items():
            av = actual.get(name, _ABSENT)
            if av is _ABSENT:
                av = actual.get(name.upper(), _ABSENT)
            if av is _ABSENT or not values_equal(ev, av):
                return False
        return True
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(expected) == len(actual)
                and all(values_equal(e, a) for e, a in zip(expected, actual)))
    return expected == actual


def record_problem(expected: dict, actual: dict) -> str | None:
    """Why ``actual`` does not match ``expected``, or None."""
    if "timestamp" in expected and expected["timestamp"] != actual.get("timestamp"):
        return f"timestamp {actual.get('timestamp')} != expected {expected['timestamp']}"
    if not values_equal(expected.get("key"), actual.get("key")):
        return f"key {json.dumps(actual.get('key'))} != expected {json.dumps(expected.get('key'))}"
    ew, aw = expected.get("window"), actual.get("window")
    if ew is not None and (aw is None or any(ew.get(f) != aw.get(f) for f in ("start", "end", "type"))):
        return f"window {json.dumps(aw)} != expected {json.dumps(ew)}"
    if not values_equal(expected.get("value"), actual.get("value")):
        return (f"value {json.dumps(actual.get('value'))} != expected "
                f"{json.dumps(expected.get('value'))}")
    return None


def compare(expected: list, actual: list, sink_topics: set) -> Verdict:
    problems = []
    by_topic_expected: dict = {}
    for rec in expected:
        by_topic_expected.setdefault(rec["topic"], []).append(rec)
    by_topic_actual: dict = {}
    for rec in actual:
        by_topic_actual.setdefault(rec["topic"], []).append(rec)
    topics = list(by_topic_expected) if expected else sorted(sink_topics)
    for topic in topics:
        exp = by_topic_expected.get(topic, [])
        act = by_topic_actual.get(topic, [])
        for i in range(max(len(exp), len(act))):
            if i >= len(exp):
                problems.append(f"{topic}[{i}]: unexpected record {json.dumps(act[i])}")
            elif i >= len(act):
                problems.append(f"{topic}[{i}]: missing record {json.dumps(exp[i])}")
            else:
                why = record_problem(exp[i], act[i])
                if why:
                    problems.append(f"{topic}[{i}]: {why}")
    return Verdict(not problems, problems)


def check_case(statements_text: str, inputs: list, expected_outputs: list,
               wire: bool = False) -> Verdict:
    """Run a case and judge it, including `--@expected.message` error cases."""
    _, message = runner.expected_error(statements_text)
    run = runner.run(statements_text, inputs, wire=wire)
    if message is not None:
        if run.error is None:
            return Verdict(False, [f"expected the last statement to fail with: {message}"])
        if run.failed_statement != run.statement_count - 1:
            return Verdict(False, [f"statement {run.failed_statement + 1} failed early: {run.error}"])
        if message not in str(run.error):
            return Verdict(False, [f"error message: {run.error}", f"expected to contain: {message}"])
        return Verdict(True)
    if run.error is not None:
        return Verdict(False, [f"statement {run.failed_statement + 1} failed: {run.error}"])
    return compare(expected_outputs, run.outputs, run.sink_topics)


def check_files(statements: Path, inputs: Path, outputs: Path, wire: bool = False) -> Verdict:
    text, records = runner.load_case(statements, inputs)
    expected = json.loads(Path(outputs).read_text()).get("outputs", [])
    return check_case(text, records, expected, wire=wire)
