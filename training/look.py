"""What a photo looks like, as vectors to compare: the features ``socksort match`` pairs on.

A photo is seen in a few views (test-time augmentation: the camera's centred view, its
mirror image, turned by quarters and eighths, ...), each view goes through the network once,
and every network *component* is averaged over the views: the pooled features before the
classifier (what the network knows about the whole photo), the same last features pooled
where the network sees a thing rather than evenly (``salient``), and pooled features of
earlier stages (finer texture). ``colour`` is the sock's own colours, from the photo itself:
ImageNet features tell a striped sock from a dotted one of the same colour well, and a navy
dotted sock from a burgundy dotted one badly. Optionally the sock is first cut out of the
surface it lies on (:func:`isolate`), so the floor does not count in its look.
``benchmarks/bench_match.py`` measured which of them help on designs its tuning never saw;
:data:`DEFAULT` is what it chose.

Components are compared separately and mixed by weight (:func:`combine`): each is L2
normalised, so its cosine similarity counts as much as its weight says, whatever its
length or scale.

Two photos of one sock differ by what the sock lies on, the light and the pose, and ImageNet
features carry all of that: a navy dotted sock and a navy striped one on the same floor can
look more alike than two photos of the striped one on different floors. :class:`Nuisance`
is how photos of one sock vary, fitted once (``benchmarks/bench_match.py --fit``) on rendered
photos of designs the match benchmark never scores, and shipped beside this module;
``LookSpec.discount`` shrinks those directions of the network's components before comparing
(the colours' scatter was tried too: it depends on the colour, and did not carry to others),
so what is left is what tells one sock from another. It knows nothing of which designs or
patterns exist: only how one sock's photos scatter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from socksort import modelcard
from socksort.atomic import atomic_write
from socksort.errors import UserError, first_line
from socksort.modelcard import Preprocess
from socksort.preprocess import normalize, resize
from socksort.training.backbones import DEFAULT as DEFAULT_BACKBONE
from socksort.training.backbones import info as backbone_info
from socksort.training.box_outputs import pooled_dense
from socksort.training.data import mxnet_reason

# MXNet (seconds to import) and OpenCV are imported inside the functions that use them.

VIEWS = ("centre", "flip", "rot90", "rot180", "rot270", "zoom", "rot45", "rot135", "rot225", "rot315",
         "flip-rot90", "flip-rot180", "flip-rot270")
# EfficientNet-Lite0's feature blocks whose outputs end a stage (stem = 0, head = 17).
STAGE_ENDS = {"stage3": 5, "stage4": 8, "stage5": 11, "stage6": 15, "stage7": 16}
COMPONENTS = ("pooled", "salient", "colour", *STAGE_ENDS)
HUE_BINS, SATURATION_BINS, GREY_BINS = 12, 3, 4
GREY_SATURATION = 50   # below this saturation (of 255) a pixel is a grey: its hue means nothing
ZOOM = 0.75        # the zoom view keeps the centred three quarters of the centred view
# Finding the sock: on a copy this many pixels across, a border this wide is the surface, in
# this many colour clusters; a pixel this far (CIELAB units) from all of them is the sock's,
# if the sock's region is at least this share of the photo.
MASK_SIDE, MASK_BORDER, MASK_SURFACE_COLOURS, MASK_DISTANCE, MASK_MIN_AREA = 160, 6, 4, 22.0, 0.03
BATCH = 16
NUISANCE_FILE = Path(__file__).with_name("look-nuisance.npz")


@dataclass(frozen=True)
class LookSpec:
    """Which views, which components with what weight, and whether to centre the set."""
    views: tuple[str, ...]
    weights: tuple[tuple[str, float], ...]
    # Subtract the set's mean before comparing: what every photo shares (a sock on a floor,
    # in a photo) then stops making every pair look alike.
    centre: bool = True
    # Cut the sock out of its surface before looking (:func:`isolate`).
    isolate: bool = False
    # How strongly to discount the ways photos of one sock differ (:class:`Nuisance`); 0 is
    # not at all, larger is gentler: the ridge added to the nuisance, in units of its mean
    # variance.
    discount: float = 0.0

    def __post_init__(self):
        if self.discount < 0:
            raise ValueError(f"discount must be 0 (off) or positive, not {self.discount:g}")
        if self.discount and self.isolate:
            raise ValueError("the nuisance was fitted on photos as taken; it cannot discount a cut-out sock")

    def components(self) -> tuple[str, ...]:
        return tuple(name for name, weight in self.weights if weight > 0)

    def describe(self) -> str:
        mix = " + ".join(f"{w:g} {name}" for name, w in self.weights if w > 0)
        return (f"{mix}; views {', '.join(self.views)}; {'centred' if self.centre else 'not centred'}"
                f"{'; sock cut out' if self.isolate else ''}"
                f"{f'; nuisance discounted (ridge {self.discount:g})' if self.discount else ''}")


DEFAULT = LookSpec(views=VIEWS, weights=(("pooled", 1.0), ("colour", 0.25)),
                   centre=False, isolate=False, discount=1.0)
# The similarity below which the match benchmark's tuning found two photos are better left
# single; ``socksort match`` pairs everything unless asked (``--min-similarity``).
SUGGESTED_MIN_SIMILARITY = 0.35
# A trained model's graph is known only up to its pooled features and last feature map.
MODEL_COMPONENTS = ("pooled", "salient", "colour")


def model_spec(spec: LookSpec) -> LookSpec:
    """``spec`` with only what a trained model folder gives (its weights on the rest dropped,
    and no nuisance: it was fitted on the ImageNet backbone's features, not the model's)."""
    kept = tuple((name, w) for name, w in spec.weights if name in MODEL_COMPONENTS)
    return LookSpec(spec.views, kept or (("pooled", 1.0),), spec.centre, spec.isolate)


@dataclass(frozen=True)
class Nuisance:
    """How photos of one sock scatter in one component's features (L2-normalised first):
    the mean of the photos it was fitted on, and the principal directions of the scatter
    of each sock's photos around that sock's own mean, with their variances."""
    mean: np.ndarray         # D
    directions: np.ndarray   # D x K, orthonormal columns
    variances: np.ndarray    # K, largest first

    def discount(self, x: np.ndarray, ridge: float) -> np.ndarray:
        """``x`` (N x D, L2-normalised) with the nuisance whitened away: along a direction of
        variance v the features shrink by sqrt(r / (v + r)), r = ``ridge`` x the mean variance
        per dimension; directions the nuisance never moved along keep their length."""
        r = ridge * float(self.variances.sum()) / len(self.mean)
        shrink = np.sqrt(r / (self.variances + r))
        y = x - self.mean
        along = y @ self.directions
        return y + (along * (shrink - 1.0)) @ self.directions.T


def fit_nuisance(features: np.ndarray, socks: list[str]) -> Nuisance:
    """The :class:`Nuisance` of ``features`` (N x D), ``socks`` naming whose photo each row is."""
    x = _unit(features)
    names = np.asarray(socks)
    if len(names) != len(x):
        raise ValueError(f"{len(x)} rows of features but {len(names)} sock names")
    groups = [x[names == name] for name in sorted(set(socks))]
    if all(len(g) < 2 for g in groups):
        raise ValueError("no sock has two photos: there is no scatter to fit")
    within = np.concatenate([g - g.mean(axis=0) for g in groups if len(g) > 1])
    _, singular, vt = np.linalg.svd(within / np.sqrt(len(x)), full_matrices=False)
    keep = singular > singular[0] * 1e-6
    return Nuisance(x.mean(axis=0), vt[keep].T.copy(), singular[keep] ** 2)


def save_nuisances(path: Path, nuisances: Mapping[str, Nuisance], source: str) -> None:
    arrays = {f"{name}.{field}": getattr(n, field).astype(np.float32)
              for name, n in nuisances.items() for field in ("mean", "directions", "variances")}
    with atomic_write(path) as handle:
        np.savez_compressed(handle, source=np.array(source), **arrays)


def load_nuisances(path: Path = NUISANCE_FILE) -> dict[str, Nuisance]:
    """Component name -> :class:`Nuisance`, as :func:`save_nuisances` wrote them; a missing
    or damaged file is a one-line :class:`UserError` naming it."""
    try:
        with np.load(path) as data:
            names = {key.split(".")[0] for key in data.files if "." in key}
            return {name: Nuisance(*(data[f"{name}.{field}"].astype(np.float64)
                                     for field in ("mean", "directions", "variances")))
                    for name in sorted(names)}
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise UserError(f"cannot read the look nuisance {path}: {first_line(exc)} "
                        "(it ships with socksort; reinstall, or refit it with benchmarks/bench_match.py --fit)") from None


def view(image_bgr: np.ndarray, pre: Preprocess, name: str) -> np.ndarray:
    """One view of a photo: the camera's centred square, then turned, mirrored or zoomed."""
    import cv2

    square = resize(image_bgr, pre)
    if name == "centre":
        return square
    if name == "flip":
        return cv2.flip(square, 1)
    if name.startswith("flip-"):
        return view(cv2.flip(image_bgr, 1), pre, name.removeprefix("flip-"))
    if name.startswith("rot"):
        turns = {"rot90": cv2.ROTATE_90_COUNTERCLOCKWISE, "rot180": cv2.ROTATE_180,
                 "rot270": cv2.ROTATE_90_CLOCKWISE}
        if name in turns:
            return cv2.rotate(square, turns[name])
        size = square.shape[0]
        # Corners the turn brings in mirror the photo's edge: a surface more of the same.
        turn = cv2.getRotationMatrix2D((size / 2 - 0.5, size / 2 - 0.5), float(name.removeprefix("rot")), 1.0)
        return cv2.warpAffine(square, turn, (size, size), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REFLECT_101)
    if name == "zoom":
        size = square.shape[0]
        margin = int(round(size * (1 - ZOOM) / 2))
        return cv2.resize(square[margin:size - margin, margin:size - margin], (size, size),
                          interpolation=cv2.INTER_LINEAR)
    raise ValueError(f"unknown view {name!r}; views are {', '.join(VIEWS)}")


def sock_mask(image_bgr: np.ndarray) -> np.ndarray | None:
    """HxW uint8, 1 where the sock is, or None when no thing stands out from the surface.

    A photo of one sock shows mostly the surface it lies on around its edges: the colours of
    the photo's border (a few clusters, for grain and weave) are the surface, and the largest
    region far from all of them, its holes filled, is the sock.
    """
    import cv2

    height, width = image_bgr.shape[:2]
    scale = MASK_SIDE / max(height, width)
    small = cv2.resize(image_bgr, (max(1, round(width * scale)), max(1, round(height * scale))),
                       interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(cv2.GaussianBlur(small, (5, 5), 0), cv2.COLOR_BGR2LAB).astype(np.float32)
    b = MASK_BORDER
    border = np.concatenate([lab[:b].reshape(-1, 3), lab[-b:].reshape(-1, 3),
                             lab[:, :b].reshape(-1, 3), lab[:, -b:].reshape(-1, 3)])
    criteria = (cv2.TERM_CRITERIA_MAX_ITER + cv2.TERM_CRITERIA_EPS, 20, 0.5)
    cv2.setRNGSeed(0)   # k-means starts at random: the same photo must give the same mask
    _, _, surface = cv2.kmeans(border, MASK_SURFACE_COLOURS, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    distance = np.linalg.norm(lab[:, :, None, :] - surface[None, None], axis=3).min(axis=2)
    found = (distance > MASK_DISTANCE).astype(np.uint8)
    found = cv2.morphologyEx(found, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    found = cv2.morphologyEx(found, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
    count, regions, stats, _ = cv2.connectedComponentsWithStats(found)
    if count <= 1:
        return None
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    if stats[largest, cv2.CC_STAT_AREA] < MASK_MIN_AREA * found.size:
        return None
    mask = (regions == largest).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(mask, contours, -1, 1, thickness=cv2.FILLED)   # a dot the colour of the floor
    return cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST)


def isolate(image_bgr: np.ndarray) -> np.ndarray:
    """The photo cut to the sock's bounding square, the surface around it a plain grey, so the
    floor or wall it was photographed on does not count in its look; the photo as it is when
    no sock stands out."""
    mask = sock_mask(image_bgr)
    if mask is None:
        return image_bgr
    ys, xs = np.nonzero(mask)
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    side = max(bottom - top, right - left)
    cy, cx = (top + bottom) // 2, (left + right) // 2
    canvas = np.full((side, side, 3), 128, np.uint8)
    y0, x0 = cy - side // 2, cx - side // 2
    sy0, sx0 = max(y0, 0), max(x0, 0)
    sy1, sx1 = min(y0 + side, image_bgr.shape[0]), min(x0 + side, image_bgr.shape[1])
    patch = np.where(mask[sy0:sy1, sx0:sx1, None] > 0, image_bgr[sy0:sy1, sx0:sx1], np.uint8(128))
    canvas[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = patch
    return canvas


def sock_colours(image_bgr: np.ndarray) -> np.ndarray:
    """The colours of the sock (under :func:`sock_mask`; the whole photo if none stands out):
    a hue x saturation histogram of its coloured pixels, neighbouring hues sharing, and a
    brightness histogram of its greys, whose hue is only noise. Its square root, so that
    comparing two by cosine is the Hellinger affinity of the distributions."""
    import cv2

    mask = sock_mask(image_bgr)
    hsv = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2HSV)
    chosen = mask.astype(bool) if mask is not None else np.ones(hsv.shape[:2], bool)
    hue, saturation, value = (hsv[..., i][chosen].astype(np.int32) for i in range(3))
    coloured = saturation >= GREY_SATURATION
    saturation_bin = np.minimum((saturation[coloured] - GREY_SATURATION) * SATURATION_BINS
                                // (256 - GREY_SATURATION), SATURATION_BINS - 1)
    colours = np.bincount((hue[coloured] * HUE_BINS // 180) * SATURATION_BINS + saturation_bin,
                          minlength=HUE_BINS * SATURATION_BINS).reshape(HUE_BINS, SATURATION_BINS)
    # Hue is a circle and a camera's white balance moves it a little: half to each neighbour.
    colours = 0.5 * colours + 0.25 * np.roll(colours, 1, axis=0) + 0.25 * np.roll(colours, -1, axis=0)
    greys = np.bincount(value[~coloured] * GREY_BINS // 256, minlength=GREY_BINS)
    counts = np.concatenate([colours.ravel(), greys]).astype(np.float64)
    return np.sqrt(counts / max(counts.sum(), 1.0)).astype(np.float32)


class Looker:
    """A network that turns photos into the components of :class:`LookSpec`.

    ``Looker.imagenet()`` is the ImageNet backbone alone; ``Looker.from_model(DIR)`` a trained
    model folder, whose pooled features (the Dense layer's input) stand in for ImageNet's.
    """

    def __init__(self, run, pre: Preprocess, layers: tuple[str, ...], source: str,
                 nuisances: Mapping[str, Nuisance] | None = None):
        self._run, self.pre, self.layers, self.source = run, pre, layers, source
        self.nuisances = dict(nuisances or {})

    @classmethod
    def imagenet(cls) -> "Looker":
        import mxnet as mx

        from socksort.training.backbones import build

        features = build(DEFAULT_BACKBONE, 1000, pretrained=True, ctx=mx.cpu()).features
        for block in features:
            block.hybridize(static_alloc=True)
        ends = {index: name for name, index in STAGE_ENDS.items()}
        head = len(features) - 3   # the last 1x1 convolution, before pooling and flattening

        def run(batch: np.ndarray) -> dict[str, np.ndarray]:
            x, out = mx.nd.array(batch), {}
            for index, block in enumerate(features[:head + 1]):
                x = block(x)
                if index in ends:
                    out[ends[index]] = x.mean(axis=(2, 3)).asnumpy()
            out["map"] = x.asnumpy()
            return out

        pre = backbone_info(DEFAULT_BACKBONE).preprocess()
        return cls(run, pre, tuple(STAGE_ENDS), f"ImageNet {DEFAULT_BACKBONE}", load_nuisances())

    @classmethod
    def from_model(cls, folder: Path) -> "Looker":
        import mxnet as mx

        card = modelcard.load(folder, need=("model-symbol.json", "model-0000.params", "model.json", "labels.txt"))
        try:
            symbol = mx.sym.load(str(Path(folder) / "model-symbol.json"))
            name = feature_map_name(symbol)
            block = mx.gluon.SymbolBlock(symbol.get_internals()[name],
                                         [mx.sym.var(card.input_name, dtype="float32")])
            block.collect_params().load(str(Path(folder) / "model-0000.params"), mx.cpu(), cast_dtype=True,
                                        dtype_source="saved", ignore_extra=True)
        except (mx.base.MXNetError, ValueError, AssertionError) as exc:
            raise UserError(f"model folder {folder}: the MXNet files do not load: {mxnet_reason(exc)}") from None
        block.hybridize(static_alloc=True)

        def run(batch: np.ndarray) -> dict[str, np.ndarray]:
            return {"map": block(mx.nd.array(batch)).asnumpy()}

        return cls(run, card.preprocess, (), f"model folder {folder}")

    def components(self, images: list[np.ndarray], spec: LookSpec) -> dict[str, np.ndarray]:
        """Component name -> N x D, each row averaged over the views (not yet normalised)."""
        wanted = spec.components()
        unknown = [c for c in wanted if c not in ("pooled", "salient", "colour", *self.layers)]
        if unknown:
            raise UserError(f"{self.source} has no {', '.join(unknown)} features")
        out = {}
        if "colour" in wanted:   # of the photo itself: colours do not change when it turns
            out["colour"] = np.stack([sock_colours(image) for image in images])
        network = tuple(c for c in wanted if c != "colour")
        if network:
            if spec.isolate:
                images = [isolate(image) for image in images]
            per_view = [self._one_view(images, name, network) for name in spec.views]
            out.update({c: np.mean([v[c] for v in per_view], axis=0) for c in network})
        return out

    def embed(self, images: list[np.ndarray], spec: LookSpec) -> np.ndarray:
        """N x D embeddings of the photos: compare them by cosine similarity."""
        return combine(self.components(images, spec), spec, self.nuisances)

    def _one_view(self, images: list[np.ndarray], name: str, wanted: tuple[str, ...]) -> dict[str, np.ndarray]:
        views = [view(image, self.pre, name) for image in images]
        out: dict[str, list[np.ndarray]] = {c: [] for c in wanted}
        for start in range(0, len(views), BATCH):
            chunk = views[start:start + BATCH]
            result = self._run(np.stack([normalize(v, self.pre) for v in chunk]))
            fmap = result["map"]                       # N x C x h x w, the last feature map
            saliency = np.sqrt((fmap ** 2).sum(axis=1))  # N x h x w: strong where there is a thing
            saliency = saliency / np.maximum(saliency.sum(axis=(1, 2), keepdims=True), 1e-12)
            for c in wanted:
                if c == "pooled":
                    out[c].append(fmap.mean(axis=(2, 3)))
                elif c == "salient":
                    out[c].append(np.einsum("nchw,nhw->nc", fmap, saliency))
                else:
                    out[c].append(result[c])
        return {c: np.concatenate(arrays).astype(np.float32) for c, arrays in out.items()}


def combine(components: dict[str, np.ndarray], spec: LookSpec,
            nuisances: Mapping[str, Nuisance] | None = None) -> np.ndarray:
    """N x D embeddings whose cosine similarity is the weighted mean of the components';
    with ``spec.discount``, each component ``nuisances`` has is first discounted by it."""
    parts = []
    total = sum(w for _, w in spec.weights if w > 0)
    for name, weight in spec.weights:
        if weight <= 0:
            continue
        x = components[name].astype(np.float64)
        if spec.discount and nuisances and name in nuisances:
            x = nuisances[name].discount(_unit(x), spec.discount)
        if spec.centre and len(x) > 2:
            x = x - x.mean(axis=0)
        parts.append(np.sqrt(weight / total) * _unit(x))
    return np.concatenate(parts, axis=1)


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def feature_map_name(symbol) -> str:
    """The output name of the last feature map: what the graph pools before its last Dense layer
    (a localising model's extra outputs come after output 0, so the graph's heads do not say)."""
    nodes = json.loads(symbol.tojson())["nodes"]
    dense = [n for n in nodes if n["op"] == "FullyConnected"]
    if not dense:
        raise ValueError("the graph has no Dense (FullyConnected) layer to take the features before")
    head = pooled_dense(nodes, dense[-1])
    if head is None:
        raise ValueError("the Dense layer does not read globally average-pooled features")
    return head[0]
