"""`socksort ksql-server`: the embedded engine on Kafka, serving ksqlDB's REST API.

The server (the engine, confluent-kafka, h2) is imported when the command runs, so
registering the command costs `socksort --help` nothing.
"""

from __future__ import annotations

import logging

from socksort import config, contract
from socksort.ksql.cli.options import DEFAULT_CONNECT, bootstrap_option, verbose_option


def register(commands) -> None:
    p = commands.add_parser(
        "ksql-server", help="run the embedded ksqlDB-compatible engine on Kafka with ksqlDB's REST API",
        description="Executes ksqlDB statements (ksql/*.ksql) as persistent queries on real Kafka "
                    "topics, keeps them in a command topic, rebuilds its state on restart and "
                    "serves ksqlDB's REST API (/info, /healthcheck, /ksql, /query, /query-stream, "
                    "/close-query).")
    bootstrap_option(p)
    config.option(p, "--listen", env="SOCKSORT_KSQL_LISTEN", type=config.host_port,
                  default=config.host_port(f"127.0.0.1:{contract.PORTS['ksql']}"),
                  help="HOST:PORT for the REST API")
    config.option(p, "--connect-url", env="SOCKSORT_CONNECT_URL", type=config.http_url,
                  default=DEFAULT_CONNECT, help="Kafka Connect's REST API, for connector statements")
    config.option(p, "--command-topic", env="SOCKSORT_KSQL_COMMAND_TOPIC",
                  default=None, help="the topic holding the server's statements "
                                     "(default _socksort_ksql_command_topic)")
    verbose_option(p)
    p.set_defaults(func=_run_server)


def _run_server(args) -> int:
    from socksort.ksql import kafka_io
    from socksort.ksql.server.rest import serve

    kafka_io.set_verbose(args.verbose)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    serve(args.bootstrap, args.listen.host, args.listen.port, args.connect_url, args.command_topic)
    return 0
