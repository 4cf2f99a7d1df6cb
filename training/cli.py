"""Commands of the training stage, registered on the one `socksort` CLI."""

from __future__ import annotations

import json
from pathlib import Path

from socksort.config import option


def register(commands) -> None:
    """Add this stage's subcommands to `commands` (argparse subparsers)."""
    _register_backbones(commands)


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
    from socksort.training.backbones import BACKBONES, build, count_parameters

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
    from socksort.training.imagenet_export import export_imagenet

    card = export_imagenet(args.name, args.out)
    check = card.extra["onnx_check"]
    print(f"wrote {args.out}: {card.backbone}, {len(card.classes)} classes, ONNX top-1 agrees with MXNet "
          f"on {check['top1_agree']}/{check['images']} images (max |diff| {check['max_abs_diff']:.2e})")
    return 0
