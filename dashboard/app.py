"""The dashboard's moving parts, wired together: feeds in, events out.

Feeds: the MQTT subscription (raw frames), two push queries (SOCK_PAIRS and
SOCK_SHOWINGS) and a health poller. Each runs on its own thread and only publishes to the
:class:`~socksort.dashboard.sse.Hub`; the HTTP side only reads the hub and the snapshots.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from socksort import contract, paths
from socksort.config import HostPort, MqttUrl
from socksort.dashboard import corrections, health
from socksort.dashboard.corrections import CorrectionLog
from socksort.dashboard.fleet import FleetFeed
from socksort.dashboard.raw import MqttFeed, RawTimeline
from socksort.dashboard.socks import SocksApi
from socksort.dashboard.sse import Hub, frame
from socksort.dashboard.tables import PairTable, Showings
from socksort.dashboard.teach.routes import TeachApi
from socksort.ksql.client import PushQuery, writing_queries

PAIRS_SQL = f"SELECT * FROM {contract.PAIRS} EMIT CHANGES;"
SHOWINGS_SQL = f"SELECT * FROM {contract.SHOWINGS} EMIT CHANGES;"


@dataclass(frozen=True)
class Settings:
    listen: HostPort
    edge_url: str
    ksql_url: str
    connect_url: str
    mqtt_url: MqttUrl
    topic: str = contract.MQTT_TOPIC
    mqtt_ca: Path | None = None   # the CA an mqtts:// broker must chain to (None: the system's)
    connector: str | None = None
    health_every: float = 1.0
    client_queue: int = 256
    window_ms: int = 60_000
    images: Path | None = None      # the teach dataset (None: $SOCKSORT_HOME/teach/images)
    models: Path | None = None      # the model store (None: $SOCKSORT_HOME/teach/models)
    api_token: str | None = None    # every /api/ request must bring it as a bearer token
    auto_train: bool = False        # quick retrain when the dataset changes and uploads pause
    bootstrap: str | None = None    # Kafka, for the workers' status topic (None: no fleet panel)
    corrections: Path | None = None  # the session's split/join/name (None: $SOCKSORT_HOME/dashboard/corrections.json)
    showings_url: str | None = None  # where open-set showings are kept: a match service (None: the edge)


def teach_images_default() -> Path:
    return paths.runtime_dir() / "teach" / "images"


def teach_models_default() -> Path:
    return paths.runtime_dir() / "teach" / "models"


def corrections_default() -> Path:
    return paths.runtime_dir() / "dashboard" / "corrections.json"


class Dashboard:
    FRAME_TICK = 0.1      # frames and pair changes reach the page within this (+ network)
    SETTLE_AFTER_RESTART = 0.3  # let a restarted push query replay before showing its table

    def __init__(self, settings: Settings):
        self.settings = settings
        self.hub = Hub(per_client=settings.client_queue)
        self.timeline = RawTimeline(window_ms=settings.window_ms)
        self.mqtt = MqttFeed(settings.mqtt_url, settings.topic, self.timeline, ca_file=settings.mqtt_ca)
        self.pairs = PairTable()
        self.showings = Showings(keep_ms=2 * settings.window_ms)
        self.query_state = {"pairs": (False, "not started"), "showings": (False, "not started")}
        self.health = health.Health(())
        self._pairs_dirty = False
        self._pairs_reset_at = 0.0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._reset_lock = threading.Lock()
        self._writers: dict[str, str] | None = None
        self._camera_finished: str | None = None
        self.pair_query = PushQuery(settings.ksql_url, PAIRS_SQL, name="pairs-query",
                                    on_reset=self._pairs_restarted, on_row=self._pair_row,
                                    on_status=lambda ok, msg: self._query_status("pairs", ok, msg))
        self.showing_query = PushQuery(settings.ksql_url, SHOWINGS_SQL, name="showings-query",
                                       on_reset=self._showings_restarted, on_row=self._showing_row,
                                       on_status=lambda ok, msg: self._query_status("showings", ok, msg))
        self.fleet = FleetFeed(settings.bootstrap) if settings.bootstrap else None
        self._fleet_shown: dict | None = None
        self.teach = TeachApi(settings.images or teach_images_default(), settings.models or teach_models_default(),
                              edge_url=settings.edge_url, auto_train=settings.auto_train)
        self.corrections = CorrectionLog(settings.corrections or corrections_default())
        self.socks = SocksApi(settings.showings_url or settings.edge_url, self.corrections, self.teach.examples, changed=self._pairs_changed)

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        if self.fleet is not None:
            self.fleet.start()
        self.teach.start()
        self.mqtt.start()
        self.pair_query.start()
        self.showing_query.start()
        for target, name in ((self._tick_loop, "dashboard-tick"), (self._health_loop, "dashboard-health")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        if self.fleet is not None:
            self.fleet.stop()
        self.teach.stop()
        self.pair_query.stop()
        self.showing_query.stop()
        self.mqtt.stop()
        for thread in (*self._threads, self.pair_query, self.showing_query):
            thread.join(timeout=5)

    # --- what a page gets when it connects ------------------------------------------

    def greeting(self) -> list[bytes]:
        return [frame("timeline", {"now": _now_ms(), "window_ms": self.settings.window_ms,
                                   "frames": [f.compact() for f in self.timeline.frames()]})]

    def state(self) -> dict:
        return {"now": _now_ms(), "pairs": self.pair_rows(), "showings": self.showings.snapshot(),
                "current": self.timeline.current(), "health": self.health.to_dict(),
                "queries": {k: {"ok": ok, "detail": d} for k, (ok, d) in self.query_state.items()},
                "stats": self.stats(), "fleet": self.fleet_view()}

    def pair_rows(self) -> list[dict]:
        """SOCK_PAIRS as the person corrected it (``corrections.py``)."""
        return corrections.apply(self.corrections.items(), self.pairs.snapshot())

    def fleet_view(self) -> dict:
        """The thin cameras and inference workers reporting now (empty without Kafka)."""
        return self.fleet.view() if self.fleet is not None else {"workers": [], "cameras": []}

    def _publish_fleet(self) -> None:
        view = self.fleet_view()
        if view != self._fleet_shown:
            self._fleet_shown = view
            self.hub.publish("fleet", view, state=True)

    def stats(self) -> dict:
        return {"frames_received": self.timeline.received, "frames_rejected": self.timeline.rejected,
                "frames_dropped": self.timeline.dropped, "events_dropped": self.hub.dropped_total,
                "pages": self.hub.clients()}

    def camera_ended(self, detail: str = health.SHOW_ENDED) -> None:
        """The camera has played its recording to the end and stopped on purpose: from now
        on the page says so instead of reporting it down."""
        self._camera_finished = detail

    # --- a new sorting session -------------------------------------------------------

    def new_session(self) -> tuple[bool, str]:
        """Do what ``socksort pairs --reset`` does, by running exactly that command."""
        with self._reset_lock:
            command = [sys.executable, "-m", "socksort", "pairs", "--reset",
                       "--url", self.settings.ksql_url]
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=120)
            except subprocess.TimeoutExpired:
                return False, "socksort pairs --reset did not finish within 120 s"
            if done.returncode != 0:
                lines = (done.stderr or done.stdout).strip().splitlines()
                return False, lines[-1] if lines else f"socksort pairs --reset exited {done.returncode}"
            self._writers = writing_queries(self.settings.ksql_url, (contract.PAIRS, contract.SHOWINGS))
            self.corrections.clear()
            self._restart_queries()
            return True, "new session started"

    def _restart_queries(self) -> None:
        self.pair_query.restart()
        self.showing_query.restart()

    def _follow_tables(self) -> None:
        """Restart the push queries when the tables behind them were re-created (a new
        session started from the command line or another dashboard)."""
        writers = writing_queries(self.settings.ksql_url, (contract.PAIRS, contract.SHOWINGS))
        if writers is None:
            return
        if self._writers is not None and writers != self._writers:
            self.corrections.clear()   # they name the labels of the session that ended
            self._restart_queries()
        self._writers = writers

    # --- feeds -------------------------------------------------------------------------

    def _pairs_restarted(self, _header) -> None:
        self.pairs.clear()
        self._pairs_reset_at = time.monotonic()
        self._pairs_dirty = True

    def _pairs_changed(self) -> None:
        self._pairs_dirty = True

    def _pair_row(self, row: dict) -> None:
        if self.pairs.apply(row):
            self._pairs_dirty = True

    def _showings_restarted(self, _header) -> None:
        self.showings.clear()
        self._publish_showings()

    def _showing_row(self, row: dict) -> None:
        if self.showings.apply(row) is not None:
            self._publish_showings()

    def _publish_showings(self) -> None:
        self.hub.publish("showings", {"showings": self.showings.snapshot()}, state=True)

    def _query_status(self, which: str, ok: bool, detail: str) -> None:
        if self.query_state.get(which) != (ok, detail):
            self.query_state[which] = (ok, detail)
            self.hub.publish("queries", {k: {"ok": o, "detail": d}
                                         for k, (o, d) in self.query_state.items()}, state=True)

    def _tick_loop(self) -> None:
        while not self._stop.wait(self.FRAME_TICK):
            frames = self.timeline.take_pending()
            if frames:
                self.hub.publish("frames", {"now": _now_ms(), "frames": [f.compact() for f in frames]})
                self.hub.publish("current", self.timeline.current(), state=True)
            settled = time.monotonic() - self._pairs_reset_at >= self.SETTLE_AFTER_RESTART
            if self._pairs_dirty and settled:
                self._pairs_dirty = False
                self.hub.publish("pairs", {"rows": self.pair_rows()}, state=True)

    def _health_loop(self) -> None:
        settings = self.settings
        probes = (
            lambda: (health.camera_finished(self._camera_finished) if self._camera_finished
                     else health.camera(settings.edge_url)),
            lambda: health.mqtt(lambda: (self.mqtt.connected, self.mqtt.state)),
            lambda: health.connector(settings.connect_url, settings.connector),
            lambda: health.ksql(settings.ksql_url),
        )
        with ThreadPoolExecutor(max_workers=len(probes), thread_name_prefix="health") as pool:
            while not self._stop.is_set():
                checks = tuple(pool.map(lambda probe: probe(), probes))
                self._follow_tables()
                self._publish_fleet()
                current = health.Health(checks)
                if current != self.health:
                    self.health = current
                    self.hub.publish("health", current.to_dict(), state=True)
                self._stop.wait(settings.health_every)


def _now_ms() -> int:
    return int(time.time() * 1000)
