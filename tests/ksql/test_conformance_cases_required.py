"""The conformance tests refuse to pass without their cases."""

from __future__ import annotations

import os
import subprocess
import sys

from socksort.paths import ROOT


def test_the_conformance_tests_fail_naming_the_folder_when_the_cases_are_missing(tmp_path):
    nowhere = tmp_path / "no-conformance-here"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "tests/ksql/test_conformance.py"), "-q",
         "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "run")],
        cwd=ROOT, env={**os.environ, "SOCKSORT_KSQL_CONFORMANCE": str(nowhere)},
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stdout[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert "3 failed" in summary and "passed" not in summary and "skipped" not in summary
    assert f"no ksqlDB conformance cases at {nowhere / 'cases'}" in result.stdout
