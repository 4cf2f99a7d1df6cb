"""The Greengrass v1 deployment zip: self-contained, and it runs from a clean directory
with nothing but itself, MXNet, NumPy and OpenCV on the path."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy
import pytest

from socksort.edge_lambda.package import build_zip
from socksort.schema import Prediction

from edge_fixtures import Subscriber

SITE = Path(numpy.__file__).resolve().parent.parent
# MXNet, NumPy and OpenCV, with what MXNet itself imports at start (requests, graphviz).
DEVICE_PACKAGES = ("mxnet", "numpy", "numpy.libs", "cv2", "opencv_python_headless.libs", "requests",
                   "urllib3", "idna", "charset_normalizer", "certifi", "graphviz")

AWSCAM_STAND_IN = '''"""Stand-in for the DeepLens awscam module: getLastFrame() plays AWSCAM_VIDEO like a camera."""
import os
import time

import cv2

_capture = None


def getLastFrame():
    global _capture
    if _capture is None:
        _capture = cv2.VideoCapture(os.environ["AWSCAM_VIDEO"])
    ok, frame = _capture.read()
    if not ok:  # a camera does not end: start the video again
        _capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
        ok, frame = _capture.read()
    time.sleep(0.02)
    return ok, frame
'''


@pytest.fixture(scope="module")
def lambda_zip(colour_model, tmp_path_factory):
    return build_zip(colour_model, tmp_path_factory.mktemp("zip") / "socksort-edge-lambda.zip")


def test_zip_holds_entry_shared_code_vendored_deps_model_and_config(lambda_zip):
    names = set(zipfile.ZipFile(lambda_zip).namelist())
    assert {"lambda_function.py", "edge-config.json", "model/labels.txt", "model/model.json",
            "model/model.onnx", "model/model-symbol.json", "model/model-0000.params",
            "socksort/schema.py", "socksort/edge_lambda/loop.py",
            "paho/mqtt/client.py", "greengrasssdk/IoTDataPlane.py"} <= names
    assert not any(n.startswith(("socksort/training", "socksort/im2rec", "socksort/connect", "socksort/stack"))
                   for n in names)


def test_the_same_inputs_build_the_same_zip(colour_model, lambda_zip, tmp_path):
    again = build_zip(colour_model, tmp_path / "again.zip")
    assert again.read_bytes() == lambda_zip.read_bytes()


def test_unpacked_zip_runs_isolated_against_awscam_and_the_real_broker(lambda_zip, mosquitto, rgb_video, tmp_path):
    bundle, deps, stand_ins = tmp_path / "bundle", tmp_path / "deps", tmp_path / "stand-ins"
    zipfile.ZipFile(lambda_zip).extractall(bundle)
    deps.mkdir()
    for name in DEVICE_PACKAGES:
        if (SITE / name).exists():
            (deps / name).symlink_to(SITE / name)
    stand_ins.mkdir()
    (stand_ins / "awscam.py").write_text(AWSCAM_STAND_IN)
    subscriber = Subscriber(mosquitto.url, "sockfound")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "AWSCAM_VIDEO": str(rgb_video),
           "SOCKSORT_MQTT_URL": mosquitto.url, "SOCKSORT_FRAMES": "12", "SOCKSORT_EDGE_HTTP": "none",
           "SOCKSORT_FIFO": str(tmp_path / "results.mjpeg"), "SOCKSORT_DEVICE": "deeplens-test"}
    # -I: no PYTHONPATH, no user site; -S: not even the venv's site-packages. The bundle
    # comes first, as Greengrass runs the function from its own folder.
    code = f"import sys; sys.path[:0] = {[str(bundle), str(deps), str(stand_ins)]!r}; import lambda_function"
    try:
        result = subprocess.run([sys.executable, "-I", "-S", "-c", code], cwd=bundle, env=env,
                                capture_output=True, text=True, timeout=120)
        payloads = subscriber.wait_for(12, timeout=20)
    finally:
        subscriber.close()
    assert result.returncode == 0, result.stderr
    assert "on mxnet" in result.stderr          # no onnxruntime on the path: auto chose MXNet
    assert "stopped after 12 frames" in result.stderr
    predictions = [Prediction.from_json(p) for p in payloads]
    assert [p.seq for p in predictions] == list(range(12))
    assert {p.device for p in predictions} == {"deeplens-test"}
    assert {p.image for p in predictions} <= {"red", "green", "blue"}
