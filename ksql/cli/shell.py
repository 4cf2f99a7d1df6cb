"""`socksort ksql`: the interactive shell for any ksqlDB REST server.

The shell and its client (httpx, ksql-python-ng) are imported when the command runs, so
registering the command costs `socksort --help` nothing.
"""

from __future__ import annotations

from socksort.ksql.cli.options import url_option


def register(commands) -> None:
    p = commands.add_parser(
        "ksql", help="an interactive ksql shell (like the ksql CLI) for a ksqlDB REST server",
        description="Statements end with ';' and may span lines; SELECT ... EMIT CHANGES and "
                    "PRINT stream until Ctrl-C; SET/UNSET and DEFINE/UNDEFINE are kept by the "
                    "shell. Reads statements from stdin when it is not a terminal.")
    url_option(p)
    p.set_defaults(func=_run_shell)


def _run_shell(args) -> int:
    from socksort.ksql.client import shell

    return shell.main(args.url)
