"""`socksort edge --models STORE` as a user runs it: a real edge process following a model
store, a real Mosquitto receiving its predictions. A deploy switches the model between two
frames (the first prediction after carries the new id, ``seq`` runs on without a gap) while
the MQTT connection and the MJPEG stream carry on; a model that does not load is refused,
the serving one stays, and /status.json and /healthz say why.

The tests wait for a switch with a deadline; how long it took is the benchmark's business
(benchmarks/bench_hot_swap.py)."""

import json
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from socksort.edge_lambda.loop import EdgeConfig, EdgeLoop
from socksort.modelstore import ModelStore
from socksort.net import free_port, port_open

from edge_fixtures import CLASSES, Subscriber, get, start_in_thread, wait_until
from store_fixtures import CLASSES_B, ID_A, ID_B, ID_BROKEN, add_broken_model, add_model

pytestmark = pytest.mark.broker

DEVICE = "hot-swap-cam"
DEADLINE = 60   # seconds any one wait may take before the test gives up


@dataclass
class RunningEdge:
    process: subprocess.Popen
    url: str
    log: Path

    def status(self) -> dict:
        return json.loads(get(self.url + "/status.json")[1])

    def health(self) -> tuple[int, dict]:
        code, body = get(self.url + "/healthz")
        return code, json.loads(body)

    def stderr(self) -> str:
        return self.log.read_text()


@contextmanager
def edge_process(store: Path, source: Path, mqtt_url: str, folder: Path):
    port = free_port()
    log = folder / "edge.log"
    with open(log, "w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "socksort", "edge", "--models", str(store), "--source", str(source), "--loop",
             "--mqtt-url", mqtt_url, "--http", f"127.0.0.1:{port}", "--device", DEVICE, "--threads", "1"],
            cwd=folder, stdout=subprocess.DEVNULL, stderr=err)
    running = RunningEdge(process, f"http://127.0.0.1:{port}", log)
    try:
        assert wait_until(lambda: process.poll() is not None or port_open("127.0.0.1", port), DEADLINE)
        assert process.poll() is None, running.stderr()
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def subscriber(mosquitto):
    sub = Subscriber(mosquitto.url, "sockfound", client_id="hot-swap-subscriber")
    yield sub
    sub.close()


@pytest.fixture
def store(tmp_path, colour_model):
    """A store holding model A (the colour net) and model B (the same net under other class
    names), A deployed."""
    root = tmp_path / "store"
    add_model(root, ID_A, colour_model, created="2026-01-01T00:00:00Z")
    add_model(root, ID_B, colour_model, classes=CLASSES_B, created="2026-02-01T00:00:00Z")
    ModelStore(root).deploy(ID_A)
    return root


def predictions_after(subscriber, count: int, predicate=lambda p: True) -> list:
    """Wait until ``count`` predictions beyond those received so far satisfy ``predicate``
    (or the deadline passes); returns every prediction received, in seq order."""
    start = len(subscriber.payloads)
    wait_until(lambda: sum(map(predicate, subscriber.predictions()[start:])) >= count, DEADLINE)
    return sorted(subscriber.predictions(), key=lambda p: p.seq)


def models_in_order(predictions) -> list[str]:
    """The models in the order they served, each once per stretch (A, B means one switch)."""
    runs: list[str] = []
    for p in predictions:
        if not runs or runs[-1] != p.model:
            runs.append(p.model)
    return runs


def test_a_deploy_switches_the_model_between_two_frames_with_no_gap_in_seq(store, rgb_video, mosquitto, subscriber,
                                                                          tmp_path):
    with edge_process(store, rgb_video, mosquitto.url, tmp_path) as edge:
        predictions_after(subscriber, 5)
        ModelStore(store).deploy(ID_B)
        seen = predictions_after(subscriber, 5, lambda p: p.model == ID_B)
        assert edge.status()["model"]["id"] == ID_B, edge.stderr()
    assert [p.seq for p in seen] == list(range(len(seen)))
    assert models_in_order(seen) == [ID_A, ID_B]
    assert all(p.device == DEVICE for p in seen)
    # The id is not just a tag: what B says comes from B's labels, what A said from A's.
    assert {p.image for p in seen if p.model == ID_A} <= set(CLASSES)
    assert {p.image for p in seen if p.model == ID_B} <= set(CLASSES_B)


def test_the_mqtt_connection_carries_on_across_a_swap(store, rgb_video, mosquitto, subscriber, tmp_path):
    with edge_process(store, rgb_video, mosquitto.url, tmp_path) as edge:
        predictions_after(subscriber, 3)
        ModelStore(store).deploy(ID_B)
        predictions_after(subscriber, 3, lambda p: p.model == ID_B)
        outputs = edge.status()["outputs"]
        log = edge.stderr()
    # One connection, made at the start and never lost (each state change is one log line).
    assert log.count("mqtt connected") == 1 and "mqtt disconnected" not in log, log
    assert [(o["name"], o["state"], o["errors"]) for o in outputs] == [("mqtt", "connected", 0)]


class StreamReader:
    """One viewer on /stream.mjpg, reading parts until told to stop; counts what it got."""

    def __init__(self, url: str):
        import urllib.request
        self.parts = 0
        self.ended = ""
        self._stop = threading.Event()
        self._response = urllib.request.urlopen(url + "/stream.mjpg", timeout=20)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            while not self._stop.is_set():
                line = self._response.readline()
                if not line:
                    self.ended = "the stream ended"
                    return
                if line.lower().startswith(b"content-length:"):
                    self._response.readline()
                    self._response.read(int(line.split(b":")[1]))
                    self.parts += 1
        except OSError as exc:
            if not self._stop.is_set():
                self.ended = f"the stream broke: {exc}"

    def close(self) -> None:
        self._stop.set()
        self._response.close()
        self._thread.join(5)


def test_the_mjpeg_stream_keeps_delivering_frames_across_a_swap(store, rgb_video, mosquitto, subscriber, tmp_path):
    with edge_process(store, rgb_video, mosquitto.url, tmp_path) as edge:
        viewer = StreamReader(edge.url)
        try:
            assert wait_until(lambda: viewer.parts >= 3, DEADLINE)
            ModelStore(store).deploy(ID_B)
            predictions_after(subscriber, 1, lambda p: p.model == ID_B)
            after_swap = viewer.parts
            assert wait_until(lambda: viewer.parts >= after_swap + 5 or viewer.ended, DEADLINE)
        finally:
            viewer.close()
    assert viewer.ended == ""
    assert viewer.parts >= after_swap + 5


def test_a_model_that_does_not_load_is_refused_and_the_old_one_keeps_serving(store, rgb_video, mosquitto,
                                                                            subscriber, tmp_path, colour_model):
    add_broken_model(store, ID_BROKEN, colour_model, "garbled onnx")
    with edge_process(store, rgb_video, mosquitto.url, tmp_path) as edge:
        predictions_after(subscriber, 3)
        ModelStore(store).deploy(ID_BROKEN)
        assert wait_until(lambda: edge.status()["model"]["error"], DEADLINE), edge.stderr()
        model = edge.status()["model"]
        code, health = edge.health()
        refused_at = len(subscriber.payloads)
        seen = predictions_after(subscriber, 5)
    assert model["id"] == ID_A and model["error"].startswith(f"model {ID_BROKEN} refused: ")
    assert "model.onnx" in model["error"]
    assert code == 503 and health["model"] == ID_A and model["error"] in health["problems"]
    assert {p.model for p in seen[refused_at:]} == {ID_A}
    assert [p.seq for p in seen] == list(range(len(seen)))


def test_a_good_deploy_after_a_refused_one_serves_and_clears_the_error(store, rgb_video, mosquitto, subscriber,
                                                                      tmp_path, colour_model):
    add_broken_model(store, ID_BROKEN, colour_model, "too few labels")
    with edge_process(store, rgb_video, mosquitto.url, tmp_path) as edge:
        predictions_after(subscriber, 3)
        ModelStore(store).deploy(ID_BROKEN)
        assert wait_until(lambda: edge.status()["model"]["error"], DEADLINE), edge.stderr()
        ModelStore(store).deploy(ID_B)
        seen = predictions_after(subscriber, 3, lambda p: p.model == ID_B)
        model = edge.status()["model"]
        code, health = edge.health()
    assert model["id"] == ID_B and model["error"] == "" and model["classes"] == list(CLASSES_B)
    assert code == 200 and health["problems"] == []
    assert models_in_order(seen) == [ID_A, ID_B]
    assert [p.seq for p in seen] == list(range(len(seen)))


def test_an_empty_store_is_waited_on_and_its_first_model_served(rgb_video, mosquitto, subscriber, tmp_path,
                                                                colour_model):
    store = tmp_path / "empty-store"
    with edge_process(store, rgb_video, mosquitto.url, tmp_path) as edge:
        model = edge.status()["model"]
        code, health = edge.health()
        raw_code, raw = get(edge.url + "/snapshot.jpg?raw=1")   # the camera runs meanwhile
        add_model(store, ID_A, colour_model)
        seen = predictions_after(subscriber, 3, lambda p: p.model == ID_A)
        serving = edge.status()["model"]
    assert model["id"] is None and "waiting" in model["waiting"] and str(store) in model["waiting"]
    assert code == 503 and model["waiting"] in health["problems"]
    assert raw_code == 200 and raw[:2] == b"\xff\xd8"
    assert serving["id"] == ID_A and serving["waiting"] == ""
    assert {p.model for p in seen} == {ID_A} and seen[0].seq == 0


def test_model_and_models_together_are_a_one_line_error(run_cli, colour_model, rgb_video, tmp_path):
    result = run_cli("edge", "--model", colour_model, "--models", tmp_path, "--source", rgb_video)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"socksort: error: --model {colour_model} and --models {tmp_path} both given")


def test_neither_model_nor_models_is_a_one_line_error(run_cli, rgb_video):
    result = run_cli("edge", "--source", rgb_video)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "socksort: error: --model DIR or --models STORE is required (or set SOCKSORT_MODEL / SOCKSORT_MODELS)")


def test_models_from_the_environment_is_followed(store, rgb_video, mosquitto, subscriber, tmp_path, run_cli):
    result = run_cli("edge", "--source", rgb_video, "--mqtt-url", mosquitto.url, "--http", "none",
                     "--frames", "3", "--unthrottled", "--json", env={"SOCKSORT_MODELS": str(store)}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["model"]["id"] == ID_A
    assert {p.model for p in subscriber.predictions()} == {ID_A}


def test_a_fixed_model_folder_stamps_its_id_on_every_prediction(store, rgb_video, mosquitto, subscriber, run_cli):
    result = run_cli("edge", "--model", store / ID_B, "--source", rgb_video, "--mqtt-url", mosquitto.url,
                     "--http", "none", "--frames", "3", "--unthrottled", timeout=120)
    assert result.returncode == 0, result.stderr
    subscriber.wait_for(3)
    assert [p.model for p in subscriber.predictions()] == [ID_B] * 3


def test_mxnet_models_swap_back_and_forth_while_frames_run_unthrottled(store, rgb_video):
    """MXNet loads (bind, warm-up) on the follower's thread while the inference thread runs
    the serving model's executor as fast as it can: swaps must neither crash nor mix up."""
    edge = EdgeLoop(EdgeConfig(model=None, models=store, source=str(rgb_video), loop=True, unthrottled=True,
                               runtime="mxnet")).start()
    runner = start_in_thread(edge)
    served = []
    try:
        for want in (ID_B, ID_A) * 3:
            ModelStore(store).deploy(want)
            assert wait_until(lambda: edge.latest is not None and edge.latest.model == want, DEADLINE), \
                edge.follower.error
            served.append(edge.latest)
    finally:
        edge.request_stop()
        runner.join(10)
        edge.stop()
    assert edge.status().runtime == "mxnet" and edge.follower.error == ""
    assert [p.model for p in served] == [ID_B, ID_A] * 3
    assert all(p.image in (CLASSES_B if p.model == ID_B else CLASSES) for p in served)
