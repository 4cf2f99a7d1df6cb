"""`socksort edge` as a user runs it: a clean run, and one-line errors for bad input."""

import json
import shutil
import signal
import subprocess
import sys

import pytest

from socksort.modelcard import ModelCard, load
from socksort.net import free_port, port_open

from edge_fixtures import get, wait_until


def test_edge_classifies_a_video_and_publishes_every_frame(run_cli, mosquitto, colour_model, rgb_video):
    result = run_cli("edge", "--model", colour_model, "--source", rgb_video, "--mqtt-url", mosquitto.url,
                     "--http", "none", "--unthrottled", "--json", timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["classified"] == 30
    assert [(o["name"], o["published"], o["dropped"]) for o in report["outputs"]] == [("mqtt", 30, 0)]


def test_missing_model_folder_is_a_one_line_error(run_cli, rgb_video, tmp_path):
    result = run_cli("edge", "--model", tmp_path / "nowhere", "--source", rgb_video)
    assert result.returncode == 2
    assert "--model" in result.stderr and "no such folder" in result.stderr


def test_unreadable_source_is_a_one_line_error(run_cli, colour_model, tmp_path):
    broken = tmp_path / "broken.avi"
    broken.write_bytes(b"not a video")
    result = run_cli("edge", "--model", colour_model, "--source", broken, "--http", "none", "--mqtt-url", "none")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == f"socksort: error: cannot open video source {broken}"


def test_labels_that_do_not_fit_the_model_are_a_one_line_error(run_cli, colour_model, rgb_video, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(colour_model, folder)
    card = load(folder)
    ModelCard(backbone=card.backbone, classes=("red", "green"), preprocess=card.preprocess).save(folder)
    result = run_cli("edge", "--model", folder, "--source", rgb_video, "--http", "none", "--mqtt-url", "none")
    assert result.returncode == 2
    assert "outputs 3 scores but labels.txt lists 2 classes" in result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("variable, value", [("SOCKSORT_THRESHOLD", "high"), ("SOCKSORT_RUNTIME", "tensorrt"),
                                             ("SOCKSORT_MQTT_URL", "http://broker")])
def test_bad_settings_from_the_environment_name_the_variable(run_cli, colour_model, rgb_video, variable, value):
    result = run_cli("edge", "--model", colour_model, "--source", rgb_video, env={variable: value})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(f"socksort: error: {variable}={value!r}")


def test_an_unreachable_broker_is_reported_and_what_was_not_delivered_counted(run_cli, colour_model, rgb_video):
    port = free_port()
    result = run_cli("edge", "--model", colour_model, "--source", rgb_video, "--unthrottled", "--http", "none",
                     "--mqtt-url", f"mqtt://nobody:secret@127.0.0.1:{port}", "--frames", "10", timeout=120)
    assert "mqtt disconnected: cannot reach the broker at mqtt://nobody@127.0.0.1:" in result.stderr
    assert "mqtt: 0 published, 10 undelivered, 0 dropped" in result.stderr
    assert "secret" not in result.stderr


def test_a_run_that_did_not_deliver_every_prediction_exits_non_zero_saying_so(run_cli, colour_model, rgb_video):
    port = free_port()
    result = run_cli("edge", "--model", colour_model, "--source", rgb_video, "--unthrottled", "--http", "none",
                     "--mqtt-url", f"mqtt://127.0.0.1:{port}", "--frames", "10", "--json", timeout=120)
    assert result.returncode == 1
    assert json.loads(result.stdout)["outputs"][0]["published"] == 0
    assert result.stderr.strip().splitlines()[-1] == (
        f"socksort: error: mqtt delivered 0 of 10 predictions (cannot reach the broker at mqtt://127.0.0.1:{port})")


def test_sigterm_stops_a_looping_edge_cleanly_with_its_summary(colour_model, rgb_video, tmp_path):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "socksort", "edge", "--model", str(colour_model),
                                "--source", str(rgb_video), "--loop", "--mqtt-url", "none",
                                "--http", f"127.0.0.1:{port}"],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: healthy(port), timeout=60)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "socksort edge: live page on" in err and "classified" in err.strip().splitlines()[-1]


def healthy(port: int) -> bool:
    return port_open("127.0.0.1", port) and get(f"http://127.0.0.1:{port}/healthz", timeout=2)[0] == 200
