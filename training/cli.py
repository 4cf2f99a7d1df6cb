"""Commands of the training stage, registered on the one `socksort` CLI."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

from socksort import atomic
from socksort.config import (existing_dir, existing_file, non_negative_int, one_of, option, positive_float,
                             positive_int)
from socksort.errors import UserError
from socksort.modelstore import ModelStore
from socksort.training import box_head, boxes, data, evaluate, from_images, models_cli, plots, sagemaker, train_job
from socksort.training import match_cli, quantize, quantize_cli
from socksort.training.backbones import BACKBONES, build, count_parameters
from socksort.training.imagenet_export import export_imagenet
from socksort.training.predict import Classifier, read_image, top_k
from socksort.training.sagemaker_import import import_sagemaker
from socksort.training.train import TrainConfig

# The AWS SDK (boto3, about 0.3 s to import) is imported inside `sagemaker train` only.


def register(commands) -> None:
    """Add this stage's subcommands to `commands` (argparse subparsers)."""
    _register_backbones(commands)
    _register_train(commands)
    _register_predict(commands)
    _register_evaluate(commands)
    _register_sagemaker(commands)
    models_cli.register(commands)
    quantize_cli.register(commands)
    match_cli.register(commands)


def _register_sagemaker(commands) -> None:
    parser = commands.add_parser("import-sagemaker", help="turn SageMaker's image-classification model.tar.gz "
                                                          "into a model folder")
    parser.add_argument("archive", type=Path, metavar="MODEL_TAR_GZ")
    option(parser, "--labels", type=existing_file, required=True, help="class list, one per line, in label order")
    option(parser, "--out", type=Path, required=True, help="model folder to write")
    parser.set_defaults(func=_import_sagemaker)

    sm = commands.add_parser("sagemaker", help="train with SageMaker's built-in image-classification algorithm")
    sub = sm.add_subparsers(dest="sagemaker_command", metavar="<action>")
    sub.required = True
    train = sub.add_parser("train", help="upload .rec files, run a training job, import its model",
                           description="Upload the .rec files to S3, start a training job with the "
                                       "image-classification algorithm (the seed project's hyperparameters "
                                       "by default), follow it, download and import model.tar.gz.")
    option(train, "--bucket", env="SOCKSORT_S3_BUCKET", required=True, help="S3 bucket for data and output")
    option(train, "--prefix", env="SOCKSORT_S3_PREFIX", default="socksort", help="key prefix in the bucket")
    option(train, "--role", env="SOCKSORT_SAGEMAKER_ROLE", required=True, help="IAM role ARN for the job")
    option(train, "--train", type=existing_file, required=True, help="PREFIX_train.rec")
    option(train, "--val", type=existing_file, required=True, help="PREFIX_val.rec")
    option(train, "--labels", type=existing_file, help="class list (default: PREFIX_classes.txt beside --train)")
    option(train, "--out", type=Path, required=True, help="model folder to write")
    option(train, "--job-name", type=_job_name, help="training job name (default: socksort-<time>)")
    option(train, "--instance-type", default="ml.p3.2xlarge", help="training instance type")
    option(train, "--image", help="algorithm image URI (default: image-classification:1 of the region)")
    option(train, "--region", env="AWS_DEFAULT_REGION", default="us-east-1", help="AWS region")
    option(train, "--s3-endpoint", env="SOCKSORT_S3_ENDPOINT", help="S3-compatible endpoint URL (e.g. a local one)")
    option(train, "--poll", type=positive_float, default=30.0, help="seconds between job status checks")
    train.add_argument("--hyperparameter", action="append", default=[], metavar="KEY=VALUE",
                       help="override one of the algorithm's hyperparameters (repeatable)")
    train.set_defaults(func=_sagemaker_train)


def _job_name(text: str) -> str:
    return sagemaker.valid_job_name(text)


def _import_sagemaker(args) -> int:
    card = import_sagemaker(args.archive, args.labels, args.out)
    print(f"wrote {args.out}: {len(card.classes)} classes, input {card.preprocess.input_size} px, ONNX agrees "
          f"with MXNet on {card.extra['onnx_check']['top1_agree']}/{card.extra['onnx_check']['images']} images")
    return 0


def _sagemaker_train(args) -> int:
    import boto3
    import botocore.exceptions

    hyper = dict(sagemaker.SEED_HYPERPARAMETERS)
    for item in args.hyperparameter:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"--hyperparameter {item!r}: expected KEY=VALUE")
        hyper[key] = value
    spec = sagemaker.JobSpec(bucket=args.bucket, prefix=args.prefix, role=args.role,
                             job_name=args.job_name or time.strftime("socksort-%Y%m%d-%H%M%S", time.gmtime()),
                             instance_type=args.instance_type, image=args.image, hyperparameters=hyper)
    labels = args.labels or data.default_labels_path(args.train)
    try:
        s3 = boto3.client("s3", region_name=args.region, endpoint_url=args.s3_endpoint)
        sm = boto3.client("sagemaker", region_name=args.region)
        card = sagemaker.run(s3, sm, spec, args.train, args.val, labels, args.out, args.region, args.poll)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise UserError(f"AWS: {exc}") from None
    print(f"wrote {args.out}: {len(card.classes)} classes from training job {spec.job_name}")
    return 0


def _register_predict(commands) -> None:
    parser = commands.add_parser("predict", help="classify images with a model folder",
                                 description="Print the top-k classes of each image.")
    option(parser, "--model", type=Path, env="SOCKSORT_MODEL", required=True, help="model folder")
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    option(parser, "--top", type=positive_int, default=3, help="classes shown per image")
    parser.add_argument("--json", action="store_true",
                        help='one JSON object per line: {"path", "top": [{"label", "probability"}]} '
                             '(with --boxes: {"path", "objects": [...]})')
    parser.add_argument("--boxes", action="store_true",
                        help="find every object in each image: label, probability and box in pixels")
    parser.set_defaults(func=_predict)


def _predict(args) -> int:
    classifier = Classifier(args.model)
    images = [read_image(path) for path in args.images]  # all readable before any output
    if args.boxes:
        return _predict_boxes(args, classifier, images)
    for path, probabilities in zip(args.images, classifier.probabilities(images)):
        top = top_k(probabilities, classifier.classes, args.top)
        if args.json:
            print(json.dumps({"path": str(path), "top": top}))
        else:
            print(f"{path}: " + ", ".join(f"{t['label']} {t['probability']:.1f}%" for t in top))
    return 0


def _predict_boxes(args, classifier, images) -> int:
    for path, objects in zip(args.images, classifier.objects(images)):
        if args.json:
            print(json.dumps({"path": str(path), "objects": [o.to_dict() for o in objects]}))
        else:
            found = ", ".join(f"{o.label} {o.probability:.1f}% at {o.box.left},{o.box.top} "
                              f"{o.box.width}x{o.box.height}" for o in objects)
            print(f"{path}: {found or 'nothing found'}")
    return 0


def _register_evaluate(commands) -> None:
    parser = commands.add_parser("evaluate", help="accuracy of a model folder on labelled photos",
                                 description="Accuracy, per-class accuracy and confusion matrix on "
                                             "DATA_DIR/<label>/*.jpg. With --boxes --truth TRUTH_JSON: "
                                             "per-object precision and recall at IoU >= 0.5 and label "
                                             "accuracy of the matched objects on labelled scenes (the "
                                             "truth.json of socksort synth scene).")
    option(parser, "--model", type=Path, env="SOCKSORT_MODEL", required=True, help="model folder")
    parser.add_argument("data_dir", type=Path, metavar="DATA_DIR", nargs="?")
    parser.add_argument("--json", action="store_true", help="the figures as one JSON object")
    option(parser, "--plot", type=Path, help="also draw the confusion matrix into this PNG file")
    parser.add_argument("--boxes", action="store_true", help="score the objects found against --truth")
    option(parser, "--truth", type=existing_file, help="with --boxes: the scenes' truth.json")
    option(parser, "--method", type=one_of("decoder", "window"), default="decoder",
           help="with --boxes: the model's box decoder, or the sliding-window reference")
    parser.set_defaults(func=_evaluate)


def _evaluate_boxes(args) -> int:
    if args.truth is None:
        raise UserError("--boxes needs --truth TRUTH_JSON (what socksort synth scene writes)")
    if args.data_dir is not None or args.plot is not None:
        raise UserError("--boxes scores the scenes of --truth; DATA_DIR and --plot are for whole photos")
    scores = boxes.evaluate_boxes(Classifier(args.model), args.truth, args.method)
    print(json.dumps({"method": args.method, **scores.to_dict()}) if args.json else boxes.report(scores, args.method))
    return 0


def _evaluate(args) -> int:
    if args.boxes:
        return _evaluate_boxes(args)
    if args.truth is not None:
        raise UserError("--truth goes with --boxes")
    if args.data_dir is None:
        raise UserError("DATA_DIR is required (a folder of DATA_DIR/<label>/*.jpg), or --boxes --truth TRUTH_JSON")
    scores = evaluate.evaluate(args.model, args.data_dir)
    if args.plot:
        atomic.write_bytes(args.plot, plots.confusion_matrix(scores.confusion, scores.classes,
                                                             f"{args.data_dir.name}: {100 * scores.accuracy:.1f}%"))
    print(json.dumps(scores.to_dict()) if args.json else evaluate.report(scores))
    return 0


def _register_train(commands) -> None:
    d = TrainConfig()
    parser = commands.add_parser(
        "train", help="train a model: from .rec files into a folder, or from photos into a model store",
        description="Fine-tune an ImageNet backbone on im2rec's .rec files (--train/--val/--out): a head "
                    "warm-up with the backbone frozen, then full fine-tuning at a lower rate with early "
                    "stopping. Or train straight from a photo folder DIR/<label>/*.jpg into a model store "
                    "(--images/--models), quick (a new head on cached embeddings, seconds) or full "
                    "(the fine-tune), recording which photos made the model. Writes the model folder "
                    "(MXNet, ONNX, labels.txt, model.json) with training curves and a confusion matrix.")
    option(parser, "--train", type=existing_file, help="training records, PREFIX_train.rec")
    option(parser, "--val", type=existing_file, help="validation records, PREFIX_val.rec")
    option(parser, "--out", type=Path, help="model folder to write, e.g. models/socks")
    option(parser, "--images", type=existing_dir, help="photo folder DIR/<label>/*.jpg to train from "
                                                       "(with --models, instead of --train/--val/--out)")
    option(parser, "--models", type=Path, env="SOCKSORT_MODELS", help="model store to train into: STORE/<id>/")
    option(parser, "--mode", type=one_of(*from_images.MODES), help="with --images: quick (default with --quick) "
                                                                  "or full (default)")
    parser.add_argument("--quick", action="store_true", help="with --images: same as --mode quick")
    parser.add_argument("--deploy", action="store_true", help="with --images: deploy the model when trained")
    parser.add_argument("--events", action="store_true",
                        help='with --images: one JSON event per line on stdout ({"type": "step"|"epoch"|"done"})')
    parser.add_argument("--json", action="store_true", help="with --images: the result as one JSON object")
    option(parser, "--labels", type=existing_file, help="class list (default: PREFIX_classes.txt beside --train)")
    option(parser, "--backbone", env="SOCKSORT_BACKBONE", default=d.backbone,
           help="ImageNet backbone (see socksort backbones)")
    option(parser, "--epochs", type=non_negative_int, default=d.epochs, help="fine-tuning epochs at most")
    option(parser, "--warmup-epochs", type=non_negative_int, default=d.warmup_epochs,
           help="head-only epochs with the backbone frozen")
    option(parser, "--batch-size", type=positive_int, default=d.batch_size, help="images per step")
    option(parser, "--lr", type=positive_float, default=d.lr,
           help="learning rate of the head warm-up; fine-tuning uses a hundredth")
    option(parser, "--input-size", type=positive_int, default=d.input_size, help="network input, pixels square")
    option(parser, "--patience", type=positive_int, default=d.patience,
           help="stop after this many fine-tuning epochs without a better validation result")
    option(parser, "--workers", type=non_negative_int, env="SOCKSORT_TRAIN_WORKERS", default=d.workers,
           help="data loading worker processes")
    option(parser, "--seed", type=non_negative_int, default=d.seed, help="random seed")
    parser.add_argument("--from-scratch", action="store_true",
                        help="random initial weights instead of ImageNet's (for comparison)")
    parser.add_argument("--int8", action="store_true",
                        help="also write model.int8.onnx (INT8, calibrated on the training photos) and report "
                             "its accuracy and speed against FP32 on the validation photos")
    option(parser, "--box-scenes", type=non_negative_int, env="SOCKSORT_BOX_SCENES", default=None,
           help="scenes made from the training photos to teach the box head (default: "
                f"{box_head.SCENES_PER_PHOTO} per photo, {box_head.MIN_SCENES}-{box_head.MAX_SCENES}, and "
                "none in quick mode); 0: no box head, boxes from the feature map alone")
    parser.add_argument("--box-head", action="store_true",
                        help="teach the box head in quick mode too (it adds minutes: 6.3 for 80 photos on 2 cores "
                             "beside another training; full mode always does)")
    parser.set_defaults(func=_train)


def _train(args) -> int:
    if args.images is not None or args.models is not None:
        return _train_images(args)
    for name in ("train", "val", "out"):
        if getattr(args, name) is None:
            raise UserError(f"--{name} is required (or train from photos with --images DIR --models STORE)")
    for name in ("mode", "quick", "deploy", "events", "json"):
        if getattr(args, name):
            raise UserError(f"--{name} goes with --images/--models, not with .rec files")
    if args.box_head:
        raise UserError("--box-head goes with --images/--models quick mode; .rec training always teaches the head")
    cfg = TrainConfig(backbone=args.backbone, epochs=args.epochs, warmup_epochs=args.warmup_epochs,
                      batch_size=args.batch_size, lr=args.lr, input_size=args.input_size,
                      patience=args.patience, workers=args.workers, seed=args.seed,
                      pretrained=not args.from_scratch)
    card, result = train_job.run(args.train, args.val, args.labels, args.out, cfg, int8=args.int8,
                                 boxes=box_head.BoxHeadConfig(scenes=args.box_scenes))
    print(train_job.summary_table(result))
    check = card.extra["onnx_check"]
    print(f"wrote {args.out}: {len(card.classes)} classes, validation accuracy {100 * card.val_accuracy:.1f}%, "
          f"ONNX agrees with MXNet on {check['top1_agree']}/{check['images']} validation images")
    _print_int8(card)
    return 0


def _print_int8(card) -> None:
    if "int8" in card.extra:
        print(quantize.Int8Report(**card.extra["int8"]).summary())


def _train_images(args) -> int:
    if args.images is None or args.models is None:
        raise UserError("--images and --models go together: the photo folder and the model store")
    for name in ("train", "val", "out", "labels"):
        if getattr(args, name) is not None:
            raise UserError(f"--{name} is for .rec files; with --images the photos are split by themselves")
    if args.quick and args.mode == "full":
        raise UserError("--quick contradicts --mode full")
    if args.models.exists() and not args.models.is_dir():
        raise UserError(f"--models {args.models} is a file, not a model store folder")
    mode = "quick" if args.quick else (args.mode or "full")
    full = TrainConfig(backbone=args.backbone, epochs=args.epochs, warmup_epochs=args.warmup_epochs,
                       batch_size=args.batch_size, lr=args.lr, input_size=args.input_size,
                       patience=args.patience, workers=args.workers, seed=args.seed,
                       pretrained=not args.from_scratch)
    emit = _stoppable(_print_event if args.events else (lambda event: None))
    # A training stopped by SIGTERM (the teach API's cancel) unwinds like Ctrl-C, so the
    # model folder being written is removed rather than left half-written.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        outcome = from_images.train_from_images(args.images, args.models, mode, emit, backbone=args.backbone,
                                                full=full, int8=args.int8, boxes=_boxes(args))
    except UserError as exc:
        emit({"type": "error", "error": str(exc)})
        raise
    store = ModelStore(args.models)
    if args.deploy:
        store.deploy(outcome.model.id)
    card = outcome.model.card
    emit({"type": "done", "model": outcome.model.id, "reused": outcome.reused})
    if args.json:
        print(json.dumps({"model": outcome.model.id, "reused": outcome.reused, "folder": str(outcome.model.folder),
                          "mode": card.mode, "dataset_version": card.dataset_version,
                          "val_accuracy": card.val_accuracy, "deployed": store.deployed() == outcome.model.id,
                          **({"int8": card.extra["int8"]} if "int8" in card.extra else {})}))
    elif not args.events:
        print(f"{'found' if outcome.reused else 'wrote'} model {outcome.model.id} in {args.models}: "
              f"{len(card.classes)} classes, {card.mode} mode, validation accuracy "
              f"{100 * (card.val_accuracy or 0):.1f}%{', deployed' if args.deploy else ''}")
        _print_int8(card)
    return 0


def _boxes(args) -> box_head.BoxHeadConfig | None:
    """The box head asked for; None leaves it to the mode (none in quick mode)."""
    if args.box_head and args.box_scenes == 0:
        raise UserError("--box-head contradicts --box-scenes 0 (no box head)")
    if args.box_scenes is None and not args.box_head:
        return None
    return box_head.BoxHeadConfig(scenes=args.box_scenes)


def _print_event(event: dict) -> None:
    print(json.dumps(event), flush=True)


_STOPPING = threading.Event()


def _interrupt(signum, frame) -> None:
    _STOPPING.set()
    raise KeyboardInterrupt


def _stoppable(emit):
    """``emit``, raising KeyboardInterrupt at the next event once SIGTERM came: the
    handler's own KeyboardInterrupt is lost when it lands in a finaliser (MXNet's data
    loader's ``__del__`` drops it), and every training step sends an event."""
    def send(event: dict) -> None:
        if _STOPPING.is_set():
            raise KeyboardInterrupt
        emit(event)
    return send


def _register_backbones(commands) -> None:
    parser = commands.add_parser("backbones", help="list the ImageNet backbones, or export one as a model",
                                 description="List the ImageNet backbones training can start from; "
                                             "'export' writes one's ImageNet classifier as a model folder.")
    parser.add_argument("--json", action="store_true", help="one JSON object per backbone")
    parser.set_defaults(func=_backbones_list)
    sub = parser.add_subparsers(dest="backbones_command", metavar="<action>")
    export = sub.add_parser("export", help="write a backbone's 1000-class ImageNet classifier as a model folder")
    export.add_argument("name", help="backbone name, e.g. efficientnet_lite0")
    option(export, "--out", type=Path, required=True, help="model folder to write")
    export.set_defaults(func=_backbones_export)


def _backbones_list(args) -> int:
    rows = []
    for backbone in BACKBONES.values():
        net = build(backbone.name, 1000, pretrained=False)
        rows.append({"name": backbone.name, "input_size": backbone.input_size,
                     "parameters": count_parameters(net), "weights_here": backbone.available(),
                     "source": backbone.source})
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    print(f"{'backbone':<20}{'input':>7}{'params':>10}  {'weights here':<13}source")
    for row in rows:
        print(f"{row['name']:<20}{row['input_size']:>7}{row['parameters'] / 1e6:>9.2f}M  "
              f"{'yes' if row['weights_here'] else 'no':<13}{row['source']}")
    return 0


def _backbones_export(args) -> int:
    card = export_imagenet(args.name, args.out)
    check = card.extra["onnx_check"]
    print(f"wrote {args.out}: {card.backbone}, {len(card.classes)} classes, ONNX top-1 agrees with MXNet "
          f"on {check['top1_agree']}/{check['images']} images (max |diff| {check['max_abs_diff']:.2e})")
    return 0
