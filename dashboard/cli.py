"""The dashboard stage's command: ``socksort dashboard`` (the page)."""

from __future__ import annotations

import argparse
import signal
import threading

from socksort import contract, progress
from pathlib import Path

from socksort.config import HostPort, host_port, http_url, mqtt_ca_option, mqtt_url, option, positive_float
from socksort.dashboard import stack
from socksort.dashboard.app import Dashboard, Settings, teach_images_default, teach_models_default, corrections_default
from socksort.dashboard.server import DashboardServer
from socksort.dashboard.teach import auth
from socksort.errors import UserError


def register(commands) -> None:
    """Add this stage's subcommands to `commands` (argparse subparsers)."""
    parser = commands.add_parser(
        "dashboard", help="the browser dashboard: live stream, pair table, timeline, health",
        description="Serve the dashboard page. Endpoints not given are taken from "
                    "`socksort stack status --json` when a local stack runs, else the defaults.")
    add_dashboard_options(parser)
    parser.set_defaults(func=run_dashboard)


def add_dashboard_options(parser: argparse.ArgumentParser) -> None:
    option(parser, "--listen", env="SOCKSORT_DASHBOARD_LISTEN", type=host_port,
           default=HostPort("127.0.0.1", contract.PORTS["dashboard"]), help="address to serve the page on")
    option(parser, "--edge-url", env="SOCKSORT_EDGE_URL", type=http_url,
           help=f"the edge function's page (default http://127.0.0.1:{contract.PORTS['edge']})")
    option(parser, "--ksql-url", env="SOCKSORT_KSQL_URL", type=http_url,
           help="the ksql engine or ksqlDB server (default: the stack's, else "
                f"http://127.0.0.1:{contract.PORTS['ksql']})")
    option(parser, "--connect-url", env="SOCKSORT_CONNECT_URL", type=http_url,
           help="the Kafka Connect REST API (default: the stack's, else "
                f"http://127.0.0.1:{contract.PORTS['connect']})")
    option(parser, "--mqtt-url", env="SOCKSORT_MQTT_URL", type=mqtt_url,
           help="broker the camera publishes to, with credentials (default: the stack's)")
    mqtt_ca_option(parser)
    option(parser, "--topic", env="SOCKSORT_TOPIC", default=contract.MQTT_TOPIC,
           help="MQTT topic of the predictions")
    option(parser, "--bootstrap", env="SOCKSORT_BOOTSTRAP",
           help="Kafka, to list thin cameras and inference workers from their status topic (default: "
                f"the stack's, else 127.0.0.1:{contract.PORTS['kafka']})")
    option(parser, "--connector", env="SOCKSORT_CONNECTOR",
           help="name of the MQTT source connector to watch (default: every connector)")
    option(parser, "--health-every", env="SOCKSORT_DASHBOARD_HEALTH_EVERY", type=positive_float,
           default=1.0, help="seconds between health checks")
    option(parser, "--images", env="SOCKSORT_TEACH_IMAGES", type=Path,
           help="the teach API's photo folder, one folder per class "
                "(default $SOCKSORT_HOME/teach/images)")
    option(parser, "--models", env="SOCKSORT_TEACH_MODELS", type=Path,
           help="the teach API's model store (default $SOCKSORT_HOME/teach/models)")
    option(parser, "--showings-url", env="SOCKSORT_SHOWINGS_URL", type=http_url,
           help="where an open-set session's showings are kept and corrected: a `socksort match-service` "
                "for several cameras (default: the edge's page)")
    option(parser, "--corrections", env="SOCKSORT_DASHBOARD_CORRECTIONS", type=Path,
           help="where an open-set session's split, join and name corrections are kept "
                "(default $SOCKSORT_HOME/dashboard/corrections.json)")
    option(parser, "--api-token", env=auth.TOKEN_ENV, type=_token,
           help="every /api/ request must send 'Authorization: Bearer TOKEN'; "
                "required when --listen is not a loopback address")
    parser.add_argument("--auto-train", action="store_true",
                        help="train a quick model whenever the photos change and uploads have paused "
                             "for 5 s (it never deploys by itself)")


def settings_from_args(args, report: dict | None = None):
    """Flags first, then the running stack's endpoints, then the contract's defaults."""
    missing = [name for name in ("edge_url", "ksql_url", "connect_url", "mqtt_url") if getattr(args, name) is None]
    found = stack.endpoints(report if report is not None else (stack.status() if missing else None))
    return Settings(
        listen=args.listen,
        edge_url=args.edge_url or stack.DEFAULTS["edge_url"],
        ksql_url=args.ksql_url or found["ksql_url"],
        connect_url=args.connect_url or found["connect_url"],
        mqtt_url=args.mqtt_url or mqtt_url(found["mqtt_url"]),
        topic=args.topic,
        mqtt_ca=args.tls_ca,
        connector=args.connector,
        health_every=args.health_every,
        images=args.images or teach_images_default(),
        models=args.models or teach_models_default(),
        corrections=args.corrections or corrections_default(),
        showings_url=args.showings_url,
        api_token=args.api_token or None,
        auto_train=args.auto_train,
        bootstrap=args.bootstrap or found["bootstrap_servers"],
    )


def _token(text: str) -> str:
    if len(text.strip()) < 8 or not text.isprintable() or " " in text:
        raise ValueError("an API token needs at least 8 printable characters and no spaces")
    return text


def start_dashboard(settings):
    """Start the feeds and the HTTP server; returns (dashboard, server, thread)."""
    auth.check_bind(settings.listen.host, settings.api_token)
    dashboard = Dashboard(settings)
    try:
        server = DashboardServer(dashboard)
    except OSError as exc:
        raise UserError(f"cannot listen on {settings.listen}: {exc.strerror or exc}") from None
    dashboard.start()
    thread = threading.Thread(target=server.serve_forever, name="dashboard-http", daemon=True)
    thread.start()
    return dashboard, server, thread


def stop_dashboard(dashboard, server, thread) -> None:
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
    dashboard.stop()


def run_dashboard(args) -> int:
    settings = settings_from_args(args)
    dashboard, server, thread = start_dashboard(settings)
    progress.step(f"dashboard at {server.url} (camera {settings.edge_url}, ksql {settings.ksql_url}, "
                  f"Connect {settings.connect_url}, MQTT {settings.mqtt_url}); Ctrl-C stops it")
    progress.step(f"teach API at {server.url}api/ (photos {dashboard.teach.images_dir}, "
                  f"models {dashboard.teach.models_dir}{', auto-train on' if settings.auto_train else ''}"
                  f"{', bearer token required' if settings.api_token else ''})")
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop_dashboard(dashboard, server, thread)
    return 0
