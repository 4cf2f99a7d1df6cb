"""Fixtures for the dashboard's tests: a dashboard on a free port, and a real headless Chromium."""

from __future__ import annotations

import pytest

from socksort.config import HostPort, mqtt_url
from socksort.net import free_port


def nowhere() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def dashboard_without_upstreams():
    """A running dashboard whose camera, broker, Connect and ksql URLs all point at nothing."""
    from socksort.dashboard.app import Settings
    from socksort.dashboard.cli import start_dashboard, stop_dashboard

    settings = Settings(listen=HostPort("127.0.0.1", free_port()), edge_url=nowhere(),
                        ksql_url=nowhere(), connect_url=nowhere(),
                        mqtt_url=mqtt_url(f"mqtt://127.0.0.1:{free_port()}"), health_every=0.5)
    dashboard, server, thread = start_dashboard(settings)
    yield server
    stop_dashboard(dashboard, server, thread)


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


# --- the real pipeline, for the live page ------------------------------------------

@pytest.fixture(scope="session")
def imagenet_model(tmp_path_factory):
    """A real model folder for the edge: the ImageNet classifier of the default backbone.

    The live-page tests check what the page does with whatever the camera says, so any
    real model will do; the end-to-end test trains its own sock model.
    """
    import subprocess
    import sys

    folder = tmp_path_factory.mktemp("imagenet-model") / "model"
    subprocess.run([sys.executable, "-m", "socksort", "backbones", "export", "efficientnet_lite0",
                    "--out", str(folder)], check=True, capture_output=True, timeout=300)
    return folder


@pytest.fixture(scope="session")
def synthetic_show(tmp_path_factory):
    """A short synthetic sock show (video + truth) and the dataset its designs come from."""
    import subprocess
    import sys

    folder = tmp_path_factory.mktemp("show")
    run = lambda *args: subprocess.run([sys.executable, "-m", "socksort", *map(str, args)],  # noqa: E731
                                       check=True, capture_output=True, timeout=300)
    run("synth", "dataset", "--out", folder / "dataset", "--classes", 3, "--per-class", 2, "--size", "320x240")
    run("synth", "show", "--out", folder / "show.mp4", "--classes-from", folder / "dataset",
        "--seconds", 20, "--fps", 15, "--size", "320x240")
    return folder / "show.mp4"


@pytest.fixture
def screenshot(tmp_path):
    """``screenshot(page, name)``: keep a full-page PNG with the test's files, and also in
    ``$SOCKSORT_SCREENSHOTS`` when set (``SOCKSORT_SCREENSHOTS=docs/img`` refreshes the
    README's pictures)."""
    import os
    import shutil
    from pathlib import Path

    def take(page, name: str) -> None:
        shot = tmp_path / name
        page.screenshot(path=str(shot), full_page=True)
        if os.environ.get("SOCKSORT_SCREENSHOTS"):
            target = Path(os.environ["SOCKSORT_SCREENSHOTS"])
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, target / name)
    return take
