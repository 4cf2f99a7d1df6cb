"""The deployment zip runs on the DeepLens's Python 3.7: paho-mqtt 2.0.0 and the
typing_extensions it needs there come from the package registry (cached in
.cache/lambda-vendor/), everything zipped parses as 3.7, our code calls no stdlib API newer
than 3.7 that we know to look for, and the vendored paho publishes through MqttPublisher to
a real broker. No Python 3.7 runs here: the run-time tests use this venv's Python with the
zip first on sys.path."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import warnings
import zipfile

import pytest

from socksort.edge_lambda import package
from socksort.edge_lambda.package import build_zip, device_wheels
from socksort.errors import UserError
from socksort.schema import Prediction

DEVICE = (3, 7)
VENDORED = ("paho/", "greengrasssdk/", "typing_extensions.py")

# What Python 3.7 lacks that ast.parse(feature_version=(3, 7)) does not reject, because it
# is not grammar. Checked by name in our zipped code; a short list, not a full audit.
NEWER_MODULE_NAMES = {
    ("math", "prod"): "3.8", ("math", "isqrt"): "3.8", ("math", "dist"): "3.8",
    ("math", "comb"): "3.8", ("math", "perm"): "3.8", ("shlex", "join"): "3.8",
    ("functools", "cached_property"): "3.8", ("functools", "singledispatchmethod"): "3.8",
    ("functools", "cache"): "3.9", ("statistics", "fmean"): "3.8", ("statistics", "quantiles"): "3.8",
    ("typing", "Literal"): "3.8", ("typing", "Protocol"): "3.8", ("typing", "TypedDict"): "3.8",
    ("typing", "Final"): "3.8", ("typing", "get_origin"): "3.8", ("typing", "get_args"): "3.8",
    ("threading", "get_native_id"): "3.8", ("socket", "create_server"): "3.8",
    ("asyncio", "to_thread"): "3.9", ("os", "waitstatus_to_exitcode"): "3.9",
    ("itertools", "pairwise"): "3.10",
}
NEWER_MODULES = {"importlib.metadata": "3.8", "zoneinfo": "3.9", "graphlib": "3.9", "tomllib": "3.11"}
NEWER_METHODS = {"removeprefix": "3.9", "removesuffix": "3.9", "is_relative_to": "3.9",
                 "with_stem": "3.9", "bit_count": "3.10", "hardlink_to": "3.10"}
NEWER_KEYWORDS = {"missing_ok": "3.8 (Path.unlink)", "dirs_exist_ok": "3.8 (shutil.copytree)"}
NEWER_CALL_KEYWORDS = {("zip", "strict"): "3.10", ("dataclass", "slots"): "3.10",
                       ("dataclass", "kw_only"): "3.10", ("basicConfig", "force"): "3.8"}
TYPE_NAMES = {"int", "float", "str", "bytes", "bool", "list", "dict", "tuple", "set", "frozenset", "type"}
GENERIC_BUILTINS = {"list", "dict", "tuple", "set", "frozenset", "type"}


def newer_than_python_3_7(source: str) -> list[str]:
    """Uses of the names above, plus typing syntax that 3.7 would evaluate and reject: ``X | Y``
    with None or a builtin type, or with a dict on either side (dict union), and ``list[int]``
    and friends, outside annotations (annotations count only without the PEP 563 import)."""
    tree = ast.parse(source)
    postponed = any(isinstance(node, ast.ImportFrom) and node.module == "__future__"
                    and any(alias.name == "annotations" for alias in node.names) for node in tree.body)
    annotations: set[int] = set()
    if postponed:
        for node in ast.walk(tree):
            if isinstance(node, ast.arg) and node.annotation is not None:
                annotations.update(id(n) for n in ast.walk(node.annotation))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
                annotations.update(id(n) for n in ast.walk(node.returns))
            elif isinstance(node, ast.AnnAssign):
                annotations.update(id(n) for n in ast.walk(node.annotation))
    found = []

    def name_of(node) -> str | None:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute):
            return node.attr
        return None

    def is_type(node) -> bool:
        return (isinstance(node, ast.Constant) and node.value is None) or name_of(node) in TYPE_NAMES

    def is_dict(node) -> bool:
        return isinstance(node, ast.Dict) or (isinstance(node, ast.Call) and name_of(node.func) == "dict")

    for node in ast.walk(tree):
        where = f"line {getattr(node, 'lineno', '?')}"
        if id(node) in annotations:
            continue
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and (node.value.id, node.attr) in NEWER_MODULE_NAMES:
                found.append(f"{where}: {node.value.id}.{node.attr} "
                             f"(Python {NEWER_MODULE_NAMES[node.value.id, node.attr]})")
            if node.attr in NEWER_METHODS:
                found.append(f"{where}: .{node.attr}() (Python {NEWER_METHODS[node.attr]})")
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module in NEWER_MODULES:
                found.append(f"{where}: import {node.module} (Python {NEWER_MODULES[node.module]})")
            for alias in node.names:
                if (node.module, alias.name) in NEWER_MODULE_NAMES:
                    found.append(f"{where}: from {node.module} import {alias.name} "
                                 f"(Python {NEWER_MODULE_NAMES[node.module, alias.name]})")
                if f"{node.module}.{alias.name}" in NEWER_MODULES:
                    found.append(f"{where}: import {node.module}.{alias.name} "
                                 f"(Python {NEWER_MODULES[f'{node.module}.{alias.name}']})")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in NEWER_MODULES:
                    found.append(f"{where}: import {alias.name} (Python {NEWER_MODULES[alias.name]})")
        elif isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg in NEWER_KEYWORDS:
                    found.append(f"{where}: {keyword.arg}= (Python {NEWER_KEYWORDS[keyword.arg]})")
                if (name_of(node.func), keyword.arg) in NEWER_CALL_KEYWORDS:
                    found.append(f"{where}: {name_of(node.func)}({keyword.arg}=) "
                                 f"(Python {NEWER_CALL_KEYWORDS[name_of(node.func), keyword.arg]})")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            if is_type(node.left) or is_type(node.right):
                found.append(f"{where}: X | Y of types evaluated at run time (Python 3.10)")
            elif is_dict(node.left) or is_dict(node.right):
                found.append(f"{where}: dict | dict (Python 3.9)")
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
                and node.value.id in GENERIC_BUILTINS:
            found.append(f"{where}: {node.value.id}[...] evaluated at run time (Python 3.9)")
    return found


@pytest.fixture(scope="module")
def lambda_zip(colour_model, tmp_path_factory):
    return build_zip(colour_model, tmp_path_factory.mktemp("zip") / "socksort-edge-lambda.zip")


@pytest.fixture(scope="module")
def wheels():
    """The wheels fetched for the device, from the project's cache (pip fills it the first time)."""
    return device_wheels()


def wheel_entries(wheel, prefix: str) -> dict[str, bytes]:
    with zipfile.ZipFile(wheel) as archive:
        return {name: archive.read(name) for name in archive.namelist() if name.startswith(prefix)}


def python_sources(path, ours_only: bool = False) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name).decode("utf-8") for name in archive.namelist()
                if name.endswith(".py") and not (ours_only and name.startswith(VENDORED))}


def paho_entries(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist() if name.startswith("paho/")}


def test_every_python_file_in_the_zip_parses_with_python_3_7_grammar(lambda_zip):
    sources = python_sources(lambda_zip)
    assert {"lambda_function.py", "socksort/edge_lambda/publish.py", "paho/mqtt/client.py",
            "typing_extensions.py", "greengrasssdk/IoTDataPlane.py"} <= set(sources)
    rejected = {}
    for name, source in sources.items():
        try:
            with warnings.catch_warnings():   # greengrasssdk's "\w" in plain strings: 3.7 allows it
                warnings.simplefilter("ignore", SyntaxWarning)
                ast.parse(source, filename=name, feature_version=DEVICE)
        except SyntaxError as exc:
            rejected[name] = f"line {exc.lineno}: {exc.msg}"
    assert rejected == {}


def test_our_zipped_code_calls_no_listed_stdlib_api_newer_than_python_3_7(lambda_zip):
    sources = python_sources(lambda_zip, ours_only=True)
    assert "socksort/edge_lambda/loop.py" in sources and "paho/mqtt/client.py" not in sources
    found = {name: hits for name, source in sources.items() if (hits := newer_than_python_3_7(source))}
    assert found == {}


def test_the_api_check_spots_what_python_3_7_lacks():
    source = "\n".join([
        "import math, tomllib",
        "from functools import cache",
        "from importlib import metadata",
        "def f(a: int | None, b):",
        "    return isinstance(a, int | None), math.prod(b), 'x'.removeprefix('y'), {} | dict(b)",
        "Alias = list[int]",
        "path.unlink(missing_ok=True)",
        "zip(a, b, strict=True)",
    ])
    found = newer_than_python_3_7(source)
    for expected in ("tomllib", "from functools import cache", "importlib.metadata", "line 4: X | Y",
                     "line 5: X | Y", "math.prod", ".removeprefix()", "dict | dict", "list[...]",
                     "missing_ok=", "zip(strict=)"):
        assert any(expected in hit for hit in found), expected
    assert newer_than_python_3_7("from __future__ import annotations\n"
                                 "def f(a: int | None) -> list[int]:\n    x: dict[str, int] = {}\n") == []


def test_zip_vendors_paho_unpacked_from_the_2_0_0_wheel(lambda_zip, wheels):
    assert wheels["paho-mqtt"].name == "paho_mqtt-2.0.0-py3-none-any.whl"
    from_wheel = wheel_entries(wheels["paho-mqtt"], "paho/")
    assert paho_entries(lambda_zip) == from_wheel
    assert b'__version__ = "2.0.0"' in from_wheel["paho/mqtt/__init__.py"]


def test_zip_vendors_typing_extensions_4_7_1_which_paho_imports_on_python_3_7(lambda_zip, wheels):
    assert wheels["typing_extensions"].name == "typing_extensions-4.7.1-py3-none-any.whl"
    from_wheel = wheel_entries(wheels["typing_extensions"], "typing_extensions")
    assert set(from_wheel) >= {"typing_extensions.py"}
    assert zipfile.ZipFile(lambda_zip).read("typing_extensions.py") == from_wheel["typing_extensions.py"]


def test_build_info_states_python_3_7_and_the_vendored_versions(lambda_zip):
    info = json.loads(zipfile.ZipFile(lambda_zip).read("BUILD-INFO.json"))
    assert info["python"] == ">=3.7"
    assert info["vendored"] == {"paho-mqtt": "2.0.0", "typing_extensions": "4.7.1",
                                "greengrasssdk": importlib.metadata.version("greengrasssdk")}


def test_cached_wheels_build_the_zip_without_the_package_index(colour_model, wheels, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    for wheel in wheels.values():
        shutil.copy(wheel, cache / wheel.name)
    monkeypatch.setenv("PIP_NO_INDEX", "1")   # any pip call would now fail
    built = build_zip(colour_model, tmp_path / "offline.zip", cache=cache)
    assert b'__version__ = "2.0.0"' in paho_entries(built)["paho/mqtt/__init__.py"]


def test_without_the_index_or_a_cached_wheel_the_build_says_what_to_do(colour_model, tmp_path, monkeypatch):
    cache, out = tmp_path / "cache", tmp_path / "never.zip"
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    with pytest.raises(UserError) as raised:
        build_zip(colour_model, out, cache=cache)
    message = str(raised.value)
    assert "\n" not in message
    assert "paho-mqtt 2.0.0" in message and "package index" in message
    assert f"put its wheel (paho_mqtt-2.0.0-py3-none-any.whl) in {cache}" in message
    assert list(cache.iterdir()) == [] and not out.exists()   # no half-downloaded wheel, no zip


def test_a_paho_release_without_the_v2_callback_api_is_a_one_line_error(colour_model, tmp_path, capsys):
    out = tmp_path / "never.zip"
    code = package.main(["--model", str(colour_model), "--out", str(out), "--paho", "1.6.1"])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert err == "socksort: error: --paho '1.6.1': expected a paho-mqtt 2.x release such as 2.0.0\n"


PUBLISH_THROUGH_THE_ZIP = '''
import json, sys
zip_path, url, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.path.insert(0, zip_path)   # the function's root first, as Greengrass runs it
import paho.mqtt
import socksort
from socksort.config import mqtt_url
from socksort.edge_lambda.publish import MqttPublisher
from socksort.schema import Prediction
publisher = MqttPublisher(mqtt_url(url), "sockfound").start()
if not publisher.wait_connected(15):
    sys.exit("never connected: " + publisher.last_error)
for seq in range(count):
    publisher.publish(Prediction("red", 97.5, 1700000000000 + seq, "zip-test", seq).to_json())
flushed = publisher.flush(15)
publisher.stop()
print(json.dumps({"paho_version": paho.mqtt.__version__, "paho_file": paho.mqtt.__file__,
                  "socksort_file": socksort.__file__, "flushed": flushed, "published": publisher.published}))
'''


@pytest.mark.broker
def test_vendored_paho_from_the_zip_publishes_through_mqtt_publisher_to_mosquitto(lambda_zip, mosquitto, tmp_path):
    from edge_fixtures import Subscriber

    subscriber = Subscriber(mosquitto.url, "sockfound", client_id="zip-paho-subscriber")
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    try:
        # Not -S: MXNet, NumPy and OpenCV would come from the device; here site-packages,
        # after the zip, stands in for them (and holds paho 2.2, which must not be used).
        result = subprocess.run([sys.executable, "-c", PUBLISH_THROUGH_THE_ZIP, str(lambda_zip),
                                 mosquitto.url, "5"], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=60)
        payloads = subscriber.wait_for(5, timeout=15)
    finally:
        subscriber.close()
    assert result.returncode == 0, result.stderr
    ran = json.loads(result.stdout)
    assert ran["paho_version"] == "2.0.0"
    assert ran["paho_file"].startswith(str(lambda_zip)) and ran["socksort_file"].startswith(str(lambda_zip))
    assert ran["flushed"] and ran["published"] == 5
    assert [Prediction.from_json(p).seq for p in payloads] == list(range(5))


IMPORT_WITHOUT_TYPING_LITERAL = '''
import json, sys, typing
sys.path.insert(0, sys.argv[1])
import typing_extensions   # on 3.11 it binds typing's Literal, so import it before hiding that
del typing.Literal         # Python 3.7's typing has none: paho falls back to typing_extensions
import paho.mqtt.client as mqtt
from socksort.edge_lambda.publish import MqttPublisher
print(json.dumps({"typing_extensions_file": typing_extensions.__file__,
                  "paho_literal_from_typing_extensions": mqtt.Literal is typing_extensions.Literal}))
'''


def test_vendored_paho_imports_where_typing_has_no_literal_as_on_python_3_7(lambda_zip, tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    result = subprocess.run([sys.executable, "-c", IMPORT_WITHOUT_TYPING_LITERAL, str(lambda_zip)],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    ran = json.loads(result.stdout)
    assert ran["typing_extensions_file"].startswith(str(lambda_zip))
    assert ran["paho_literal_from_typing_extensions"]
