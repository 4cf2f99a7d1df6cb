"""``make lambda-zip``: the Greengrass v1 deployment zip the seed assembled by hand.

    python -m socksort.edge_lambda.package --model DIR --out build/socksort-edge-lambda.zip

The zip holds everything the function needs beyond MXNet, NumPy and OpenCV (which a
DeepLens has installed):

    lambda_function.py        the Greengrass v1 entry (function_handler; loop started at import)
    greengrass_component.py   the Greengrass v2 entry (edge_lambda/greengrass/recipe.json runs it)
    socksort/...              the shared modules it uses and socksort/edge_lambda/
    paho/, greengrasssdk/     vendored pure-Python dependencies, copied from this install
    model/                    the model folder: model.json, labels.txt and the weights
    edge-config.json          SOCKSORT_* settings (source awscam, topic, FIFO, ...)

The same bytes come out for the same inputs (sorted entries, fixed timestamps), and the
zip is written atomically.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import sys
import zipfile
from pathlib import Path

from socksort import atomic, modelcard
from socksort.contract import MODEL_FILES, MQTT_TOPIC
from socksort.errors import UserError

ROOT = Path(__file__).resolve().parent
# Shared modules the edge function imports (directly or through each other); never
# another stage's internals.
SHARED = ("__init__.py", "errors.py", "config.py", "contract.py", "schema.py", "modelcard.py",
          "preprocess.py", "atomic.py", "net.py")
# Only this stage's runtime modules: packaging and the CLI registration helpers are
# included because the Lambda validates its settings with the CLI's own options.
EDGE_SKIP = ("package.py",)
ENTRIES = ("lambda_function.py", "greengrass_component.py")
VENDORED = ("paho", "greengrasssdk")
FIXED_TIME = (2020, 1, 1, 0, 0, 0)

DEFAULT_SETTINGS = {
    "SOCKSORT_MODEL": "model",
    "SOCKSORT_SOURCE": "awscam",
    "SOCKSORT_RUNTIME": "auto",
    "SOCKSORT_MQTT_URL": "none",
    "SOCKSORT_TOPIC": MQTT_TOPIC,
    "SOCKSORT_EDGE_HTTP": "0.0.0.0:8081",
    "SOCKSORT_FIFO": "/tmp/results.mjpeg",
    "SOCKSORT_THRESHOLD": "0",
}


def bundle_files(model: Path, settings: dict) -> dict[str, bytes]:
    """Archive name -> content, for everything the zip holds."""
    card = modelcard.load(model)
    files: dict[str, bytes] = {}
    shared = Path(modelcard.__file__).resolve().parent
    for name in SHARED:
        files[f"socksort/{name}"] = (shared / name).read_bytes()
    for path in sorted(ROOT.glob("*.py")):
        if path.name not in EDGE_SKIP:
            files[f"socksort/edge_lambda/{path.name}"] = path.read_bytes()
    # Entries at the root: Greengrass v1 imports lambda_function, the v2 recipe runs
    # greengrass_component.py.
    for entry in ENTRIES:
        files[entry] = (ROOT / entry).read_bytes()
    for package in VENDORED:
        files.update(_package_files(package))
    weights = [name for name in MODEL_FILES if (model / name).is_file()]
    if not any(n in weights for n in ("model.onnx", "model-0000.params")):
        raise UserError(f"model folder {model} has neither model.onnx nor model-0000.params")
    for name in weights:
        files[f"model/{name}"] = (model / name).read_bytes()
    files["edge-config.json"] = (json.dumps({**DEFAULT_SETTINGS, **settings}, indent=2) + "\n").encode()
    files["BUILD-INFO.json"] = (json.dumps({"backbone": card.backbone, "classes": list(card.classes),
                                            "python": ">=3.9 (paho-mqtt 2)", "needs": ["mxnet or onnxruntime",
                                                                         "numpy", "opencv"]},
                                           indent=2) + "\n").encode()
    return files


def _package_files(package: str) -> dict[str, bytes]:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"cannot vendor {package}: it is not installed (pip install -e .)")
    base = Path(list(spec.submodule_search_locations)[0])
    return {f"{package}/{p.relative_to(base).as_posix()}": p.read_bytes()
            for p in sorted(base.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def build_zip(model: str | Path, out: str | Path, settings: dict | None = None) -> Path:
    files = bundle_files(Path(model), settings or {})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])
    atomic.write_bytes(out, buffer.getvalue())
    return Path(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m socksort.edge_lambda.package",
                                     description="Build the Greengrass v1 (DeepLens) deployment zip.")
    parser.add_argument("--model", required=True, help="model folder to ship in the zip")
    parser.add_argument("--out", default="build/socksort-edge-lambda.zip", help="zip to write")
    parser.add_argument("--set", action="append", default=[], metavar="SOCKSORT_NAME=VALUE",
                        help="a setting for edge-config.json (repeatable)")
    args = parser.parse_args(argv)
    try:
        settings = dict(_setting(text) for text in args.set)
        path = build_zip(args.model, args.out, settings)
    except UserError as exc:
        print(f"socksort: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
    return 0


def _setting(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.startswith("SOCKSORT_"):
        raise UserError(f"--set {text!r}: expected SOCKSORT_NAME=VALUE")
    return key, value


if __name__ == "__main__":
    sys.exit(main())
