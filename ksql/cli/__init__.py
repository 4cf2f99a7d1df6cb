"""Commands of the ksql stage, one module per job: `server` (ksql-server), `shell` (ksql),
`pipeline` (ksql-apply, pairs, replay), `tools` (ksql-test-runner, ksql-run,
ksql-fidelity), and the `options` they share.

They live here, not in the packages that do the work, because those packages load the
engine, Kafka and HTTP clients on import: a command module imports its package only
when the command runs, so `socksort --help` loads none of them.
"""

from __future__ import annotations

from socksort.ksql.cli import pipeline, server, shell, tools


def register(commands) -> None:
    # In the order `socksort --help` has always listed them.
    tools.register(commands)                # ksql-test-runner, ksql-run, ksql-fidelity
    server.register(commands)               # ksql-server
    pipeline.register_apply(commands)       # ksql-apply
    shell.register(commands)                # ksql
    pipeline.register(commands)             # pairs, replay
