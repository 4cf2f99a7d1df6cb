"""``socksort match PHOTO...``: pair photos by look, one sock per photo, with no training."""

from __future__ import annotations

import json

from socksort import images
from socksort.config import existing_dir, option, similarity
from socksort.errors import UserError
from socksort.training import look
from socksort.training.match import Matching, cosine_similarities, pair_up


def register(commands) -> None:
    parser = commands.add_parser(
        "match", help="pair photos by look, one sock per photo, with no training",
        description="Pair photos of socks by how alike they look: every photo one sock, the most "
                    "pairs with the greatest total similarity. By default the features are the "
                    "ImageNet backbone's alone; --model uses a trained model folder's.")
    # Paths stay strings: they are printed back exactly as given.
    parser.add_argument("photos", nargs="+", metavar="PHOTO", help="photos, one sock each")
    option(parser, "--model", type=existing_dir, help="a trained model folder whose features to use")
    option(parser, "--min-similarity", type=similarity, default=None,
           help="leave single any photo less similar than this to every photo still free (-1 to 1; "
                f"{look.SUGGESTED_MIN_SIMILARITY:g} suits the default features)")
    parser.add_argument("--json", action="store_true",
                        help='{"pairs": [{"a", "b", "similarity", "weak", "runner_up"}], "single": [...]}')
    parser.set_defaults(func=_match)


def _match(args) -> int:
    if len(args.photos) < 2:
        raise UserError(f"match needs at least 2 photos to pair, got {len(args.photos)}")
    photos = [images.read(path) for path in args.photos]   # every photo readable before any work
    if args.model is not None:
        looker, spec = look.Looker.from_model(args.model), look.model_spec(look.DEFAULT)
    else:
        looker, spec = look.Looker.imagenet(), look.DEFAULT
    matching = pair_up(cosine_similarities(looker.embed(photos, spec)), args.min_similarity)
    if args.json:
        print(json.dumps(as_json(matching, args.photos, f"{looker.source}: {spec.describe()}")))
    else:
        print_matching(matching, args.photos, f"{looker.source}: {spec.describe()}")
    return 0


def as_json(matching: Matching, paths: list[str], features: str) -> dict:
    def runner_up(pair):
        r = pair.runner_up
        return None if r is None else {"photo": paths[r.photo], "other": paths[r.other],
                                       "similarity": round(r.similarity, 4)}
    return {"pairs": [{"a": paths[p.a], "b": paths[p.b], "similarity": round(p.similarity, 4),
                       "weak": p.weak, "runner_up": runner_up(p)} for p in matching.pairs],
            "single": [paths[i] for i in matching.single],
            "features": features}


def print_matching(matching: Matching, paths: list[str], features: str) -> None:
    for p in sorted(matching.pairs, key=lambda p: -p.similarity):
        line = f"pair  {paths[p.a]} + {paths[p.b]}  similarity {p.similarity:.3f}"
        if p.weak:
            r = p.runner_up
            line += (f"  (weak: {paths[r.photo]} is {r.similarity:.3f} alike to {paths[r.other]})")
        print(line)
    for i in matching.single:
        print(f"single  {paths[i]}")
    print(f"features: {features}")
