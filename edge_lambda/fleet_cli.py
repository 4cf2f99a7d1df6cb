"""``socksort camera`` and ``socksort worker``: many cameras through Kafka (issue 17); and
``socksort match-service``: matching by look across the cameras that run ``edge --match``.

A thin camera sends JPEG frames to ``camera_frames``; workers of the group
``socksort-workers`` classify them and produce one prediction per frame to ``data_mqtt``,
exactly once. Scale out by starting more workers, up to the topic's partitions.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from pathlib import Path

from socksort import config, contract
from socksort.config import option
from socksort.edge_lambda import fleet_kafka, framewire
from socksort.edge_lambda.camera import CameraConfig, ThinCamera
from socksort.edge_lambda.cli import match_threshold_option, optional
from socksort.edge_lambda.worker import inference, status_topic
from socksort.edge_lambda.worker.consumer import Worker, WorkerConfig
from socksort.errors import UserError

HOSTNAME = socket.gethostname()


def quality(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 100:
        raise ValueError("must be a JPEG quality from 1 to 100")
    return value


def http_address(text: str):
    """``HOST:PORT`` for the worker's health server, or ``off`` for none."""
    return "off" if text.strip().lower() in ("none", "off") else config.host_port(text)


def register(commands) -> None:
    _register_camera(commands)
    _register_worker(commands)
    _register_workers(commands)
    _register_match_service(commands)


def _register_match_service(commands) -> None:
    p = commands.add_parser(
        "match-service", help="match socks by look across cameras (for `socksort edge --match --match-service`)",
        description="Decide each showing of every `socksort edge --match --match-service URL` camera with the "
                    "looks of all of them, and number socks once for all; keep their showings for the "
                    "dashboard's corrections (its --showings-url).")
    option(p, "--listen", env="SOCKSORT_MATCH_SERVICE_LISTEN", type=config.host_port,
           default=config.HostPort("127.0.0.1", contract.PORTS["match"]), help="address to serve on")
    match_threshold_option(p)
    option(p, "--state", env="SOCKSORT_MATCH_SERVICE_STATE", type=Path,
           help="the file that keeps the next sock number across restarts "
                "(default $SOCKSORT_HOME/match-service.json)")
    p.add_argument("--json", action="store_true", help="when stopped, print what it decided as JSON")
    p.set_defaults(func=match_service_command)


def match_service_command(args) -> int:
    from socksort import paths
    from socksort.edge_lambda import signals
    from socksort.edge_lambda.album import LabelNumbers
    from socksort.edge_lambda.match_service import MatchService, MatchServiceServer
    from socksort.edge_lambda.showings import Threshold

    log = lambda text: print(f"socksort match-service: {text}", file=sys.stderr, flush=True)  # noqa: E731
    numbers = LabelNumbers(args.state or paths.runtime_dir() / "match-service.json", warn=log)
    service = MatchService(Threshold(fixed=args.match_threshold), numbers)
    server = MatchServiceServer(args.listen, service).start()
    log(f"matching on {server.url}/ (edges: socksort edge --match --match-service {server.url})")
    stop = threading.Event()
    signals.stop_on_sigterm(stop.set)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    entries = service.album.entries()
    summary = {"showings": len(entries), "pools": service.pools,
               "pairs": sum(e.partner is not None for e in entries) // 2}
    print(json.dumps(summary) if args.json else
          f"socksort match-service: {summary['showings']} showings, {summary['pairs']} pairs, "
          f"{summary['pools']} models", file=sys.stdout if args.json else sys.stderr)
    return 0


def _register_workers(commands) -> None:
    p = commands.add_parser("workers", help="list the running inference workers and their cameras",
                            description="The workers reporting on socksort_worker_status: partitions, "
                                        "frames/s, lag, and per camera frames/s and lag.")
    _bootstrap_option(p)
    p.add_argument("--json", action="store_true", help="one JSON list of the workers' snapshots")
    p.set_defaults(func=workers_command)


def _bootstrap_option(parser) -> None:
    option(parser, "--bootstrap", env="SOCKSORT_BOOTSTRAP",
           help="Kafka bootstrap servers HOST:PORT[,...] (default: the running local stack's, "
                "else 127.0.0.1:9092)")


def _register_camera(commands) -> None:
    p = commands.add_parser("camera", help="a thin camera: send JPEG frames to Kafka for the workers",
                            description="Read any source `socksort edge` reads, encode each frame as JPEG "
                                        "and produce it to the Kafka topic camera_frames (key: the device; "
                                        "headers ts, seq, content-type). No model runs here.")
    option(p, "--source", env="SOCKSORT_SOURCE", default="0",
           help="webcam index, video file, image folder, rtsp:// or http:// URL, or 'awscam'")
    option(p, "--device", env="SOCKSORT_DEVICE", default=HOSTNAME, help="device id: the record key")
    option(p, "--fps", env="SOCKSORT_FPS", type=config.positive_float,
           help="frame rate of a recording, or the most frames per second sent from a live camera")
    option(p, "--quality", env="SOCKSORT_JPEG_QUALITY", type=quality, default=80, help="JPEG quality")
    option(p, "--max-side", env="SOCKSORT_MAX_SIDE", type=optional(config.positive_int), default=640,
           help="shrink frames so their longer side is at most this many pixels, or 'none'")
    option(p, "--queue", env="SOCKSORT_CAMERA_QUEUE", type=config.positive_int, default=30,
           help="frames kept while Kafka is slow (oldest dropped first, counted)")
    option(p, "--frames", env="SOCKSORT_FRAMES", type=config.positive_int,
           help="stop after sending this many frames")
    option(p, "--loop", env="SOCKSORT_LOOP", type=config.yes_no, default=False, nargs="?", const=True,
           metavar="yes|no", help="replay a video file or folder forever")
    option(p, "--partition", env="SOCKSORT_FRAME_PARTITION", type=config.non_negative_int,
           help="put this camera's frames on this partition of camera_frames (default: Kafka's hash of "
                "the device id; a few cameras often hash onto the same partition, and so the same worker)")
    _bootstrap_option(p)
    p.add_argument("--json", action="store_true", help="print the final counts as JSON")
    p.set_defaults(func=camera_command)


def _register_worker(commands) -> None:
    p = commands.add_parser("worker", help="an inference worker: classify camera frames from Kafka, exactly once",
                            description="Join the consumer group socksort-workers, classify the frames of "
                                        "camera_frames in batches across cameras and produce one prediction "
                                        "per frame to data_mqtt, inside Kafka transactions. Serves /healthz "
                                        "and /metrics.")
    option(p, "--model", env="SOCKSORT_MODEL", type=config.existing_dir,
           help="model folder (model.json, labels.txt, model.onnx)")
    option(p, "--models", env="SOCKSORT_MODELS", type=config.existing_dir,
           help="model store: serve its deployed model (else the newest) and follow new deploys")
    option(p, "--max-batch", env="SOCKSORT_MAX_BATCH", type=config.positive_int, default=8,
           help="most frames (of any cameras) in one model call")
    option(p, "--max-lag", env="SOCKSORT_MAX_LAG", type=optional(config.positive_float), default=None,
           help="skip (and count) frames older than this many seconds instead of classifying them late "
                "(default: off, every frame is classified)")
    option(p, "--max-bytes", env="SOCKSORT_MAX_BYTES", type=config.positive_int,
           default=framewire.DEFAULT_MAX_BYTES, help="refuse frames larger than this")
    option(p, "--http", env="SOCKSORT_WORKER_HTTP", type=http_address,
           help="HOST:PORT for /healthz and /metrics, or 'none' (default: a free port on 127.0.0.1)")
    option(p, "--threads", env="SOCKSORT_THREADS", type=config.positive_int,
           help="inference threads (default: all cores)")
    option(p, "--runtime", env="SOCKSORT_RUNTIME", type=config.one_of(*inference.RUNTIMES), default="onnx",
           help="onnx, or onnx-int8: the model folder's model.int8.onnx (socksort quantize), faster on "
                "CPUs with fast 8-bit arithmetic")
    option(p, "--threshold", env="SOCKSORT_THRESHOLD", type=config.percent, default=0.0,
           help="below this probability (percent) a frame counts as Blank")
    option(p, "--top-k", env="SOCKSORT_TOP_K", type=config.positive_int, default=3,
           help="how many guesses each prediction lists")
    _bootstrap_option(p)
    p.set_defaults(func=worker_command)


def camera_command(args) -> int:
    if not args.device.strip():
        raise UserError("--device must not be empty: it is the record key")
    camera = ThinCamera(CameraConfig(
        source=args.source, device=args.device, bootstrap=args.bootstrap or fleet_kafka.default_bootstrap(),
        fps=args.fps, quality=args.quality, max_side=args.max_side, queue=args.queue,
        frames=args.frames, loop=args.loop, partition=args.partition))
    camera.start()
    camera.run(stop_on_sigterm=True)
    counts = {"device": args.device, "queued": camera.queued, "sent": camera.sent,
              "dropped_by_queue": camera.queue.dropped, "skipped_by_capture": camera.slot.dropped,
              "refused": camera.failed}
    if args.json:
        print(json.dumps(counts, indent=2))
    else:
        print(f"socksort camera: {camera.summary()}", file=sys.stderr)
    if camera.undelivered() > camera.queue.dropped:
        print(f"socksort: error: Kafka acknowledged {camera.sent} of {camera.queued - camera.queue.dropped} "
              f"frames sent" + (f" ({camera.last_error})" if camera.last_error else ""), file=sys.stderr)
        return 1
    return 0


def worker_command(args) -> int:
    if (args.model is None) == (args.models is None):
        raise UserError("give one of --model DIR or --models STORE")
    http = None if args.http == "off" else args.http or config.HostPort("127.0.0.1", 0)
    worker = Worker(WorkerConfig(
        bootstrap=args.bootstrap or fleet_kafka.default_bootstrap(), model=args.model, models=args.models,
        max_batch=args.max_batch, max_lag=args.max_lag, max_bytes=args.max_bytes, http=http,
        threads=args.threads, threshold=args.threshold, top_k=args.top_k, runtime=args.runtime))
    worker.start()
    worker.run(stop_on_sigterm=True)
    snap = worker.metrics.snapshot()
    print(f"socksort worker: {snap['frames']} frames classified, {snap['skipped']} skipped as too old, "
          f"{snap['bad']} refused, {snap['transactions']} transactions ({snap['aborted']} aborted)",
          file=sys.stderr)
    return 0


def workers_command(args) -> int:
    bootstrap = args.bootstrap or fleet_kafka.default_bootstrap()
    snapshots = status_topic.fresh(fleet_kafka.latest_by_key(bootstrap, contract.WORKER_STATUS_TOPIC),
                                   int(time.time() * 1000))
    if args.json:
        print(json.dumps(snapshots, indent=2))
        return 0
    if not snapshots:
        print(f"no worker is reporting on {contract.WORKER_STATUS_TOPIC} at {bootstrap}")
        return 0
    for snap in snapshots:
        parts = ",".join(map(str, snap["partitions"])) or "-"
        print(f"{snap['worker']}  {snap['state']}  partitions {parts}  {snap['fps']:.1f} frames/s  "
              f"lag p50 {snap['lag_p50_s']:.2f}s p99 {snap['lag_p99_s']:.2f}s  {snap['skipped']} skipped  "
              f"{snap['bad']} refused  {snap.get('http') or ''}")
        for device, cam in snap["cameras"].items():
            print(f"    {device:<24} {cam['fps']:6.1f} frames/s  lag {cam['lag_s']:.2f}s  "
                  f"{cam['frames']} frames  {cam['skipped']} skipped")
    return 0
