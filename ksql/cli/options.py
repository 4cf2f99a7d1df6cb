"""Options and defaults shared by the ksql stage's commands (server, client and pipeline)."""

from __future__ import annotations

from socksort import config, contract

DEFAULT_URL = f"http://127.0.0.1:{contract.PORTS['ksql']}"
DEFAULT_BOOTSTRAP = f"127.0.0.1:{contract.PORTS['kafka']}"
DEFAULT_CONNECT = f"http://127.0.0.1:{contract.PORTS['connect']}"
DEFAULT_MQTT = f"mqtt://127.0.0.1:{contract.PORTS['mqtt']}"


def url_option(parser) -> None:
    config.option(parser, "--url", env="SOCKSORT_KSQL_URL", type=config.http_url,
                  default=DEFAULT_URL, help="the ksqlDB REST API (socksort's ksql-server or a real ksqlDB)")


def bootstrap_option(parser) -> None:
    config.option(parser, "--bootstrap", env="SOCKSORT_KAFKA_BOOTSTRAP", default=DEFAULT_BOOTSTRAP,
                  help="Kafka bootstrap servers")


def verbose_option(parser) -> None:
    parser.add_argument("--verbose", action="store_true",
                        help="also print the Kafka client's own log (every failed connection attempt)")


def mqtt_option(parser, help: str) -> None:
    config.option(parser, "--mqtt-url", env="SOCKSORT_MQTT_URL", type=config.mqtt_url,
                  default=config.mqtt_url(DEFAULT_MQTT), help=help)
