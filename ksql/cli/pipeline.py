"""The sock pipeline's commands: `ksql-apply` (the pipeline onto a server), `pairs`, `replay`.

Each command imports what it runs when it runs: the ksqlDB client (httpx, ksql-python-ng)
and Kafka (confluent-kafka) take a quarter of a second to load, which `socksort --help`
and every other command should not pay.
"""

from __future__ import annotations

import json
from pathlib import Path

from socksort import config, connect_secrets
from socksort.errors import UserError
from socksort.ksql.cli.options import bootstrap_option, mqtt_option, url_option, verbose_option
from socksort.ksql.pipeline.files import DEFAULT_FILES
from socksort.paths import runtime_dir



def register_apply(commands) -> None:
    """Add `ksql-apply`."""
    _apply(commands)


def register(commands) -> None:
    """Add `pairs` and `replay`."""
    _pairs(commands)
    _replay(commands)


# --- ksql-apply --------------------------------------------------------------------------

def _apply(commands) -> None:
    p = commands.add_parser(
        "ksql-apply", help="apply ksql/connector.ksql and ksql/pipeline.ksql to a ksqlDB server",
        description="Sends the statements with the ksqlDB client (ksql-python-ng) to --url: "
                    "socksort's ksql-server or a real ksqlDB. Statements use IF NOT EXISTS, so "
                    "applying twice changes nothing. The connector's ${mqtt_*} variables come "
                    "from --mqtt-url.")
    url_option(p)
    p.add_argument("files", nargs="*", type=config.existing_file,
                   help="statement files (default: ksql/connector.ksql ksql/pipeline.ksql)")
    mqtt_option(p, "the broker the connector reads")
    config.option(p, "--secrets-file", env="SOCKSORT_CONNECT_SECRETS", type=Path,
                  help="the properties file (key mqtt.password) Kafka Connect's FileConfigProvider "
                       "reads the MQTT password from: the password of --mqtt-url is written there "
                       "(owner-only) and the connector gets only ${file:...}; without a password "
                       "in --mqtt-url the file is only referred to, as Connect's machine has it "
                       "(default: one file per broker in SOCKSORT_HOME/connect/secrets/)")
    p.add_argument("--json", action="store_true", help="print the server's answers as JSON")
    p.set_defaults(func=_run_apply)


def _run_apply(args) -> int:
    from socksort.ksql.client import rest_client

    url = args.mqtt_url
    texts = [Path(path).read_text() for path in args.files or DEFAULT_FILES]
    variables = {"mqtt_server_uri": f"{'ssl' if url.tls else 'tcp'}://{url.host}:{url.port}",
                 "mqtt_username": url.username or ""}
    if any("${mqtt_password}" in text.lower() for text in texts):
        # Inside a '...' literal in ksql/connector.ksql: a quote in the path is doubled.
        variables["mqtt_password"] = _password_reference(url, args.secrets_file).replace("'", "''")
    answers = []
    for text in texts:
        answers += rest_client.run(args.url, rest_client.substitute(text, variables))
    if args.json:
        print(json.dumps(answers, indent=2))
    else:
        for answer in answers:
            print(_describe_answer(answer))
    return 0


def _password_reference(url, secrets_file: Path | None) -> str:
    """What the connector config gets for ``mqtt.password``: never the password itself
    (Connect would keep it in its config topic and show it over REST), a ${file:...}
    reference to it; empty for a broker without a password."""
    if url.password is not None:
        path = secrets_file or connect_secrets.file_for_broker(
            runtime_dir() / "connect" / "secrets", url.host, url.port, url.username)
        return connect_secrets.write(path, url.password)
    if secrets_file is not None:
        if not secrets_file.is_absolute():
            raise UserError(f"--secrets-file {secrets_file}: give the path as Connect's worker sees it, "
                            "from the root (/...)")
        return connect_secrets.reference(secrets_file)
    return ""


def _describe_answer(answer: dict) -> str:
    status = answer.get("commandStatus", {})
    first_line = (answer.get("statementText", "").strip().splitlines() or [""])[0][:70]
    if status:
        return f"{status.get('status', '')}: {status.get('message', '')}  ({first_line})"
    return f"{answer.get('@type', 'done')}  ({first_line})"


# --- pairs -------------------------------------------------------------------------------

def _pairs(commands) -> None:
    p = commands.add_parser(
        "pairs", help="print the pair table (SOCK_PAIRS), or start a new sorting session",
        description="Reads SOCK_PAIRS with a pull query. --reset terminates the pipeline's "
                    "queries, drops what they built and applies ksql/pipeline.ksql again, "
                    "counting only frames that arrive afterwards (works the same on ksqlDB).")
    url_option(p)
    p.add_argument("--json", action="store_true",
                   help='a JSON list of {"image", "pair_seen", "number_socks_seen"} sorted by image')
    p.add_argument("--reset", action="store_true", help="start a new sorting session")
    p.set_defaults(func=_run_pairs)


def _run_pairs(args) -> int:
    from socksort.ksql.pipeline import pairs

    if args.reset:
        pairs.reset(args.url)
    rows = pairs.read(args.url)
    if args.json:
        print(pairs.to_json(rows))
    else:
        print(pairs.table(rows))
    return 0


# --- replay ------------------------------------------------------------------------------

def speed_value(text: str) -> float | None:
    """`--speed`: `max` (no pacing) or a positive factor of the recorded pace."""
    if text.strip().lower() == "max":
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError("expected 'max' or a positive number such as 1 or 10") from None
    if value <= 0:
        raise ValueError("expected 'max' or a positive number such as 1 or 10")
    return value


def _replay(commands) -> None:
    p = commands.add_parser(
        "replay", help="replay recorded predictions (JSONL) through the stack and print the pairs",
        description="Publishes each line of FILE (one prediction payload with ts) to MQTT "
                    "'sockfound' or Kafka 'data_mqtt', waits until the queries processed them "
                    "all, then prints the pair table as JSON.")
    p.add_argument("file", type=config.existing_file, help="a .jsonl file of prediction payloads")
    p.add_argument("--via", choices=("mqtt", "kafka"), default="mqtt",
                   help="publish to MQTT (through Kafka Connect) or straight to Kafka")
    config.option(p, "--speed", env="SOCKSORT_REPLAY_SPEED", type=speed_value, default="max",
                  help="'max', or a multiple of the recorded pace (1 = as recorded)")
    url_option(p)
    bootstrap_option(p)
    mqtt_option(p, "the broker to publish to")
    config.mqtt_ca_option(p)
    config.option(p, "--timeout", env="SOCKSORT_REPLAY_TIMEOUT", type=config.positive_float,
                  default=120.0, help="give up once the frames have made no progress (reaching Kafka, "
                                      "being consumed by the queries) for this many seconds")
    verbose_option(p)
    p.set_defaults(func=_run_replay)


def _run_replay(args) -> int:
    from socksort.ksql import kafka_io
    from socksort.ksql.pipeline import pairs, replay

    kafka_io.set_verbose(args.verbose)
    # argparse passes the string default "max" through speed_value too: args.speed is
    # already None or a float.
    replay.replay(args.file, args.via, args.speed, args.bootstrap, args.mqtt_url, args.timeout,
                  ca_file=args.tls_ca)
    print(pairs.to_json(pairs.read(args.url)))
    return 0
