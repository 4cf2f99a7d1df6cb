"""Commands of the ksql stage, registered on `socksort` from the subpackage that does each job."""

from __future__ import annotations

from socksort.ksql.client import cli as client_cli
from socksort.ksql.pipeline import cli as pipeline_cli
from socksort.ksql.server import cli as server_cli
from socksort.ksql.testrunner import cli as testrunner_cli


def register(commands) -> None:
    # In the order `socksort --help` has always listed them.
    testrunner_cli.register(commands)       # ksql-test-runner, ksql-run, ksql-fidelity
    server_cli.register(commands)           # ksql-server
    pipeline_cli.register_apply(commands)   # ksql-apply
    client_cli.register(commands)           # ksql
    pipeline_cli.register(commands)         # pairs, replay
