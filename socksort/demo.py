"""``socksort demo`` (``make demo``): the whole pipeline on one machine, in one command.

Synthetic sock photos → a trained model (or the one already trained on the same data) →
the stack (Mosquitto, Kafka, Connect with the MQTT source connector, the ksql engine) →
the pipeline SQL → the edge function on a synthetic sock show (or ``SOURCE``: a webcam
index, a URL, a video file) → the dashboard. When the show ends the page says so (the
camera stopped on purpose, so it is not shown as down) and the demo compares
``SOCK_PAIRS`` with the show's truth and prints ``pairs: N/N designs match the truth``,
then serves until Ctrl-C, which stops everything it started. ``DEMO_EXIT=1`` exits after
that line instead: status 0 only when every design matches.

Each stage is driven through its ``socksort`` command, exactly as a user would run it, so
the demo depends only on the stages' public interfaces; the dashboard it ends on runs in
this process. The demo is the top-level application: the one module that may import any
stage, imported by nothing but the command table (``socksort/cli.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from socksort import atomic, contract, modelcard, paths, progress
from socksort.config import (HostPort, existing_dir, host_port, mqtt_url, non_negative_int, option, positive_float,
                             positive_int, yes_no)
from socksort.dashboard.app import Settings
from socksort.dashboard.cli import start_dashboard, stop_dashboard
from socksort.dashboard.stack import endpoints as stack_endpoints, status as stack_status
from socksort.dashboard.truth import compare, load_counts
from socksort.errors import UserError
from socksort.net import port_open

SETTLE_QUIET_S = 5.0     # SOCK_PAIRS unchanged this long after the show: the count is final
SETTLE_LIMIT_S = 90.0    # ... or give up waiting and compare what is there


@dataclass(frozen=True)
class DemoConfig:
    workdir: Path
    source: str | None           # None: the synthetic show
    model: Path | None = None    # None: train on the synthetic dataset (or reuse that model)
    classes: int = 4
    per_class: int = 30
    seed: int = 0
    show_seconds: float = 60.0
    show_fps: float = 30.0
    epochs: int | None = 1       # synthetic socks need little fine-tuning; keeps make demo short
    dashboard: HostPort = HostPort("127.0.0.1", contract.PORTS["dashboard"])
    edge_http: HostPort = HostPort("127.0.0.1", contract.PORTS["edge"])
    exit_after: bool = False


def socksort(*args, capture: bool = False, timeout: float | None = None,
             what: str = "") -> subprocess.CompletedProcess:
    """Run one ``socksort`` command; its progress goes straight to the user's terminal."""
    command = [sys.executable, "-m", "socksort", *map(str, args)]
    done = subprocess.run(command, stdout=subprocess.PIPE if capture else sys.stderr,
                          stderr=subprocess.PIPE if capture else None, text=True, timeout=timeout)
    if done.returncode != 0:
        detail = (done.stderr or "").strip().splitlines()[-1:] if capture else []
        raise UserError(f"{what or 'socksort ' + str(args[0])} failed (exit {done.returncode})"
                        + (f": {detail[0]}" if detail else ""))
    return done


@dataclass
class Started:
    """What the demo started, so Ctrl-C stops exactly that, newest first."""

    stops: list = field(default_factory=list)

    def add(self, label: str, stop) -> None:
        self.stops.append((label, stop))

    def stop_all(self) -> None:
        while self.stops:
            label, stop = self.stops.pop()
            progress.step(f"stopping {label}")
            try:
                stop()
            except Exception as exc:  # keep stopping the rest; say what failed
                print(f"socksort demo: could not stop {label}: {exc}", file=sys.stderr)


class Demo:
    def __init__(self, config: DemoConfig):
        self.config = config
        self.work = config.workdir
        self.started = Started()
        self.endpoints: dict = {}
        self.page = None   # the running Dashboard, told when the show has ended

    # --- 1. data and model --------------------------------------------------------------

    def dataset(self) -> Path:
        cfg = self.config
        folder = self.work / "dataset"
        wanted = {"classes": cfg.classes, "per_class": cfg.per_class, "seed": cfg.seed}
        marker = self.work / "dataset.json"
        if (folder / "synth.json").is_file() and marker.is_file() and json.loads(marker.read_text()) == wanted:
            progress.step(f"reusing the synthetic sock dataset in {folder}")
        else:
            progress.step(f"making a synthetic sock dataset: {cfg.classes} designs x {cfg.per_class} photos "
                          f"in {folder}")
            if folder.exists():
                shutil.rmtree(folder)
            socksort("synth", "dataset", "--out", folder, "--classes", cfg.classes,
                     "--per-class", cfg.per_class, "--seed", cfg.seed, what="making the dataset")
            atomic.write_json(marker, wanted)
        return folder

    def records(self, dataset: Path) -> tuple[Path, Path]:
        prefix = self.work / "records" / "socks"
        train, val = Path(f"{prefix}_train.rec"), Path(f"{prefix}_val.rec")
        if train.is_file() and val.is_file() and train.stat().st_mtime >= (dataset / "synth.json").stat().st_mtime:
            return train, val
        progress.step(f"packing the photos into RecordIO files {prefix}_train.rec / _val.rec")
        prefix.parent.mkdir(parents=True, exist_ok=True)
        socksort("im2rec", "--list", "--recursive", "--train-ratio", "0.8", prefix, dataset, what="im2rec --list")
        socksort("im2rec", "--resize", "256", prefix, dataset, what="im2rec (packing)")
        return train, val

    def model(self, train: Path, val: Path) -> Path:
        folder = self.work / "model"
        data = modelcard.data_hash(train, val)
        try:
            trained_on = modelcard.load(folder).train_data_hash
        except UserError:  # no model yet, or a broken one: train
            trained_on = None
        if trained_on == data:
            progress.step(f"reusing the model in {folder}: it was trained on this data ({data[:19]}…)")
            return folder
        progress.step(f"training the sock model into {folder} (a few minutes on a laptop)")
        extra = ["--epochs", self.config.epochs] if self.config.epochs is not None else []
        socksort("train", "--train", train, "--val", val, "--out", folder, *extra, what="training")
        return folder

    def show(self, dataset: Path) -> tuple[Path, Path]:
        cfg = self.config
        video, truth = self.work / "show.mp4", self.work / "show.truth.json"
        from socksort.im2rec.show import RENDERER

        wanted = {"seed": cfg.seed, "seconds": cfg.show_seconds, "fps": cfg.show_fps,
                  "dataset": (dataset / "synth.json").read_text(), "renderer": RENDERER}
        marker = self.work / "show.json"
        if video.is_file() and truth.is_file() and marker.is_file() and json.loads(marker.read_text()) == wanted:
            progress.step(f"reusing the synthetic sock show {video}")
            return video, truth
        progress.step(f"rendering the synthetic sock show ({cfg.show_seconds:g} s at {cfg.show_fps:g} FPS) "
                      f"to {video}")
        socksort("synth", "show", "--out", video, "--truth", truth, "--classes-from", dataset,
                 "--seed", cfg.seed, "--seconds", cfg.show_seconds, "--fps", cfg.show_fps,
                 what="rendering the show")
        atomic.write_json(marker, wanted)
        return video, truth

    # --- 2. the stack and the pipeline -----------------------------------------------------

    def stack(self) -> dict:
        before = stack_status() or {}
        already = {name for name, s in before.items() if isinstance(s, dict) and s.get("state") == "running"}
        progress.step("starting the stack: Mosquitto, Kafka (KRaft), Kafka Connect with the MQTT source "
                      "connector, the ksql engine")
        socksort("stack", "up", what="socksort stack up")
        report = stack_status() or {}
        if not already:
            self.started.add("the stack", lambda: socksort("stack", "down", what="socksort stack down"))
        missing = [name for name in ("mosquitto", "kafka", "connect", "ksql")
                   if (report.get(name) or {}).get("state") != "running"]
        if missing:
            raise UserError(f"the stack is not complete: {', '.join(missing)} not running "
                            "(see socksort stack status)")
        self.endpoints = stack_endpoints(report)
        return self.endpoints

    def pipeline(self) -> None:
        url = self.endpoints["ksql_url"]
        progress.step(f"applying ksql/connector.ksql and ksql/pipeline.ksql to the ksql engine at {url}")
        socksort("ksql-apply", "--url", url, "--mqtt-url", self.endpoints["mqtt_url"],
                 what="socksort ksql-apply")
        progress.step("starting a new sorting session (socksort pairs --reset)")
        socksort("pairs", "--reset", "--url", url, what="socksort pairs --reset")

    # --- 3. the camera and the page ------------------------------------------------------

    def edge(self, model: Path, source: str) -> subprocess.Popen:
        http = self.config.edge_http
        progress.step(f"starting the edge function on {source}; waiting for its page on http://{http}/")
        log = self.work / "edge.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "socksort", "edge", "--model", str(model), "--source", source,
                 "--mqtt-url", self.endpoints["mqtt_url"], "--http", str(http), "--device", "demo"],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.started.add("the edge function", lambda: _terminate(process))
        deadline = time.monotonic() + 180
        while not port_open(http.host, http.port):
            if process.poll() is not None:
                tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
                raise UserError(f"the edge function stopped (exit {process.returncode}): {tail[0]}")
            if time.monotonic() > deadline:
                raise UserError(f"the edge function did not serve its page on {http} within 180 s (see {log})")
            time.sleep(0.2)
        return process

    def dashboard(self) -> str:
        settings = Settings(listen=self.config.dashboard, edge_url=f"http://{self.config.edge_http}",
                            ksql_url=self.endpoints["ksql_url"], connect_url=self.endpoints["connect_url"],
                            mqtt_url=mqtt_url(self.endpoints["mqtt_url"]))
        parts = start_dashboard(settings)
        self.started.add("the dashboard", lambda: stop_dashboard(*parts))
        self.page = parts[0]
        return parts[1].url

    # --- 4. the verdict -------------------------------------------------------------------

    def pairs(self) -> list[dict]:
        done = socksort("pairs", "--json", "--url", self.endpoints["ksql_url"], capture=True, timeout=60,
                        what="socksort pairs --json")
        return json.loads(done.stdout)

    def settle(self, counts: dict[str, int]):
        progress.step(f"the show has ended; waiting for SOCK_PAIRS to settle (unchanged for "
                      f"{SETTLE_QUIET_S:g} s, at most {SETTLE_LIMIT_S:g} s)")
        deadline = time.monotonic() + SETTLE_LIMIT_S
        last, quiet_since = None, time.monotonic()
        while True:
            rows = self.pairs()
            result = compare(rows, counts)
            if rows != last:
                last, quiet_since = rows, time.monotonic()
            if result.all_match or time.monotonic() - quiet_since >= SETTLE_QUIET_S or time.monotonic() > deadline:
                return result
            time.sleep(1.0)

    # --- the whole day --------------------------------------------------------------------

    def preflight(self) -> None:
        """Fail in the first second, not after training, when a port the demo serves is taken."""
        for what, address in (("the dashboard", self.config.dashboard), ("the edge page", self.config.edge_http)):
            if port_open(address.host, address.port):
                raise UserError(f"{address} is in use, so {what} cannot listen there "
                                f"(choose another with --listen / --edge-http)")

    def run(self) -> int:
        cfg = self.config
        self.preflight()
        self.work.mkdir(parents=True, exist_ok=True)
        interrupted = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: interrupted.set())
        try:
            video = truth = None
            if cfg.model is not None:
                model = cfg.model
                progress.step(f"using the model in {model}")
            else:
                dataset = self.dataset()
                model = self.model(*self.records(dataset))
            if cfg.source is None:
                video, truth = self.show(dataset)
            self.stack()
            self.pipeline()
            url = self.dashboard()
            edge = self.edge(model, str(video) if video else cfg.source)
            progress.step(f"dashboard: {url}")
            print(f"dashboard: {url}", flush=True)
            status = 0
            if video is not None:
                progress.step(f"the show plays once ({cfg.show_seconds:g} s); waiting for it to end")
                while edge.poll() is None and not interrupted.is_set():
                    time.sleep(0.5)
                if interrupted.is_set():
                    return 130
                self.show_ended(edge)
                result = self.settle(load_counts(truth))
                print(result.line(), flush=True)
                for line in result.wrong:
                    print(f"  {line}", flush=True)
                status = 0 if result.all_match else 1
                if cfg.exit_after:
                    return status
            progress.step(f"serving the dashboard at {url}; Ctrl-C stops everything the demo started")
            while not interrupted.is_set():
                interrupted.wait(0.5)
            return status
        except KeyboardInterrupt:
            return 130
        finally:
            self.started.stop_all()


    def show_ended(self, edge: subprocess.Popen) -> None:
        """The edge function has played the show to its end and exited: the page says the
        show has ended instead of reporting the camera down. An edge that failed stays down."""
        if edge.returncode == 0:
            self.page.camera_ended()
        else:
            print(f"socksort demo: the edge function exited with status {edge.returncode} "
                  f"(see {self.work / 'edge.log'})", file=sys.stderr)


def _terminate(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def register(commands) -> None:
    parser = commands.add_parser(
        "demo", help="the whole pipeline on one machine: train, stack, pipeline SQL, edge, dashboard",
        description="Make synthetic socks, train (or reuse) the model, start the stack, apply the "
                    "pipeline SQL, run the edge function on a synthetic sock show and serve the "
                    "dashboard; when the show ends, compare SOCK_PAIRS with the show's truth.")
    option(parser, "--source", env="SOURCE",
           help="camera instead of the synthetic show: webcam index, URL or video file (no truth to compare)")
    option(parser, "--model", env="SOCKSORT_MODEL", type=existing_dir, default=None,
           help="use this model folder (e.g. your own socks, with --source) instead of training one")
    option(parser, "--workdir", env="SOCKSORT_DEMO_DIR", type=Path, default=None,
           help="where the demo keeps its dataset, model and show (default: .socksort/demo)")
    option(parser, "--classes", env="SOCKSORT_DEMO_CLASSES", type=positive_int, default=4,
           help="sock designs in the synthetic dataset")
    option(parser, "--per-class", env="SOCKSORT_DEMO_PER_CLASS", type=positive_int, default=30,
           help="photos per design")
    option(parser, "--seed", env="SOCKSORT_DEMO_SEED", type=non_negative_int, default=0,
           help="seed of the dataset and the show")
    option(parser, "--show-seconds", env="SOCKSORT_DEMO_SECONDS", type=positive_float, default=60.0,
           help="length of the synthetic show")
    option(parser, "--show-fps", env="SOCKSORT_DEMO_FPS", type=positive_float, default=30.0,
           help="frame rate of the synthetic show")
    option(parser, "--epochs", env="SOCKSORT_DEMO_EPOCHS", type=non_negative_int, default=1,
           help="fine-tuning epochs after the head warm-up")
    option(parser, "--listen", env="SOCKSORT_DASHBOARD_LISTEN", type=host_port,
           default=HostPort("127.0.0.1", contract.PORTS["dashboard"]), help="the dashboard's address")
    option(parser, "--edge-http", env="SOCKSORT_EDGE_HTTP", type=host_port,
           default=HostPort("127.0.0.1", contract.PORTS["edge"]), help="the edge function's page")
    option(parser, "--exit", env="DEMO_EXIT", type=yes_no, default=False, nargs="?", const=True,
           help="exit after the pairs line (status 0 only when all designs match) instead of serving")
    parser.set_defaults(func=run)


def run(args) -> int:
    if args.model is not None and not args.source:
        raise UserError("--model needs --source (SOURCE=...): the synthetic show has designs of its own")
    config = DemoConfig(workdir=args.workdir or paths.runtime_dir() / "demo", source=args.source or None,
                        model=args.model,
                        classes=args.classes, per_class=args.per_class, seed=args.seed,
                        show_seconds=args.show_seconds, show_fps=args.show_fps, epochs=args.epochs,
                        dashboard=args.listen, edge_http=args.edge_http, exit_after=args.exit)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    return Demo(config).run()
