"""Every case converted from ksqlDB's own query-validation tests passes in-process.

The cases live in ../shared/ksql-conformance/cases next to the repository, or next to the
folder of worktrees, or where SOCKSORT_KSQL_CONFORMANCE says (README.md there
gives the format and the comparison rules implemented by socksort.ksql.testrunner).
Without them every test here fails, naming where it looked: a checkout that lacks them
must not pass by testing nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from socksort.ksql.testrunner import check_files
from socksort.paths import ksql_conformance_dir

CASES = ksql_conformance_dir() / "cases"
MISSING = (f"no ksqlDB conformance cases at {CASES}: put ksql-conformance in ../shared next to "
           "the checkout, or set SOCKSORT_KSQL_CONFORMANCE to its folder")

# Cases the engine does not pass yet: folder -> the ksqlDB behaviour that is missing.
# Strict xfail, so a fix shows up as XPASS and the entry must be removed.
KNOWN_FAILURES: dict[str, str] = {}


def _cases() -> list:
    if not CASES.is_dir():
        return [pytest.param(None, id="no-cases")]
    params = []
    for folder in sorted(p for p in CASES.iterdir() if p.is_dir()):
        marks = []
        if folder.name in KNOWN_FAILURES:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[folder.name]))
        params.append(pytest.param(folder, id=folder.name, marks=marks))
    return params


def _present(case: Path | None) -> Path:
    if case is None:
        pytest.fail(MISSING, pytrace=False)
    return case


@pytest.mark.parametrize("case", _cases())
def test_case_matches_ksqldb(case: Path):
    case = _present(case)
    verdict = check_files(case / "statements.sql", case / "input.json", case / "output.json")
    assert verdict.passed, "\n".join(verdict.problems)


@pytest.mark.parametrize("case", [c for c in _cases() if c.values[0] is None or
                                  "--@expected" not in (c.values[0] / "statements.sql").read_text()])
def test_case_matches_ksqldb_from_wire_bytes(case: Path):
    """The server's path: inputs arrive as Kafka bytes (binary KAFKA keys, windows in the key)."""
    case = _present(case)
    verdict = check_files(case / "statements.sql", case / "input.json", case / "output.json",
                          wire=True)
    assert verdict.passed, "\n".join(verdict.problems)


def test_all_two_hundred_cases_are_present():
    if not CASES.is_dir():
        pytest.fail(MISSING, pytrace=False)
    assert len([p for p in CASES.iterdir() if p.is_dir()]) == 200
