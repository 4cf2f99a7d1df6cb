"""Fixtures for the dashboard's tests: a dashboard on a free port, a real model and a show.

The browser fixtures (``chromium``, ``browser_page``, ``screenshot``) are in tests/conftest.py,
shared with the end-to-end tests.
"""

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
