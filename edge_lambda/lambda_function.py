"""Greengrass v1 entry point (what an AWS DeepLens runs): ``lambda_function.function_handler``.

A DeepLens inference function is a *pinned*, long-lived Lambda: Greengrass imports the
module once and the work happens in a loop started at import; the handler itself is never
given real events. The deployment zip (``make lambda-zip``) puts this file at its root as
``lambda_function.py``, next to the vendored ``socksort``/``paho``/``greengrasssdk`` packages,
the model folder and ``edge-config.json``.

``edge-config.json`` holds ``SOCKSORT_*`` settings, the same variables ``socksort edge``
reads; variables set in the Lambda's environment win over the file. Under Greengrass
(``AWS_IOT_THING_NAME`` set) predictions also go to ``$aws/things/<thing>/infer``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from pathlib import Path

from socksort import config
from socksort.edge_lambda import cli
from socksort.edge_lambda.loop import run_edge
from socksort.errors import UserError

CONFIG_FILE = "edge-config.json"
HERE = Path(__file__).resolve().parent


def apply_settings(folder: Path = HERE, environ=os.environ) -> dict:
    """Load ``edge-config.json`` into the environment without overriding what is set.

    Relative paths in SOCKSORT_MODEL are relative to the bundle, wherever Greengrass put it.
    """
    path = folder / CONFIG_FILE
    settings = json.loads(path.read_text()) if path.is_file() else {}
    for key, value in settings.items():
        if value is None:
            continue
        if key == "SOCKSORT_MODEL" and not os.path.isabs(str(value)):
            value = str(folder / value)
        environ.setdefault(key, str(value))
    return settings


def edge_config():
    """The EdgeConfig the environment describes, validated like ``socksort edge``'s flags."""
    parser = argparse.ArgumentParser(prog="lambda_function")
    cli.register(parser.add_subparsers(dest="command"))
    args = config.resolve(parser.parse_args(["edge"]))
    if args.device == cli.HOSTNAME and os.environ.get("AWS_IOT_THING_NAME"):
        args.device = os.environ["AWS_IOT_THING_NAME"]
    return cli.edge_config(args)


def run() -> int:
    """Run the edge loop to its end; 0, or 2 after printing a one-line reason it could not."""
    try:
        edge = run_edge(edge_config())
    except UserError as exc:
        # Greengrass keeps the log; a one-line reason is what the operator needs there.
        print(f"socksort edge: error: {exc}", file=sys.stderr, flush=True)
        return 2
    status = edge.status()
    print(f"socksort edge: stopped after {status.classified} frames: "
          f"{json.dumps([out.to_dict() for out in status.outputs])}", file=sys.stderr, flush=True)
    return 0


def function_handler(event, context):
    """Pinned functions get no work through here; the loop started at import does it."""
    return None


def start() -> threading.Thread:
    apply_settings()
    # Not a daemon: Greengrass keeps a pinned function's process alive, and a plain
    # `python -c "import lambda_function"` must also keep running until the loop ends.
    thread = threading.Thread(target=run, name="socksort-edge", daemon=False)
    thread.start()
    return thread


# Greengrass imports the bundle's copy as the top-level module `lambda_function`; only
# then does the long-running loop start (importing socksort.edge_lambda.lambda_function
# from the package, as the tests do, starts nothing).
if __name__ == "lambda_function":
    LOOP = start()
