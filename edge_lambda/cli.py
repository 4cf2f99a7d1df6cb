"""``socksort edge``: run the edge function on this machine's camera, a video or a network camera."""

from __future__ import annotations

import json
import re
import socket
import sys
from pathlib import Path

from socksort import config
from socksort.config import option
from socksort.contract import MQTT_TOPIC, PORTS
from socksort.edge_lambda.loop import EdgeConfig, run_edge
from socksort.edge_lambda.publish import DEFAULT_BUFFER, TlsOptions
from socksort.edge_lambda.status import EdgeStatus
from socksort.errors import UserError

HOSTNAME = socket.gethostname()


def optional(convert):
    """A validator that also accepts ``none``/``off``, meaning "do not use this"."""
    def value(text: str):
        return None if text.strip().lower() in ("none", "off", "") else convert(text)
    value.__name__ = getattr(convert, "__name__", "value")
    return value


def register(commands) -> None:
    p = commands.add_parser("edge", help="classify a camera's frames, stream them annotated, publish to MQTT",
                            description="Classify every frame from a camera, video file, network camera "
                                        "or image folder; serve the annotated live stream and publish "
                                        "each prediction as JSON to MQTT.")
    option(p, "--model", env="SOCKSORT_MODEL", type=config.existing_dir, required=False,
           help="a fixed model folder (model.json, labels.txt, model.onnx and/or MXNet files)")
    option(p, "--models", env="SOCKSORT_MODELS", type=store_folder, required=False,
           help="instead of --model: a model store (STORE/<id>/ + STORE/deployed) whose deployed model, "
                "else newest, is served and swapped in without a restart after each deploy; "
                "an empty store is waited on")
    option(p, "--source", env="SOCKSORT_SOURCE", default="0",
           help="webcam index, video file, image folder, rtsp:// or http:// URL, or 'awscam'")
    option(p, "--runtime", env="SOCKSORT_RUNTIME", type=config.one_of("auto", "mxnet", "onnx", "onnx-int8"),
           default="auto", help="inference runtime; auto prefers ONNX Runtime when model.onnx exists; "
                                "onnx-int8 runs the folder's model.int8.onnx (socksort train --int8)")
    option(p, "--mqtt-url", env="SOCKSORT_MQTT_URL", type=optional(config.mqtt_url),
           default=config.mqtt_url(f"mqtt://127.0.0.1:{PORTS['mqtt']}"),
           help="broker as mqtt[s]://user:pass@host:port, or 'none'")
    option(p, "--topic", env="SOCKSORT_TOPIC", default=MQTT_TOPIC, help="MQTT topic for predictions")
    option(p, "--http", env="SOCKSORT_EDGE_HTTP", type=optional(config.host_port),
           default=config.host_port(f"127.0.0.1:{PORTS['edge']}"),
           help="HOST:PORT of the live page, or 'none'")
    option(p, "--device", env="SOCKSORT_DEVICE", default=HOSTNAME,
           help="device name in each prediction")
    option(p, "--threshold", env="SOCKSORT_THRESHOLD", type=config.percent, default=0.0,
           help="below this probability (percent) a frame counts as Blank")
    option(p, "--top-k", env="SOCKSORT_TOP_K", type=config.positive_int, default=3,
           help="how many guesses each prediction lists")
    option(p, "--fps", env="SOCKSORT_FPS", type=config.positive_float,
           help="frame rate of an image folder (or of a video that does not say)")
    option(p, "--frames", env="SOCKSORT_FRAMES", type=config.positive_int,
           help="stop after classifying this many frames")
    option(p, "--buffer", env="SOCKSORT_MQTT_BUFFER", type=config.positive_int, default=DEFAULT_BUFFER,
           help="messages kept while the broker is away (oldest dropped first)")
    option(p, "--threads", env="SOCKSORT_THREADS", type=config.positive_int,
           help="inference threads (default: all cores)")
    option(p, "--stream-fps", env="SOCKSORT_STREAM_FPS", type=optional(config.positive_float), default=15.0,
           help="most frames per second drawn for the live stream and FIFO, or 'none' for every frame "
                "(frames are drawn only while a viewer waits for one)")
    option(p, "--fifo", env="SOCKSORT_FIFO", type=optional(str), help="also write JPEG frames to this FIFO "
           "(the DeepLens viewer reads /tmp/results.mjpeg)")
    option(p, "--tls-ca", env="SOCKSORT_MQTT_CA", type=config.existing_file,
           help="CA certificate for mqtts://")
    option(p, "--tls-cert", env="SOCKSORT_MQTT_CERT", type=config.existing_file,
           help="client certificate for mqtts://")
    option(p, "--tls-key", env="SOCKSORT_MQTT_KEY", type=config.existing_file,
           help="client key for mqtts://")
    option(p, "--tls-insecure", env="SOCKSORT_MQTT_TLS_INSECURE", type=config.yes_no, default=False, nargs="?", metavar="yes|no",
           const=True, help="do not check the broker's host name")
    option(p, "--loop", env="SOCKSORT_LOOP", type=config.yes_no, default=False, nargs="?", const=True, metavar="yes|no",
           help="replay a video file or folder forever")
    option(p, "--unthrottled", env="SOCKSORT_UNTHROTTLED", type=config.yes_no, default=False, nargs="?", const=True, metavar="yes|no",
           help="read a recording as fast as the model takes frames, every frame")
    option(p, "--match", env="SOCKSORT_MATCH", type=config.yes_no, default=False, nargs="?", const=True,
           metavar="yes|no", help="open set: no trained sock classes needed; label each showing sock-1, "
                                   "sock-2, ... and give two showings that look alike one label")
    match_threshold_option(p, "with --match, the similarity")
    option(p, "--match-service", env="SOCKSORT_MATCH_SERVICE", type=config.http_url,
           help="with --match, a `socksort match-service` URL that decides each showing with the looks of "
                "every camera using it (default: this camera alone)")
    option(p, "--match-state", env="SOCKSORT_MATCH_STATE", type=Path,
           help="with --match, the file that keeps the next sock number, so a restarted edge never reuses "
                "a label (default $SOCKSORT_HOME/edge/match-DEVICE.json)")
    p.add_argument("--json", action="store_true", help="print the final status as JSON")
    p.set_defaults(func=edge_command)


def match_threshold_option(parser, what: str = "the similarity") -> None:
    """--match-threshold, for the edge and the match service alike."""
    option(parser, "--match-threshold", env="SOCKSORT_MATCH_THRESHOLD", type=optional(config.similarity),
           default=None, help=f"{what} (-1 to 1) two showings need to be a pair; default: calibrated on "
                              "the showings so far")


def store_folder(text: str) -> Path:
    """A model store: a folder, or a path where one will be (the edge waits for a model)."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise ValueError("not a folder")
    return path


def edge_config(args):
    """Validated flags -> the EdgeConfig the loop runs with."""
    if args.model is None and args.models is None:
        raise UserError("--model DIR or --models STORE is required (or set SOCKSORT_MODEL / SOCKSORT_MODELS)")
    if args.model is not None and args.models is not None:
        raise UserError(f"--model {args.model} and --models {args.models} both given: use one (a fixed model "
                        "folder, or a store whose deployed model is followed)")
    if args.match_service and not args.match:
        raise UserError(f"--match-service {args.match_service} needs --match")
    tls = None
    if args.tls_ca or args.tls_cert or args.tls_key or args.tls_insecure:
        tls = TlsOptions(str(args.tls_ca) if args.tls_ca else None,
                         str(args.tls_cert) if args.tls_cert else None,
                         str(args.tls_key) if args.tls_key else None, args.tls_insecure)
    return EdgeConfig(model=args.model, source=args.source, runtime=args.runtime,
                      mqtt_url=args.mqtt_url, topic=args.topic, http=args.http, device=args.device,
                      threshold=args.threshold, top_k=args.top_k, loop=args.loop,
                      unthrottled=args.unthrottled, fps=args.fps, max_frames=args.frames,
                      fifo=args.fifo, buffer=args.buffer, threads=args.threads, tls=tls,
                      stream_fps=args.stream_fps, models=args.models, match=args.match,
                      match_threshold=args.match_threshold, match_service=args.match_service,
                      match_state=(args.match_state or match_state_default(args.device)) if args.match else None)


def match_state_default(device: str) -> Path:
    from socksort import paths

    return paths.runtime_dir() / "edge" / f"match-{re.sub(r'[^A-Za-z0-9._-]', '_', device)}.json"


def edge_command(args) -> int:
    edge = run_edge(edge_config(args), stop_on_sigterm=True)
    report = edge.status()
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        outputs = ", ".join(f"{o.name}: {o.published} published, {o.pending} undelivered, "
                            f"{o.dropped} dropped, {o.errors} errors" for o in report.outputs) or "no outputs"
        print(f"classified {report.classified} frames ({report.camera.dropped} dropped "
              f"by capture); {outputs}", file=sys.stderr)
    short = undelivered(report)
    if short:
        print(f"socksort: error: {short}", file=sys.stderr)
        return 1
    return 0


def undelivered(report: EdgeStatus) -> str:
    """What an output failed to deliver by the end (lost: still queued, in flight or
    dropped), as one line; empty when every output delivered every prediction."""
    return "; ".join(f"{o.name} delivered {o.published} of {report.classified} predictions"
                     + (f" ({o.error})" if o.error else "")
                     for o in report.outputs if o.published < report.classified)
