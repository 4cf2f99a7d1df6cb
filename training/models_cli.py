"""``socksort models list|show|deploy --models STORE``: the model store from the command line.

The twins of the teach API's ``GET /api/models``, ``GET /api/models/{id}`` and
``POST /api/models/{id}/deploy``, with the same fields.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from socksort.config import option
from socksort.errors import UserError
from socksort.modelstore import ModelStore, details, summary, valid_id


def register(commands) -> None:
    parser = commands.add_parser("models", help="list, show or deploy the models of a model store",
                                 description="The models in a store (STORE/<id>/ with their lineage) and "
                                             "which one is deployed (STORE/deployed, what `socksort edge "
                                             "--models STORE` follows).")
    sub = parser.add_subparsers(dest="models_command", metavar="<action>")
    sub.required = True
    for name, helptext, func in (("list", "every model, oldest first", _list),
                                 ("show", "one model's lineage, accuracy and per-epoch history", _show),
                                 ("deploy", "make a model the deployed one (a rollback deploys an older id)",
                                  _deploy)):
        action = sub.add_parser(name, help=helptext)
        if name != "list":
            action.add_argument("id", type=_model_id, metavar="ID", help="model id (12 hex digits)")
        option(action, "--models", type=Path, env="SOCKSORT_MODELS", required=True, help="the model store")
        action.add_argument("--json", action="store_true", help="the answer as JSON")
        action.set_defaults(func=func)


def _model_id(text: str) -> str:
    try:
        return valid_id(text)
    except UserError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _list(args) -> int:
    store = ModelStore(args.models)
    deployed = store.deployed()
    rows = [summary(m, deployed) for m in store.models()]
    if args.json:
        print(json.dumps({"models": rows}))
        return 0
    if not rows:
        print(f"no models in {args.models}")
        return 0
    print(f"{'id':<14}{'created':<22}{'mode':<7}{'classes':>8}{'accuracy':>10}  dataset")
    for row in rows:
        accuracy = f"{100 * row['val_accuracy']:.1f}%" if row["val_accuracy"] is not None else "-"
        mark = "  (deployed)" if row["deployed"] else ""
        print(f"{row['id']:<14}{row['created'] or '':<22}{row['mode'] or '-':<7}{len(row['classes']):>8}"
              f"{accuracy:>10}  {(row['dataset_version'] or '-')[:19]}{mark}")
    return 0


def _show(args) -> int:
    store = ModelStore(args.models)
    info = details(store.get(args.id), store.deployed())
    if args.json:
        print(json.dumps(info))
        return 0
    for key in ("id", "created", "mode", "backbone", "dataset_version", "parent", "code_version",
                "val_accuracy", "deployed"):
        print(f"{key:<16}{info[key]}")
    print(f"{'classes':<16}{', '.join(info['classes'])}")
    for label, accuracy in (info["per_class"] or {}).items():
        print(f"  {label:<30}{'-' if accuracy is None else f'{100 * accuracy:.1f}%'}")
    return 0


def _deploy(args) -> int:
    store = ModelStore(args.models)
    model = store.deploy(args.id)
    if args.json:
        print(json.dumps(summary(model, model.id)))
    else:
        print(f"deployed {model.id} ({len(model.card.classes)} classes) in {args.models}")
    return 0
