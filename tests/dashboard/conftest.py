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


@pytest.fixture
def album_edge():
    """The real edge page of a --match camera whose album holds the pair sock-1 (showings 1
    and 2) and the single sock-2 (showing 3)."""
    from edge_album import pair_and_single, serve

    server = serve(pair_and_single())
    yield server
    server.stop()


@pytest.fixture
def open_set_dashboard(tmp_path, album_edge):
    """(dashboard, Api): the real dashboard, its camera ``album_edge``, ksql, Connect and MQTT
    pointing at nothing, and the pair table the pipeline would count from that album."""
    from teach_api import Api

    from socksort.dashboard.app import Settings
    from socksort.dashboard.cli import start_dashboard, stop_dashboard

    settings = Settings(listen=HostPort("127.0.0.1", free_port()), edge_url=album_edge.url, ksql_url=nowhere(),
                        connect_url=nowhere(), mqtt_url=mqtt_url(f"mqtt://127.0.0.1:{free_port()}"),
                        images=tmp_path / "images", models=tmp_path / "models",
                        corrections=tmp_path / "corrections.json")
    board, server, thread = start_dashboard(settings)
    # As SOCK_PAIRS' push query hands its rows over.
    for image, seen, count in (("sock-1", "Pair", 2), ("sock-2", "Un-matched", 1)):
        board._pair_row({"IMAGE": image, "PAIR_SEEN": seen, "NUMBER_SOCKS_SEEN": count})
    yield board, Api(f"http://127.0.0.1:{server.server_address[1]}")
    stop_dashboard(board, server, thread)
