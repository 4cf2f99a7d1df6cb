"""A box head taught from the training photos themselves, with no box ever drawn.

The user's photos each hold one thing filling much of the frame. Each thing is cut out
of its photo (GrabCut, started from a rectangle just inside the border: the border is
background), and the strip of background beside it, tiled by reflection, becomes a
backdrop. Cut-outs pasted onto backdrops, 0 to ``max_things`` at a time, at other sizes,
angles and places (partly out of the frame, partly over each other), make training scenes
whose boxes are exact: the box of each cut-out's visible pixels.

The head reads two of the network's feature maps, the last one (stride 32) and the last
residual output at twice its resolution (stride 16), so it decides on a grid four times
finer than the classifier's cells. At every cell of that grid it says, FCOS-style, how
likely the cell is the middle of a thing (a logit), how far the thing reaches left, up,
right and down of the cell's centre (log fractions of the input side), and which class
the thing is (logits over the model's classes). docs/model-artifact.md has the decoding.

Only the head is trained; the network under it is the model's own, frozen, so the
classifier's output 0 is unchanged.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import cv2
import numpy as np

from socksort import progress
from socksort.modelcard import Preprocess
from socksort.localise import cell_centres
from socksort.preprocess import input_window, prepare

# MXNet (seconds to import) is imported inside the functions that use it.

# Many scenes seen few times each: the head overfits the scenes it is shown (on a held-aside
# set of rendered scenes, 768 scenes x 80 epochs found 73.9 % of the socks and 160 epochs
# fewer; 4800 x 20 found 85.0 %, at twice the time).
SCENES_PER_PHOTO = 75           # training scenes per usable photo ...
MIN_SCENES, MAX_SCENES = 600, 6000   # ... within these bounds
CUT_SIDE = 160                  # GrabCut runs on the photo scaled to this longer side
CUT_MARGIN = 0.04               # of each side: the border GrabCut takes for background
MIN_SHARE, MAX_SHARE = 0.03, 0.85    # a cut-out outside this share of its photo is a failed cut
MIN_STRIP = 24                  # pixels: a narrower strip beside a thing is no backdrop
SIDE_RANGE = (0.22, 0.75)       # a pasted thing's longer side, as a share of the scene's shorter side ...
LONE_SIDE_RANGE = (0.22, 1.3)   # ... and of a thing alone: held close, it may fill the frame and more
MIN_SEEN = 200                  # pixels of a pasted thing that must stay visible to count
CENTRE_SIGMA = 0.18             # the middle-of-a-thing target: a Gaussian this wide, in box sides
SCENE_SHARE = 0.3               # of the head's time, making scenes (the rest is training)
HEAT_WEIGHT = 5.0               # of the middle-heat loss against the box and class losses
CENTRE_REGION = 0.5             # cells within this share of the half box (or 0.75 cell) regress the box


@dataclass(frozen=True)
class BoxHeadConfig:
    scenes: int | None = None   # training scenes; None: SCENES_PER_PHOTO per photo in [MIN, MAX]; 0: no head
    max_things: int = 3
    epochs: int = 20
    width: int = 64             # channels of the head's hidden layers
    batch: int = 32
    lr: float = 2e-3
    seed: int = 0

    def scene_count(self, photos: int) -> int:
        if self.scenes is not None:
            return self.scenes
        return int(min(MAX_SCENES, max(MIN_SCENES, SCENES_PER_PHOTO * photos)))


# Raised whenever what the head learns from changes outside its config (the constants above),
# so a model stored before is not taken for one trained now (ids come from what decides a model).
HEAD_RECIPE = 2


def box_params(cfg: BoxHeadConfig) -> dict:
    """What decides the model's head, for its id: its config, and with a head the recipe."""
    params = {"box_head": asdict(cfg)}
    return params if cfg.scenes == 0 else {**params, "box_head_recipe": HEAD_RECIPE}


@dataclass(frozen=True)
class Cutout:
    """One thing cut out of a training photo: its pixels, its mask (0-1) and its class."""
    image: np.ndarray
    mask: np.ndarray
    label: int


@dataclass(frozen=True)
class Scene:
    """A made-up training scene and its truth: boxes (x0, y0, x1, y1) in its pixels, classes."""
    frame: np.ndarray
    boxes: tuple[tuple[float, float, float, float], ...]
    labels: tuple[int, ...]


@dataclass(frozen=True)
class Targets:
    """What the head should say at each cell of a rows x cols grid."""
    centre: np.ndarray          # rows x cols, 0-1
    distances: np.ndarray       # rows x cols x 4: left, up, right, down, fractions of the input side
    positive: np.ndarray        # rows x cols bool: the cells that regress a box and a class
    label: np.ndarray           # rows x cols int: the class at positive cells


# --- cutting things out of photos ------------------------------------------------------

def cut_out(image: np.ndarray) -> np.ndarray | None:
    """The thing's mask in one photo (bool, the photo's size), or None when the cut fails."""
    h, w = image.shape[:2]
    scale = CUT_SIDE / max(h, w)
    small = cv2.resize(image, (max(8, int(w * scale)), max(8, int(h * scale))), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    marks = np.zeros((sh, sw), np.uint8)
    rect = (int(sw * CUT_MARGIN), int(sh * CUT_MARGIN), int(sw * (1 - 2 * CUT_MARGIN)), int(sh * (1 - 2 * CUT_MARGIN)))
    try:
        cv2.grabCut(small, marks, rect, np.zeros((1, 65)), np.zeros((1, 65)), 4, cv2.GC_INIT_WITH_RECT)
    except cv2.error:
        return None     # a flat photo gives GrabCut nothing to model
    found = ((marks == cv2.GC_FGD) | (marks == cv2.GC_PR_FGD)).astype(np.uint8)
    n, parts, stats, _ = cv2.connectedComponentsWithStats(found)
    if n < 2:
        return None
    largest = (parts == 1 + int(stats[1:, cv2.CC_STAT_AREA].argmax())).astype(np.uint8)
    if not MIN_SHARE <= largest.mean() <= MAX_SHARE:
        return None
    return cv2.resize(largest, (w, h), interpolation=cv2.INTER_LINEAR) > 0


def backdrop(image: np.ndarray, mask: np.ndarray | None) -> np.ndarray | None:
    """A background the photo's size: the widest strip beside the thing, tiled by reflection
    (a photo with no thing in it is a backdrop as it is; one whose thing leaves no strip
    wide enough, the floor's colour)."""
    h, w = image.shape[:2]
    if mask is None:
        return image
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    strip = max((image[:, :x0], image[:, x1:], image[:y0], image[y1:]), key=lambda a: min(a.shape[:2]))
    if min(strip.shape[:2]) < MIN_STRIP:
        return _plain(image, mask)
    tiled = strip
    while tiled.shape[0] < h:
        tiled = np.vstack([tiled, tiled[::-1]])
    while tiled.shape[1] < w:
        tiled = np.hstack([tiled, tiled[:, ::-1]])
    return np.ascontiguousarray(tiled[:h, :w])


def _plain(image: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """A thing that leaves no strip of floor beside it: the floor's median colour, with
    the photo's own grain, or None when no floor shows at all."""
    floor = image[~mask]
    if len(floor) < MIN_STRIP * MIN_STRIP:
        return None
    rng = np.random.default_rng(len(floor))
    grain = rng.normal(0, float(floor.std(axis=0).mean()) / 2, image.shape)
    return np.clip(np.median(floor, axis=0) + grain, 0, 255).astype(np.uint8)


def cutouts(photos: Sequence[tuple[np.ndarray, int]], background: set[int]) -> tuple[list[Cutout], list[np.ndarray]]:
    """The cut-outs and backdrops of labelled photos; photos of ``background`` classes
    (``Blank``) are backdrops only."""
    things, backdrops = [], []
    for image, label in photos:
        if label in background:
            backdrops.append(image)
            continue
        mask = cut_out(image)
        if mask is None:
            continue
        ys, xs = np.nonzero(mask)
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        soft = cv2.GaussianBlur(mask[y0:y1, x0:x1].astype(np.float32), (5, 5), 0)
        things.append(Cutout(np.ascontiguousarray(image[y0:y1, x0:x1]), soft, label))
        found = backdrop(image, mask)
        if found is not None:
            backdrops.append(found)
    return things, backdrops


# --- making scenes ---------------------------------------------------------------------

def compose(rng: np.random.Generator, things: Sequence[Cutout], backdrops: Sequence[np.ndarray],
            max_things: int) -> Scene:
    """A scene of 0 to ``max_things`` cut-outs on a backdrop, in one of the usual aspect ratios."""
    height = 480
    width = int(height * rng.choice([4 / 3, 16 / 9, 1.0, 3 / 4]))
    frame = cv2.resize(backdrops[int(rng.integers(len(backdrops)))], (width, height)).astype(np.float32)
    if rng.random() < 0.5:
        frame = frame[:, ::-1]
    owner = np.full((height, width), -1, np.int16)
    placed = []
    count = int(rng.integers(0, max_things + 1))
    sides = LONE_SIDE_RANGE if count == 1 else SIDE_RANGE
    for k in range(count):
        thing = things[int(rng.integers(len(things)))]
        matrix = _placement(rng, thing.image.shape[:2], width, height, sides)
        pixels = cv2.warpAffine(thing.image, matrix, (width, height), flags=cv2.INTER_LINEAR).astype(np.float32)
        alpha = cv2.warpAffine(thing.mask, matrix, (width, height), flags=cv2.INTER_LINEAR)[..., None]
        frame = frame * (1 - alpha) + pixels * alpha
        owner[alpha[..., 0] > 0.5] = k
        placed.append(thing.label)
    boxes, labels = [], []
    for k, label in enumerate(placed):
        ys, xs = np.nonzero(owner == k)
        if len(xs) >= MIN_SEEN:
            boxes.append((float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)))
            labels.append(label)
    frame = frame * rng.uniform(0.8, 1.2) + rng.uniform(-15, 15)
    return Scene(np.clip(frame, 0, 255).astype(np.uint8), tuple(boxes), tuple(labels))


def _placement(rng: np.random.Generator, shape: tuple[int, int], width: int, height: int,
               sides: tuple[float, float]) -> np.ndarray:
    """A random turn, size (``sides``: of the frame's shorter side) and place (the middle may
    be just outside the frame)."""
    rows, cols = shape
    side = rng.uniform(*sides) * min(width, height)
    matrix = cv2.getRotationMatrix2D((cols / 2, rows / 2), float(rng.uniform(0, 360)), side / max(rows, cols))
    middle = (rng.uniform(-0.05, 1.05) * width, rng.uniform(-0.05, 1.05) * height)
    matrix[:, 2] += (middle[0] - cols / 2, middle[1] - rows / 2)
    return matrix


def to_input(box: tuple[float, float, float, float], width: int, height: int,
             pre: Preprocess) -> tuple[float, float, float, float]:
    """A box in frame pixels -> fractions of the network input (outside 0-1 where the
    preprocessing crops the thing off)."""
    x0, y0, x1, y1 = box
    left, top, sx, sy = input_window(height, width, pre)
    return (x0 - left) / sx, (y0 - top) / sy, (x1 - left) / sx, (y1 - top) / sy


# --- what the head should say ----------------------------------------------------------

def targets(boxes: Sequence[tuple[float, float, float, float]], labels: Sequence[int], rows: int,
            cols: int) -> Targets:
    """Per cell: how much it is the middle of a thing (a Gaussian over the box), and for
    the cells near a middle, the box's four distances and its class; where two things
    claim a cell, the smaller one has it (FCOS)."""
    ys, xs = np.meshgrid(cell_centres(rows), cell_centres(cols), indexing="ij")
    centre = np.zeros((rows, cols), np.float32)
    distances = np.zeros((rows, cols, 4), np.float32)
    positive = np.zeros((rows, cols), bool)
    label = np.zeros((rows, cols), np.int32)
    claimed = np.full((rows, cols), np.inf)
    for (x0, y0, x1, y1), cls in zip(boxes, labels):
        cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
        spread = ((xs - cx) / max(w, 1 / cols)) ** 2 + ((ys - cy) / max(h, 1 / rows)) ** 2
        centre = np.maximum(centre, np.exp(-spread / (2 * CENTRE_SIGMA ** 2)))
        near = ((np.abs(xs - cx) < max(0.75 / cols, CENTRE_REGION * w / 2))
                & (np.abs(ys - cy) < max(0.75 / rows, CENTRE_REGION * h / 2)) & (w * h < claimed))
        claimed[near] = w * h
        positive |= near
        label[near] = cls
        distances[near] = np.stack([xs - x0, ys - y0, x1 - xs, y1 - ys], axis=-1)[near]
    return Targets(centre, np.maximum(distances, 1e-3), positive, label)


# --- the head --------------------------------------------------------------------------

def make_head(classes: int, width: int, fine_mean: np.ndarray, fine_scale: np.ndarray,
              coarse_mean: np.ndarray, coarse_scale: np.ndarray):
    """The head as a Gluon block: (fine map, coarse map) -> (middle logit 1, log distances 4,
    class logits ``classes``) x fine rows x cols; :func:`output` joins them as the graph's.

    The feature standardisation is part of the block (fixed parameters), so the graph the
    model folder saves computes exactly what was trained."""
    import mxnet as mx
    from mxnet.gluon import nn

    class BoxHead(nn.HybridBlock):
        def __init__(self, **kwargs):
            super().__init__(prefix="box_head_", **kwargs)
            with self.name_scope():
                self.fine_mean = self.params.get_constant("fine_mean", fine_mean.reshape(1, -1, 1, 1))
                self.fine_scale = self.params.get_constant("fine_scale", fine_scale.reshape(1, -1, 1, 1))
                self.coarse_mean = self.params.get_constant("coarse_mean", coarse_mean.reshape(1, -1, 1, 1))
                self.coarse_scale = self.params.get_constant("coarse_scale", coarse_scale.reshape(1, -1, 1, 1))
                self.fine = nn.Conv2D(width, 1, in_channels=len(fine_mean))
                self.coarse = nn.Conv2D(width, 1, in_channels=len(coarse_mean))
                self.mix = nn.Conv2D(width, 3, padding=1, in_channels=width, activation="relu")
                self.middle = nn.Conv2D(1, 1, in_channels=width)
                self.extent = nn.Conv2D(4, 1, in_channels=width)
                self.kind = nn.Conv2D(classes, 1, in_channels=width)

        def hybrid_forward(self, F, fine, coarse, fine_mean, fine_scale, coarse_mean, coarse_scale):
            a = self.fine(F.broadcast_mul(F.broadcast_sub(fine, fine_mean), fine_scale))
            b = self.coarse(F.broadcast_mul(F.broadcast_sub(coarse, coarse_mean), coarse_scale))
            # Nearest upsampling after the 1x1 convolution: the same as before it, 4x cheaper.
            b = F.UpSampling(b, scale=2, sample_type="nearest", num_args=1)
            x = self.mix(F.relu(a + b))
            # Three outputs, not slices of one: MXNet's MKL-DNN backward fails on channel slices.
            return self.middle(x), self.extent(x), self.kind(x)

    head = BoxHead()
    head.initialize(mx.init.Xavier(), ctx=mx.cpu())
    return head


def fit(head, fine: np.ndarray, coarse: np.ndarray, truth: Sequence[Targets], cfg: BoxHeadConfig,
        on_epoch: Callable[[int, float], None] | None = None) -> float:
    """Train ``head`` on N scenes' feature maps; returns the last epoch's mean loss.

    Loss: cross-entropy of the middle heat (sigmoid of channel 0) against its soft target,
    L1 on the log distances and cross-entropy of the class, both at positive cells only."""
    import mxnet as mx
    from mxnet import autograd, gluon, nd

    centre = nd.array(np.stack([t.centre for t in truth]))
    distances = nd.array(np.log(np.stack([t.distances for t in truth])).transpose(0, 3, 1, 2))
    positive = nd.array(np.stack([t.positive for t in truth]).astype(np.float32))
    label = nd.array(np.stack([t.label for t in truth]).astype(np.float32))
    fine_nd, coarse_nd = nd.array(fine), nd.array(coarse)
    trainer = gluon.Trainer(head.collect_params(), "adam", {"learning_rate": cfg.lr, "wd": 1e-4})
    rng = np.random.default_rng(cfg.seed)
    mean_loss = float("nan")
    for epoch in range(cfg.epochs):
        order = rng.permutation(len(truth))
        total = 0.0
        for start in range(0, len(order), cfg.batch):
            pick = nd.array(order[start:start + cfg.batch])
            pos = positive.take(pick)
            with autograd.record():
                middle, extent, kind = head(nd.Dropout(fine_nd.take(pick), p=0.2),
                                            nd.Dropout(coarse_nd.take(pick), p=0.2))
                logit = middle.reshape((0, -3, 0))
                # Cross-entropy with the soft target: unlike a squared error of the sigmoid, its
                # gradient does not vanish where the head has settled on "nothing here".
                target = centre.take(pick)
                heat = nd.mean(nd.relu(logit) - logit * target + nd.log1p(nd.exp(-nd.abs(logit)))) * HEAT_WEIGHT
                count = nd.sum(pos) + 1
                box = nd.sum(nd.abs(extent - distances.take(pick)) * pos.expand_dims(1)) / (4 * count)
                picked = nd.pick(nd.log_softmax(kind, axis=1), label.take(pick), axis=1)
                kind = -nd.sum(picked * pos) / count
                loss = heat + box + kind
            loss.backward()
            trainer.step(1)
            total += float(loss.asscalar()) * len(order[start:start + cfg.batch])
        mean_loss = total / len(order)
        if on_epoch is not None:
            on_epoch(epoch, mean_loss)
    return mean_loss


def output(head, fine, coarse):
    """The head on two symbols, as the model folder's one (5 + classes) x H x W output."""
    import mxnet as mx

    return mx.sym.concat(*head(fine, coarse), dim=1, name="box_head")


# --- all of it -------------------------------------------------------------------------

@dataclass(frozen=True)
class Taught:
    """A trained head: its block, the scenes it learned from and its last loss."""
    head: object
    scenes: int
    things: int
    loss: float
    seconds: float


def teach(features: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], photos: Sequence[tuple[np.ndarray, int]],
          classes: int, background: set[int], pre: Preprocess, cfg: BoxHeadConfig = BoxHeadConfig(),
          report: Callable[[float, str], None] | None = None) -> Taught | None:
    """Make scenes from ``photos`` ((BGR image, class index) pairs), run them through
    ``features`` (a prepared N x 3 x S x S batch -> (fine maps, coarse maps)) and train a head.
    ``report(fraction done, text)`` hears of each step (the teach API's progress and cancel).

    None when there is nothing to learn: no scenes asked for, or too few things cut out."""
    if cfg.scenes == 0:
        return None
    began = time.monotonic()
    things, backdrops = cutouts(photos, background)
    if len(things) < 2 or not backdrops:
        return None
    rng = np.random.default_rng(cfg.seed)
    count = cfg.scene_count(len(things))
    fine, coarse, truth = [], [], []
    chunk = 16
    with progress.Bar(count, "box head: scenes") as bar:
        for start in range(0, count, chunk):
            scenes = [compose(rng, things, backdrops, cfg.max_things) for _ in range(min(chunk, count - start))]
            batch = np.concatenate([prepare(s.frame, pre) for s in scenes])
            f, c = features(batch)
            fine.append(f)
            coarse.append(c)
            rows, cols = f.shape[2:]
            for s in scenes:
                height, width = s.frame.shape[:2]
                truth.append(targets([to_input(b, width, height, pre) for b in s.boxes], s.labels, rows, cols))
            bar.update(len(scenes))
            if report is not None:
                report(SCENE_SHARE * len(truth) / count, f"box head: {len(truth)}/{count} scenes made from the photos")
    fine, coarse = np.concatenate(fine), np.concatenate(coarse)
    head = make_head(classes, cfg.width, fine.mean(axis=(0, 2, 3)), 1 / (fine.std(axis=(0, 2, 3)) + 1e-6),
                     coarse.mean(axis=(0, 2, 3)), 1 / (coarse.std(axis=(0, 2, 3)) + 1e-6))
    def epoch_done(epoch: int, loss: float) -> None:
        bar.update(1, f"loss {loss:.3f}")
        if report is not None:
            report(SCENE_SHARE + (1 - SCENE_SHARE) * (epoch + 1) / cfg.epochs,
                   f"box head: epoch {epoch + 1}/{cfg.epochs}, loss {loss:.3f}")

    with progress.Bar(cfg.epochs, "box head: training") as bar:
        loss = fit(head, fine, coarse, truth, cfg, epoch_done)
    return Taught(head, count, len(things), round(loss, 4), round(time.monotonic() - began, 1))
