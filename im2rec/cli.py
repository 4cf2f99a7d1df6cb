"""Commands of the im2rec stage: ``synth dataset``, ``synth show``, ``synth scene``, ``capture``,
``im2rec``."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from socksort import config
from socksort.config import option
from socksort.contract import BLANK_LABEL
from socksort.errors import UserError
from socksort.im2rec import capture, dataset, designs, lists, pack, scenes, sheet, show

LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.+-]{0,63}$")


def size(text: str) -> tuple[int, int]:
    """WIDTHxHEIGHT in pixels, e.g. 640x480."""
    width, sep, height = text.lower().partition("x")
    try:
        value = (int(width), int(height)) if sep else None
    except ValueError:
        value = None
    if value is None or min(value) < 32 or max(value) > 4096:
        raise ValueError("expected WIDTHxHEIGHT between 32 and 4096 pixels, e.g. 640x480")
    return value


def register(commands) -> None:
    """Add this stage's subcommands to `commands` (argparse subparsers)."""
    _register_synth(commands)
    _register_capture(commands)
    _register_im2rec(commands)


def _register_synth(commands) -> None:
    synth = commands.add_parser("synth", help="synthetic sock photos and videos (no camera needed)")
    kinds = synth.add_subparsers(dest="synth_command", metavar="<what>")
    kinds.required = True

    data = kinds.add_parser("dataset", help="write DIR/<class>/*.jpg for N sock designs plus Blank")
    option(data, "--out", type=Path, required=True, help="folder to create")
    option(data, "--classes", type=config.positive_int, default=8, help="number of sock designs")
    option(data, "--per-class", type=config.positive_int, default=30, help="photos per class")
    option(data, "--seed", type=config.non_negative_int, default=0, help="seed for the photos")
    option(data, "--designs-seed", type=config.non_negative_int, default=None,
           help="seed for the designs (default: the fixed catalogue)")
    option(data, "--size", type=size, default="640x480", help="photo size WIDTHxHEIGHT")
    option(data, "--num-thread", type=config.positive_int, default=2,
           help="photos drawn at once (the output does not depend on it)")
    data.add_argument("--reuse", action="store_true",
                      help="keep --out if it already holds this exact dataset; replace it if it holds "
                           "another synth dataset (made with other flags or an older socksort)")
    data.set_defaults(func=_synth_dataset)

    show_parser = kinds.add_parser("show", help="a video of socks shown one (or two) at a time, plus truth.json")
    option(show_parser, "--out", type=Path, required=True, help="video file to write (.mp4 or .avi)")
    option(show_parser, "--truth", type=Path, default=None,
           help="where to write the truth (default: next to the video, NAME.truth.json)")
    option(show_parser, "--classes-from", type=config.existing_dir, required=True,
           help="a `synth dataset` folder; its synth.json names the designs")
    option(show_parser, "--seed", type=config.non_negative_int, default=0, help="seed for the show")
    option(show_parser, "--fps", type=config.positive_float, default=30.0, help="frames per second")
    option(show_parser, "--seconds", type=config.positive_float, default=60.0, help="length of the video")
    option(show_parser, "--size", type=size, default="640x480", help="frame size WIDTHxHEIGHT")
    option(show_parser, "--num-thread", type=config.positive_int, default=2,
           help="frames drawn at once (the video does not depend on it)")
    option(show_parser, "--back-to-back", type=config.non_negative_int, default=1,
           help="how often a design is shown again right after itself (when the designs allow)")
    option(show_parser, "--back-to-back-gap", type=config.positive_float, default=1.0,
           help="seconds of empty wall between those two showings (at most 1)")
    option(show_parser, "--shutter", type=config.non_negative_float, default=0.02,
           help="exposure of each frame in seconds: a moving sock smears along its path "
                "for this long (0: no motion blur)")
    option(show_parser, "--max-socks", type=int, choices=[1, 2], default=1,
           help="2: about half the showings hold two socks up together, a pair or two designs")
    option(show_parser, "--boxes", type=Path, default=None,
           help="also write each frame's socks and their boxes here (JSON lines)")
    show_parser.set_defaults(func=_synth_show)

    _register_scene(kinds)

    sheet_parser = kinds.add_parser("sheet", help="one picture of every design in a dataset, with its name")
    option(sheet_parser, "--classes-from", type=config.existing_dir, required=True,
           help="a `synth dataset` folder; its synth.json names the designs")
    option(sheet_parser, "--out", type=Path, required=True, help="picture to write (.png or .jpg)")
    sheet_parser.set_defaults(func=_synth_sheet)


def _register_scene(kinds) -> None:
    parser = kinds.add_parser("scene", help="photos of 0-3 socks lying together, plus truth.json with "
                                            "each sock's box")
    option(parser, "--classes-from", type=_dataset_folder, required=True,
           help="a `synth dataset` folder; its synth.json names the designs")
    option(parser, "--out", type=Path, required=True, help="folder to create: scene-00000.jpg ... + truth.json")
    option(parser, "--count", type=config.positive_int, default=100, help="photos to draw")
    option(parser, "--seed", type=config.non_negative_int, default=0, help="seed for the photos")
    option(parser, "--min-socks", type=config.non_negative_int, default=0, help="fewest socks in a photo")
    option(parser, "--max-socks", type=config.non_negative_int, default=3, help="most socks in a photo")
    option(parser, "--max-overlap", type=_share, default=0.3,
           help="most of a sock's area another may hide (0 for no overlap)")
    option(parser, "--size", type=size, default="640x480", help="photo size WIDTHxHEIGHT")
    option(parser, "--num-thread", type=config.positive_int, default=2,
           help="photos drawn at once (the output does not depend on it)")
    parser.add_argument("--json", action="store_true", help='print {"out", "scenes", "objects"} on one line')
    parser.set_defaults(func=_synth_scene)


def _dataset_folder(text: str) -> str:
    """An existing folder, kept as typed: truth.json names the dataset as it was given."""
    config.existing_dir(text)
    return text


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("not a number") from None
    if not 0 <= value < 1:
        raise ValueError("must be from 0 up to (not including) 1")
    return value


def _synth_scene(args) -> int:
    spec = scenes.SceneSpec(out=args.out, classes_from=args.classes_from, count=args.count, seed=args.seed,
                            min_socks=args.min_socks, max_socks=args.max_socks, max_overlap=args.max_overlap,
                            width=args.size[0], height=args.size[1], threads=args.num_thread)
    truth = scenes.generate(spec)
    objects = sum(len(s["objects"]) for s in truth["scenes"])
    if args.json:
        print(json.dumps({"out": str(args.out), "scenes": len(truth["scenes"]), "objects": objects}))
    else:
        print(f"wrote {len(truth['scenes'])} scenes with {objects} socks and their truth to "
              f"{args.out / scenes.TRUTH}")
    return 0


def _synth_dataset(args) -> int:
    spec = dataset.DatasetSpec(
        out=args.out, classes=args.classes, per_class=args.per_class, seed=args.seed,
        designs_seed=designs.DEFAULT_DESIGNS_SEED if args.designs_seed is None else args.designs_seed,
        width=args.size[0], height=args.size[1], threads=args.num_thread)
    outcome = dataset.generate(spec, reuse=args.reuse)
    info = outcome.manifest
    names = ", ".join(d["name"] for d in info["designs"])
    done = "kept the identical dataset in" if outcome.reused else "wrote"
    print(f"{done} {args.out}: {sum(info['counts'].values())} photos of {len(info['counts'])} classes: "
          f"{names}, {info['blank']}")
    return 0


def _synth_show(args) -> int:
    truth_path = args.truth or args.out.with_name(f"{args.out.stem}.truth.json")
    spec = show.ShowSpec(out=args.out, truth=truth_path, classes_from=args.classes_from, seed=args.seed,
                         fps=args.fps, seconds=args.seconds, width=args.size[0], height=args.size[1],
                         threads=args.num_thread, back_to_back=args.back_to_back,
                         back_to_back_gap=args.back_to_back_gap, shutter=args.shutter,
                         max_socks=args.max_socks, boxes=args.boxes)
    result = show.make_show(spec)
    shown = ", ".join(f"{name} x{n}" for name, n in result["counts"].items())
    print(f"wrote {args.out} ({result['frames']} frames at {args.fps:g} FPS) and {truth_path}: "
          f"{len(result['showings'])} showings: {shown}")
    return 0


def _synth_sheet(args) -> int:
    count = sheet.write_sheet(args.classes_from, args.out)
    print(f"drew {count} designs to {args.out}")
    return 0


def _register_capture(commands) -> None:
    cap = commands.add_parser("capture", help="take photos of one thing from a webcam, video, stream or folder")
    option(cap, "--label", type=check_label, required=True,
           help="the class name; photos go to OUT/LABEL/ (capture a 'Blank' class of the empty background too)")
    option(cap, "--count", type=config.positive_int, default=30, help="photos to take")
    option(cap, "--source", env="SOCKSORT_SOURCE", default="0",
           help="webcam index, video file, rtsp:// or http:// stream URL, a camera's still-image "
                "URL ending in .jpg/.png (fetched once per --every), or a folder of images")
    option(cap, "--out", type=Path, default=Path("sock-images"), help="folder of class folders")
    option(cap, "--every", type=config.positive_float, default=0.5, help="seconds between photos")
    option(cap, "--min-change", type=config.positive_float, default=6.0,
           help="how different (mean grey level, 0-255) a view must be from every saved one")
    option(cap, "--quality", type=_jpeg_quality, default=95, help="JPEG quality")
    cap.set_defaults(func=_capture)


def check_label(label: str) -> str:
    """A class name that is safe as a folder name (it is the label everywhere downstream)."""
    if not LABEL.match(label):
        raise ValueError("use letters, digits, spaces and _ . + - (up to 64), starting with a letter or digit")
    return label


def _jpeg_quality(text: str) -> int:
    value = config.positive_int(text)
    if value > 100:
        raise ValueError("JPEG quality must be 1-100")
    return value


def _capture(args) -> int:
    spec = capture.CaptureSpec(label=args.label, count=args.count, source=args.source, out=args.out,
                               every=args.every, min_change=args.min_change, quality=args.quality)
    result = capture.capture(spec)
    extra = []
    if result.duplicates:
        extra.append(f"skipped {result.duplicates} near-duplicates")
    if result.unreadable:
        extra.append(f"{result.unreadable} unreadable")
    note = f" ({', '.join(extra)})" if extra else ""
    print(f"saved {len(result.saved)} of {args.count} photos to {result.folder}{note}")
    _name_skipped(result.unreadable_files)
    if len(result.saved) < args.count:
        print(f"socksort: the source ended after {len(result.saved)} photos", file=sys.stderr)
        return 1
    return 0


def _register_im2rec(commands) -> None:
    rec = commands.add_parser(
        "im2rec", help="image folders -> .lst lists -> MXNet RecordIO (.rec + .idx), like MXNet's im2rec.py",
        description="Two steps, as with MXNet's tools/im2rec.py: `--list --recursive PREFIX ROOT` "
                    "writes PREFIX_train.lst/PREFIX_val.lst and PREFIX_classes.txt from ROOT/<class>/ "
                    "folders; `PREFIX ROOT` then packs every PREFIX*.lst into .rec + .idx.")
    rec.add_argument("prefix", help="prefix of the .lst/.rec files (or a folder of .lst files)")
    rec.add_argument("root", type=Path, help="folder the image paths are relative to")
    listing = rec.add_argument_group("making lists")
    listing.add_argument("--list", action="store_true", help="make .lst files instead of packing")
    listing.add_argument("--exts", nargs="+", default=[".jpeg", ".jpg", ".png"],
                       help="image file extensions to list")
    option(listing, "--train-ratio", type=_ratio, default=1.0, help="fraction of each class for training")
    option(listing, "--test-ratio", type=_ratio, default=0.0, help="fraction of each class for testing")
    listing.add_argument("--recursive", action="store_true",
                       help="each folder under ROOT is a class; its name is the label")
    listing.add_argument("--no-shuffle", dest="shuffle", action="store_false",
                       help="keep images in folder order instead of shuffling each list")
    option(listing, "--seed", type=config.non_negative_int, default=100,
           help="seed for the split and the shuffle")
    packing = rec.add_argument_group("packing")
    option(packing, "--resize", type=config.non_negative_int, default=0,
           help="resize the shorter side to this many pixels (0 keeps the size)")
    packing.add_argument("--center-crop", action="store_true", help="crop the centred square first")
    option(packing, "--quality", type=config.non_negative_int, default=95,
           help="JPEG quality 1-100, or PNG compression 0-9")
    option(packing, "--num-thread", type=config.positive_int, default=1, help="encoding threads")
    option(packing, "--color", type=int, default=1, choices=[-1, 0, 1],
           help="1 colour, 0 greyscale, -1 unchanged")
    option(packing, "--encoding", type=config.one_of(".jpg", ".png"), default=".jpg",
           help="image encoding in the records")
    packing.add_argument("--pass-through", action="store_true",
                         help="store the files' bytes untouched (no decode, resize or re-encode)")
    rec.set_defaults(func=_im2rec)


def _ratio(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("not a number") from None
    if not 0 <= value <= 1:
        raise ValueError("must be between 0 and 1")
    return value


def _im2rec(args) -> int:
    if args.list:
        if not args.recursive:
            raise UserError("--list needs --recursive: the class folders under ROOT are the labels")
        if args.train_ratio + args.test_ratio > 1:
            raise UserError(f"--train-ratio {args.train_ratio} + --test-ratio {args.test_ratio} exceed 1")
        return _make_lists(args)
    return _pack(args)


def _make_lists(args) -> int:
    exts = tuple(e if e.startswith(".") else f".{e}" for e in args.exts)
    found = lists.scan(args.root, exts)
    parts = lists.split(found.items, args.train_ratio, args.test_ratio, args.seed, args.shuffle)
    for label, name in enumerate(found.classes):
        print(f"{label}\t{name}")
    written = []
    for part, items in parts.items():
        path = lists.list_name(args.prefix, part)
        lists.write_list(path, items)
        written.append(f"{path} ({len(items)})")
    classes = lists.classes_name(args.prefix)
    lists.write_classes(classes, found.classes)
    print(f"wrote {', '.join(written)} and {classes}: {len(found.items)} images in "
          f"{len(found.classes)} classes{_skipped(found.skipped)}")
    _name_skipped(found.skipped_files)
    if BLANK_LABEL not in found.classes:
        print(f"socksort: note: no {BLANK_LABEL!r} class; without photos of the empty background "
              "the model names a sock even when none is there", file=sys.stderr)
    return 0


def _pack(args) -> int:
    opts = pack.PackOptions(resize=args.resize, center_crop=args.center_crop, quality=args.quality,
                            encoding=args.encoding, color=args.color, pass_through=args.pass_through,
                            num_thread=args.num_thread)
    for result in pack.pack(args.prefix, args.root, opts):
        print(f"packed {result.packed} images from {result.lst} into {result.rec}"
              f"{_skipped(result.skipped)}")
        _name_skipped(result.skipped_files)
    return 0


NAMED_AT_MOST = 20


def _name_skipped(files) -> None:
    """Say which files were skipped and why (on stderr; the first NAMED_AT_MOST)."""
    for skipped in files[:NAMED_AT_MOST]:
        detail = f" ({skipped.detail})" if skipped.detail else ""
        print(f"socksort: note: skipped {skipped.path}: {skipped.why}{detail}", file=sys.stderr)
    if len(files) > NAMED_AT_MOST:
        print(f"socksort: note: ... and {len(files) - NAMED_AT_MOST} more skipped", file=sys.stderr)


def _skipped(counts) -> str:
    if not counts:
        return ""
    return "; skipped " + ", ".join(f"{n} {why}" for why, n in sorted(counts.items()))
