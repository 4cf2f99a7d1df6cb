"""``make lambda-zip``: the Greengrass v1 deployment zip the seed assembled by hand.

    python -m socksort.edge_lambda.package --model DIR --out build/socksort-edge-lambda.zip

The zip holds everything the function needs beyond MXNet, NumPy and OpenCV (which a
DeepLens has installed):

    lambda_function.py        the Greengrass v1 entry (function_handler; loop started at import)
    greengrass_component.py   the Greengrass v2 entry (edge_lambda/greengrass/recipe.json runs it)
    socksort/...              the shared modules it uses and socksort/edge_lambda/
    paho/                     paho-mqtt, unpacked from its wheel (see below)
    typing_extensions.py      what paho needs on Python 3.7, unpacked from its wheel
    greengrasssdk/            the Greengrass v1 SDK, copied from this install
    model/                    the model folder: model.json, labels.txt and the weights
    edge-config.json          SOCKSORT_* settings (source awscam, topic, FIFO, ...)
    BUILD-INFO.json           the model's classes, the Python the zip needs, vendored versions

A DeepLens runs its Lambdas on Python 3.7, and the paho-mqtt this install uses (2.2 or
later) needs 3.9. So paho comes from the package registry instead: ``pip download
paho-mqtt==2.0.0`` (the last release for 3.7 with the v2 callback API MqttPublisher uses),
asked for a Python 3.7 wheel and kept in ``.cache/lambda-vendor/``; later builds reuse the
wheel and need no network. ``--paho VERSION`` picks another 2.x release. On 3.7 paho 2.0
imports ``typing_extensions`` (for ``Literal``) without declaring it, so its last release
for 3.7 comes the same way.

The same bytes come out for the same inputs (sorted entries, fixed timestamps), and the
zip is written atomically.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from socksort import atomic, modelcard, paths, progress
from socksort.contract import MODEL_FILES, MQTT_TOPIC
from socksort.errors import UserError

ROOT = Path(__file__).resolve().parent
# Shared modules the edge function imports (directly or through each other); never
# another stage's internals.
SHARED = ("__init__.py", "errors.py", "config.py", "contract.py", "schema.py", "modelcard.py",
          "preprocess.py", "localise.py", "onnx_session.py", "atomic.py", "net.py", "images.py",
          "mxnet_block.py", "modelstore.py", "paths.py")
# Only this stage's runtime modules: packaging and the CLI registration helpers are
# included because the Lambda validates its settings with the CLI's own options.
EDGE_SKIP = ("package.py",)
ENTRIES = ("lambda_function.py", "greengrass_component.py")
# Copied from this install: pure Python that runs on 3.7 as installed.
VENDORED = ("greengrasssdk",)
# The Python a DeepLens gives its Greengrass v1 Lambdas; everything in the zip must run on it.
DEVICE_PYTHON = "3.7"
# paho-mqtt 2.0.0: the first release with the v2 callback API MqttPublisher uses
# (CallbackAPIVersion.VERSION2, reason codes, on_connect_fail), Requires-Python >=3.7;
# 2.2 needs 3.9.
PAHO_VERSION = "2.0.0"
# paho 2.x falls back to typing_extensions.Literal where typing has none (3.7) but does
# not require it; 4.7.1 is its last release for 3.7.
TYPING_EXTENSIONS_VERSION = "4.7.1"
# What each wheel fetched for the device puts in the zip: its top-level entries, the first
# one checked for, so a damaged cached wheel is noticed rather than shipped.
WHEEL_CONTENTS = {"paho-mqtt": ("paho/mqtt/client.py", "paho/"),
                  "typing_extensions": ("typing_extensions.py",)}
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


def bundle_files(model: Path, settings: dict, wheels: dict[str, Path]) -> dict[str, bytes]:
    """Archive name -> content, for everything the zip holds.

    ``wheels`` maps each distribution fetched for the device to its wheel (``device_wheels``).
    """
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
    for project, wheel in wheels.items():
        files.update(_wheel_files(wheel, WHEEL_CONTENTS[project]))
    weights = [name for name in MODEL_FILES if (model / name).is_file()]
    if not any(n in weights for n in ("model.onnx", "model-0000.params")):
        raise UserError(f"model folder {model} has neither model.onnx nor model-0000.params")
    for name in weights:
        files[f"model/{name}"] = (model / name).read_bytes()
    files["edge-config.json"] = (json.dumps({**DEFAULT_SETTINGS, **settings}, indent=2) + "\n").encode()
    vendored = {**{project: _wheel_version(wheel) for project, wheel in wheels.items()},
                **{package: importlib.metadata.version(package) for package in VENDORED}}
    files["BUILD-INFO.json"] = (json.dumps({"backbone": card.backbone, "classes": list(card.classes),
                                            "python": f">={DEVICE_PYTHON}", "vendored": vendored,
                                            "needs": ["mxnet or onnxruntime", "numpy", "opencv"]},
                                           indent=2, sort_keys=True) + "\n").encode()
    return files


def device_wheels(paho: str = PAHO_VERSION, cache: Path | None = None) -> dict[str, Path]:
    """The wheels vendored for the device's Python, by distribution: cached, else fetched."""
    cache = Path(cache) if cache is not None else paths.cache_dir() / "lambda-vendor"
    return {"paho-mqtt": device_wheel("paho-mqtt", paho, cache),
            "typing_extensions": device_wheel("typing_extensions", TYPING_EXTENSIONS_VERSION, cache)}


def device_wheel(project: str, version: str, cache: Path) -> Path:
    """``project==version`` as a wheel for ``DEVICE_PYTHON``: from ``cache``, else fetched with pip.

    pip is asked for a wheel that declares support for ``DEVICE_PYTHON``, so a release
    that needs a newer Python is refused by the registry's own metadata, not by us.
    """
    pattern = f"{re.sub(r'[-_.]+', '_', project)}-{version}-*.whl"
    found = _first(cache, pattern)
    if found is not None:
        return found
    progress.step(f"fetching {project} {version} for Python {DEVICE_PYTHON} with pip into {cache}")
    cache.mkdir(parents=True, exist_ok=True)
    # Into a scratch folder first, so an interrupted download never looks like a cached wheel.
    with tempfile.TemporaryDirectory(dir=cache, prefix=".download-") as scratch:
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", f"{project}=={version}", "--no-deps",
             "--only-binary=:all:", "--python-version", DEVICE_PYTHON, "--dest", scratch,
             "--disable-pip-version-check", "--quiet"],
            capture_output=True, text=True)
        fetched = _first(Path(scratch), pattern)
        if result.returncode != 0 or fetched is None:
            said = [line.strip() for line in (result.stderr + result.stdout).splitlines() if line.strip()]
            reason = said[-1] if said else f"pip exited with {result.returncode}"
            raise UserError(f"cannot fetch {project} {version} for Python {DEVICE_PYTHON} ({reason}); "
                            f"build once with the package index reachable, "
                            f"or put its wheel ({pattern.replace('*', 'py3-none-any')}) in {cache}")
        target = cache / fetched.name
        os.replace(fetched, target)
    return target


def _first(folder: Path, pattern: str) -> Path | None:
    wheels = sorted(folder.glob(pattern)) if folder.is_dir() else []
    return wheels[0] if wheels else None


def _wheel_version(wheel: Path) -> str:
    return wheel.name.split("-")[1]


def _wheel_files(wheel: Path, contents: tuple[str, ...]) -> dict[str, bytes]:
    """The entries of ``wheel`` that ``contents`` names (a file, or a folder ending in /)."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            files = {name: archive.read(name) for name in sorted(archive.namelist())
                     if not name.endswith("/") and any(name == c or (c.endswith("/") and name.startswith(c))
                                                        for c in contents)}
    except (OSError, zipfile.BadZipFile) as exc:
        raise UserError(f"cannot read {wheel} ({exc}); delete it and build again") from None
    if contents[0] not in files:
        raise UserError(f"{wheel} holds no {contents[0]}; delete it and build again")
    return files


def _package_files(package: str) -> dict[str, bytes]:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"cannot vendor {package}: it is not installed (pip install -e .)")
    base = Path(list(spec.submodule_search_locations)[0])
    return {f"{package}/{p.relative_to(base).as_posix()}": p.read_bytes()
            for p in sorted(base.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def build_zip(model: str | Path, out: str | Path, settings: dict | None = None, *,
              paho: str = PAHO_VERSION, cache: Path | None = None) -> Path:
    """Write the zip; ``paho`` is the paho-mqtt release to vendor, ``cache`` where wheels are kept."""
    files = bundle_files(Path(model), settings or {}, device_wheels(paho, cache))
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
    parser.add_argument("--paho", default=PAHO_VERSION, metavar="VERSION",
                        help=f"paho-mqtt 2.x release to vendor; pip must find a wheel for Python "
                             f"{DEVICE_PYTHON} (default {PAHO_VERSION})")
    args = parser.parse_args(argv)
    try:
        settings = dict(_setting(text) for text in args.set)
        path = build_zip(args.model, args.out, settings, paho=_paho_version(args.paho))
    except UserError as exc:
        print(f"socksort: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
    return 0


def _paho_version(text: str) -> str:
    # 2.x only: MqttPublisher uses the v2 callback API, which 1.x does not have.
    if not re.fullmatch(r"2\.\d+\.\d+", text):
        raise UserError(f"--paho {text!r}: expected a paho-mqtt 2.x release such as {PAHO_VERSION}")
    return text


def _setting(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.startswith("SOCKSORT_"):
        raise UserError(f"--set {text!r}: expected SOCKSORT_NAME=VALUE")
    return key, value


if __name__ == "__main__":
    sys.exit(main())
