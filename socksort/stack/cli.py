"""``socksort stack up|down|status``: the local stack's command, registered on the one CLI."""

from __future__ import annotations

import argparse
import json
import sys

from socksort import config, contract
from socksort.connect.registration import Failure
from socksort.errors import UserError
from socksort.paths import runtime_dir
from socksort.stack.stack import Ports, for_up, load, problems


def register(commands) -> None:
    """Add ``stack`` and its actions to `commands` (argparse subparsers)."""
    stack = commands.add_parser(
        "stack", help="run the local streaming stack: Mosquitto, Kafka (KRaft), Kafka Connect, ksql engine",
        description="Start, stop or inspect the local streaming stack. Data and logs live under "
                    "SOCKSORT_HOME (default .socksort/ in the checkout).")
    actions = stack.add_subparsers(dest="stack_action", metavar="<action>")
    actions.required = True

    up = actions.add_parser("up", help="start what is not running and wait until each service answers")
    _port_options(up)
    config.option(up, "--frame-partitions", env="SOCKSORT_FRAME_PARTITIONS", type=config.positive_int,
                  default=contract.FRAME_PARTITIONS,
                  help=f"partitions of {contract.CAMERA_FRAMES}: the most `socksort worker`s that share "
                       "the cameras' frames (a topic with more keeps them)")
    up.add_argument("--json", action="store_true", help="print the resulting status as JSON")
    up.set_defaults(func=_up)

    down = actions.add_parser("down", help="stop the services this stack started (and nothing else)")
    down.set_defaults(func=_down)

    status = actions.add_parser("status", help="state, pid and endpoint of each service "
                                               "(exit status 3 if any is not running, or the "
                                               "connector or a task FAILED)",
                                description="Reports the stack the last `stack up` started in "
                                            "SOCKSORT_HOME (with its ports); the port options only "
                                            "say where to look when no stack was started there.")
    _port_options(status)
    status.add_argument("--json", action="store_true", help="one JSON object keyed by service")
    status.set_defaults(func=_status)


def _port_options(parser: argparse.ArgumentParser) -> None:
    ports = contract.PORTS
    config.option(parser, "--mqtt-port", env="SOCKSORT_MQTT_PORT", type=config.port, default=ports["mqtt"],
                  help="Mosquitto's listener")
    config.option(parser, "--kafka-port", env="SOCKSORT_KAFKA_PORT", type=config.port, default=ports["kafka"],
                  help="Kafka's client listener")
    config.option(parser, "--controller-port", env="SOCKSORT_CONTROLLER_PORT", type=config.port,
                  default=ports["kafka_controller"], help="the KRaft controller listener")
    config.option(parser, "--connect-port", env="SOCKSORT_CONNECT_PORT", type=config.port,
                  default=ports["connect"], help="the Connect worker's REST API")
    config.option(parser, "--ksql-port", env="SOCKSORT_KSQL_PORT", type=config.port, default=ports["ksql"],
                  help="the ksql engine's REST API (started when the engine exists)")


def _ports(args):
    """The ports the options (or SOCKSORT_*_PORT) ask for, validated."""
    ports = Ports(args.mqtt_port, args.kafka_port, args.controller_port, args.connect_port, args.ksql_port)
    used = [p for p in vars(ports).values()]
    if len(set(used)) != len(used):
        raise UserError(f"the stack's ports must differ, got {vars(ports)}")
    return ports


def _up(args) -> int:
    try:
        report = for_up(runtime_dir(), _ports(args), args.frame_partitions).up()
    except OSError as exc:  # a service's API broke off mid-answer: say so in a line, not a traceback
        raise UserError(f"stack up failed: {exc}") from None
    _print(report, args.json)
    wrong = problems(report)
    if wrong:
        raise UserError("; ".join(wrong))
    return 0


def _down(args) -> int:
    stopped = load(runtime_dir()).down()
    print("stopped: " + (", ".join(stopped) if stopped else "nothing (no service of this stack was running)"))
    return 0


def _status(args) -> int:
    asked = _ports(args)
    stack = load(runtime_dir(), asked)
    if asked not in (stack.ports, Ports()):
        print(f"socksort: note: showing the stack started in {runtime_dir()} with ports {vars(stack.ports)}, "
              f"not the ports asked for ({vars(asked)})", file=sys.stderr)
    report = stack.status()
    _print(report, args.json)
    return 3 if problems(report) else 0


def _print(report: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report, indent=2))
        return
    for name, entry in report.items():
        endpoint = next(v for k, v in entry.items() if k.endswith(("_url", "_servers")))
        if name == "mosquitto":
            endpoint = str(config.mqtt_url(endpoint))  # no password on screen; --json has it
        pid = entry["pid"] or "-"
        extra = entry.get("note") or ""
        if "connector" in entry:
            c = entry["connector"]
            extra = f"connector {c['name']}: {c['state']}" + (f", tasks {'/'.join(c['tasks'])}" if c.get("tasks") else "")
            if entry.get("worker") not in (None, "healthy"):
                extra = f"worker {entry['worker']}: {entry.get('worker_step', '')}; {extra}"
        print(f"{name:<10} {entry['state']:<13} pid {pid!s:<8} {endpoint}" + (f"  ({extra})" if extra else ""))
        for failure in (entry.get("connector") or {}).get("failures", []):
            print(f"{'':<10} {Failure(**failure)}")
