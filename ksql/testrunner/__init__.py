"""Statements run in-process on case files: ``ksql-run`` and ``ksql-test-runner`` (ksqlDB's
case layout), and ``ksql-fidelity`` (ksqlDB's own query-validation tests, measured)."""

from socksort.ksql.testrunner.compare import Verdict, check_case, check_files
from socksort.ksql.testrunner.runner import CaseRun, run

__all__ = ["Verdict", "check_case", "check_files", "CaseRun", "run"]
