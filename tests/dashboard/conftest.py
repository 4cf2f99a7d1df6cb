"""Fixtures for the dashboard's tests: a dashboard on a free port with nothing upstream.

The browser fixtures (``chromium``, ``browser_page``, ``screenshot``) and the small sock model
and show (``sock_model``, ``sock_show``) are in tests/conftest.py, shared with the
end-to-end tests.
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
