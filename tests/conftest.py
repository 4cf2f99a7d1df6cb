"""Fixtures shared by every stage's tests.

Tests live in ``tests/<stage>/``; pytest runs with ``--import-mode=importlib``, so test
modules may share file names across folders. Services are real: a test that needs a
broker starts the project's own launcher on free ports under ``tmp_path``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from small_heads import TEST_HEAD_SCENES
from worker_groups import group_of

ROOT = Path(__file__).resolve().parent.parent


# As each test is collected: xdist reads the groups in its pytest_collection_modifyitems.
def pytest_itemcollected(item):
    group = group_of(getattr(item, "fixturenames", ()))  # a doctest has none
    if group is not None:
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture
def run_cli(tmp_path):
    """Run ``socksort ARGS...`` as a user would (a separate process) and return the result."""
    def run(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 600,
            check: bool = False) -> subprocess.CompletedProcess:
        full_env = {**os.environ, **(env or {})}
        result = subprocess.run([sys.executable, "-m", "socksort", *map(str, args)],
                                cwd=cwd or tmp_path, env=full_env, capture_output=True,
                                text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"socksort {' '.join(map(str, args))} failed "
                                 f"({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result
    return run


@pytest.fixture
def truncated_jpeg(tmp_path):
    """A real JPEG photo cut short at two thirds, as an interrupted copy leaves it: the
    trap of issue 11, which ``cv2.imread`` still reads (the missing rows grey)."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(11)
    photo = cv2.resize(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8), (160, 120))
    data = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
    path = tmp_path / "cut-short.jpg"
    path.write_bytes(data[: len(data) * 2 // 3])
    assert cv2.imread(str(path)) is not None, "OpenCV no longer reads a cut JPEG: the trap is gone"
    return path


# --- brokers (the local stack, socksort.stack) ---------------------------------------

@pytest.fixture
def mosquitto(tmp_path):
    """A started Mosquitto (``socksort.stack.mosquitto.Mosquitto``) on a free port.

    Its files live under ``tmp_path / "mosquitto"``; it is stopped after the test.
    Attributes: ``url`` (``mqtt://socksort:<password>@127.0.0.1:<port>``, parse it with
    ``socksort.config.mqtt_url``), ``host``, ``port``, ``username``, ``password``, ``pid``,
    and ``restart()`` / ``stop()`` for tests about reconnection.
    """
    from socksort.stack.mosquitto import Mosquitto
    from socksort.net import free_port

    broker = Mosquitto(tmp_path / "mosquitto", port=free_port())
    broker.die_with_parent = True  # even a killed test run leaks no broker
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def tls_mosquitto(tmp_path_factory):
    """A started Mosquitto with a TLS listener next to the plain one, its certificate for
    127.0.0.1/localhost signed by a throwaway test CA; shared by the session, so publish
    under a topic or device of your own.

    Attributes as ``mosquitto``'s, plus ``tls_port``, ``tls_url``
    (``mqtts://socksort:<password>@127.0.0.1:<tls_port>``) and ``tls`` (``cafile``,
    ``certfile``, ``keyfile``: the CA a client must trust is ``tls.cafile``).
    """
    from certificates import make_test_certificates

    from socksort.stack.mosquitto import Mosquitto
    from socksort.net import free_port

    folder = tmp_path_factory.mktemp("tls-mosquitto")
    port, tls_port = free_port(), free_port()
    while tls_port == port:
        tls_port = free_port()
    broker = Mosquitto(folder / "mosquitto", port=port, tls=make_test_certificates(folder / "tls"),
                       tls_port=tls_port)
    broker.die_with_parent = True
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """The whole local streaming stack, started once per test session on free ports.

    Mosquitto + Kafka (KRaft) + a Kafka Connect worker (exactly-once source support on)
    running our MQTT source connector ``socksort-mqtt`` (MQTT ``sockfound`` → Kafka
    ``data_mqtt``), plus the ksql engine when the ksql package has its server. It is shared by
    every test that asks for it, so publish with a device id of your own and filter by it;
    leave the services running (the session stops them at the end).

    A ``socksort.stack.Stack``; attributes:
      ``mqtt_url``           ``mqtt://socksort:<password>@127.0.0.1:<port>`` (socksort.config.mqtt_url parses it)
      ``bootstrap_servers``  ``127.0.0.1:<port>`` for Kafka clients
      ``connect_url``        ``http://127.0.0.1:<port>`` (Connect REST)
      ``ksql_url``           ``http://127.0.0.1:<port>`` or None when the ksql engine does not exist yet
      ``mosquitto``, ``kafka``, ``connect``, ``ksql``  the launchers (host, port, pid, ...)
      ``home``               the folder holding all data and logs (look here when a test fails)
      ``status()``           the same dict as ``socksort stack status --json``
    """
    from socksort.stack import Ports, Stack
    from socksort.net import free_port

    chosen: list[int] = []
    while len(chosen) < 5:
        candidate = free_port()
        if candidate not in chosen:
            chosen.append(candidate)
    ports = Ports(*chosen)
    running = Stack(tmp_path_factory.mktemp("stack"), ports, die_with_parent=True)
    try:
        running.up()
        yield running
    finally:
        running.down()


# --- the browser (owned by the dashboard stage) -------------------------------------

@pytest.fixture(scope="session")
def chromium(tmp_path_factory):
    """Debian's Chromium, headless, with a fresh profile, launched once per session.

    No browser is downloaded: Playwright drives /usr/bin/chromium.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path="/usr/bin/chromium",
            headless=True, viewport={"width": 1280, "height": 900},
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"])
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def browser_page(chromium):
    """A new tab; ``page.script_errors`` collects uncaught errors of the page's scripts."""
    page = chromium.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.script_errors = errors
    try:
        yield page
    finally:
        page.close()


LANES = {"raw": (14, 70), "showings": (110, 30)}  # the timeline canvas's lanes: (top, height) in CSS px
CAMERA_BLOCK = 154   # each further camera's lanes sit this far below the previous one's (app.js BLOCK)


def lane_box(lane: str, camera: int = 0) -> tuple[int, int]:
    """(top, height) in CSS px of a timeline lane ("raw" or "showings") of the camera at
    that place (cameras in name order)."""
    top, height = LANES[lane]
    return top + camera * CAMERA_BLOCK, height


@pytest.fixture(scope="session")
def timeline_lane():
    """``timeline_lane(lane, camera=0) -> (top, height)``: where a lane is on the timeline canvas."""
    return lane_box


@pytest.fixture(scope="session")
def painted_pixels():
    """``painted_pixels(page, lane, more_than=N, camera=0)``: how many pixels of a timeline lane
    ("raw" frames or "showings") are painted in something other than the lane's background
    grey; ``camera`` picks the lanes of the camera at that place (cameras in name order).

    The page redraws its canvas on a timer, so data that has just arrived may not be drawn
    yet: the count is polled until it exceeds ``more_than`` or ``timeout`` seconds pass, and
    the last count is returned either way."""
    import time

    def count_once(page, lane: str, camera: int) -> int:
        top, height = lane_box(lane, camera)
        return page.evaluate("""([top, height]) => {
            const c = document.getElementById('timeline'), r = window.devicePixelRatio || 1;
            const d = c.getContext('2d').getImageData(100 * r, top * r, c.width - 120 * r, height * r).data;
            let n = 0;
            for (let i = 0; i < d.length; i += 4) if (d[i+3] > 0 && !(d[i] === 240 && d[i+1] === 242 && d[i+2] === 245)) n++;
            return n;
        }""", [top, height])

    def count(page, lane: str, more_than: int = 0, timeout: float = 15.0, camera: int = 0) -> int:
        deadline = time.monotonic() + timeout
        while True:
            painted = count_once(page, lane, camera)
            if painted > more_than or time.monotonic() > deadline:
                return painted
            time.sleep(0.2)
    return count


@pytest.fixture(scope="session")
def screenshot(tmp_path_factory):
    """``screenshot(page, name)``: keep a full-page PNG with the session's files, and also in
    ``$SOCKSORT_SCREENSHOTS`` when set (``SOCKSORT_SCREENSHOTS=docs/img`` refreshes the
    README's pictures)."""
    import os
    import shutil
    from pathlib import Path

    folder = tmp_path_factory.mktemp("screenshots")

    def take(page, name: str) -> None:
        shot = folder / name
        page.screenshot(path=str(shot), full_page=True)
        if os.environ.get("SOCKSORT_SCREENSHOTS"):
            target = Path(os.environ["SOCKSORT_SCREENSHOTS"])
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, target / name)
    return take


# --- a small sock model and a show with known truth (owned by the dashboard stage) ----------
#
# Trained the way a user trains one (synth dataset → im2rec → train), kept small so it trains
# in about a minute on two cores: three designs, a dozen photos each, 128-pixel input, the head
# trained on the frozen ImageNet backbone. Shared by the live-page and end-to-end tests.

def _socksort(*args, timeout: float = 900) -> None:
    done = subprocess.run([sys.executable, "-m", "socksort", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"socksort {' '.join(map(str, args))} failed ({done.returncode}):\n"
                             f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


@pytest.fixture(scope="session")
def sock_dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("e2e-data")
    _socksort("synth", "dataset", "--out", folder / "dataset", "--classes", 3, "--per-class", 12,
              "--size", "320x240", "--seed", 0)
    return folder / "dataset"


@pytest.fixture(scope="session")
def sock_model(sock_dataset, tmp_path_factory):
    folder = tmp_path_factory.mktemp("e2e-model")
    prefix = folder / "records" / "socks"
    prefix.parent.mkdir()
    _socksort("im2rec", "--list", "--recursive", "--train-ratio", "0.8", prefix, sock_dataset)
    _socksort("im2rec", "--resize", 160, prefix, sock_dataset)
    _socksort("train", "--train", f"{prefix}_train.rec", "--val", f"{prefix}_val.rec", "--out", folder / "model",
              "--input-size", 128, "--warmup-epochs", 2, "--epochs", 0, "--box-scenes", TEST_HEAD_SCENES)
    return folder / "model"


@pytest.fixture(scope="session")
def sock_show(sock_dataset, tmp_path_factory):
    """(video, truth.json): the designs of the dataset shown one at a time, some twice."""
    folder = tmp_path_factory.mktemp("e2e-show")
    _socksort("synth", "show", "--out", folder / "show.mp4", "--truth", folder / "truth.json",
              "--classes-from", sock_dataset, "--seconds", 24, "--fps", 15, "--size", "320x240", "--seed", 1)
    return folder / "show.mp4", folder / "truth.json"
