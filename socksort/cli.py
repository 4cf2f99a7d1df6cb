"""``socksort <command>``: the one entry point, and its command table.

Each module of :data:`COMMANDS` exposes ``register(subparsers)``; it adds its subcommands
and sets ``func`` on each to a function ``(args) -> int | None``. They are the stages'
``cli`` modules, then ``socksort.demo``: the top-level application, which drives every
stage and is imported by nothing but this table. Those modules import their heavy
dependencies (MXNet, OpenCV, Kafka clients) inside the command functions, so
``socksort --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from socksort import __version__, config
from socksort.errors import UserError

COMMANDS = (
    "socksort.im2rec.cli",
    "socksort.training.cli",
    "socksort.edge_lambda.cli",
    "socksort.edge_lambda.fleet_cli",
    "socksort.stack.cli",
    "socksort.ksql.cli",
    "socksort.dashboard.cli",
    "socksort.demo",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="socksort",
        description="Teach a camera to recognise your socks and tell you which ones make a pair.")
    parser.add_argument("--version", action="version", version=f"socksort {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="<command>")
    commands.required = True
    for name in COMMANDS:
        importlib.import_module(name).register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config.resolve(args)
        status = args.func(args)
    except UserError as exc:
        print(f"socksort: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("socksort: interrupted", file=sys.stderr)
        return 130
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())
