"""`socksort demo` with DEMO_EXIT=1, small: it trains its own model, plays its own show
through the shared stack and exits 0 only after printing that every design matches."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from small_heads import TEST_HEAD_SCENES

from socksort.net import free_port

pytestmark = [pytest.mark.broker, pytest.mark.slow]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("demo") / "work"


def demo_command(workdir) -> list[str]:
    return [sys.executable, "-m", "socksort", "demo", "--workdir", str(workdir),
            "--classes", "3", "--per-class", "12", "--epochs", "0", "--show-seconds", "24", "--show-fps", "15",
            "--listen", f"127.0.0.1:{free_port()}", "--edge-http", f"127.0.0.1:{free_port()}"]


def demo_env(stack) -> dict[str, str]:
    # The demo's `socksort train` reads SOCKSORT_BOX_SCENES.
    return {**os.environ, "SOCKSORT_HOME": str(stack.home), "SOCKSORT_BOX_SCENES": str(TEST_HEAD_SCENES)}


def test_the_demo_ends_with_every_design_matching_the_truth(stack, workdir):
    env = {**demo_env(stack), "DEMO_EXIT": "1"}
    done = subprocess.run(demo_command(workdir), env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr[-4000:]}"
    lines = done.stdout.splitlines()
    assert lines[0].startswith("dashboard: http://127.0.0.1:")
    verdict = [line for line in lines if line.startswith("pairs: ")]
    assert len(verdict) == 1
    matching, total = verdict[0].split()[1].split("/")
    assert matching == total and int(total) > 0
    # Each step said what it did and what it waited for.
    for step in ("making a synthetic sock dataset", "training the sock model", "rendering the synthetic sock show",
                 "starting the stack", "applying ksql/", "new sorting session", "starting the edge function",
                 "waiting for it to end", "waiting for SOCK_PAIRS to settle"):
        assert step in done.stderr, step


def test_a_second_demo_reuses_its_model_and_ctrl_c_stops_what_it_started(stack, workdir):
    import signal

    env = demo_env(stack)
    demo = subprocess.Popen(demo_command(workdir), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert demo.stdout.readline().startswith("dashboard: http://127.0.0.1:")
        edge = subprocess.run(["pgrep", "-f", f"edge --model {workdir}"], capture_output=True, text=True).stdout
        assert edge.strip(), "the demo's edge function is not running"
        demo.send_signal(signal.SIGINT)   # what Ctrl-C sends
        assert demo.wait(timeout=120) == 130
    finally:
        if demo.poll() is None:
            demo.kill()
    stderr = demo.stderr.read()
    assert "reusing the model" in stderr and "it was trained on this data" in stderr
    assert "training the sock model" not in stderr
    assert "reusing the synthetic sock show" in stderr
    assert "stopping the edge function" in stderr and "stopping the dashboard" in stderr
    for pid in edge.split():
        assert not os.path.exists(f"/proc/{pid}"), f"the edge function {pid} outlived the demo"


@pytest.mark.browser
def test_after_the_show_the_page_says_it_has_ended_instead_of_a_camera_down(stack, workdir, browser_page,
                                                                            tmp_path, screenshot):
    import signal

    env = demo_env(stack)
    with open(tmp_path / "demo.err", "wb") as err:
        demo = subprocess.Popen(demo_command(workdir), env=env, stdout=subprocess.PIPE, stderr=err, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        url = demo.stdout.readline().removeprefix("dashboard: ").strip()
        assert url.startswith("http://127.0.0.1:")
        assert demo.stdout.readline().startswith("pairs: ")   # the show has played to its end
        page = browser_page
        page.goto(url)
        page.wait_for_selector("#overall.idle", timeout=30_000)
        assert page.inner_text("#overall") == "Show ended — the camera has finished its recording"
        assert page.get_attribute("#health li[data-part='camera']", "class") == "idle"
        for part in ("mqtt", "connector", "ksql"):
            assert page.get_attribute(f"#health li[data-part='{part}']", "data-ok") == "true"
        screenshot(page, "dashboard-show-ended.png")
        assert page.script_errors == []
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=120) == 130
    finally:
        if demo.poll() is None:
            demo.kill()


def test_a_taken_dashboard_port_stops_the_demo_at_once(tmp_path):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "socksort", "demo", "--workdir", str(tmp_path / "demo"),
             "--listen", f"127.0.0.1:{port}"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"socksort: error: 127.0.0.1:{port} is in use, so the dashboard cannot "
                                   "listen there (choose another with --listen / --edge-http)")
    assert not (tmp_path / "demo").exists()
