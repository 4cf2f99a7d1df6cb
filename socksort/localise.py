"""Finding the things in a frame: boxes from a localising model's outputs, and NMS.

A localising model folder (``model.json`` has ``localise``, :class:`socksort.modelcard.Localise`)
gives, besides the whole image's class probabilities (output 0), the classifier's logits at
every cell of the backbone's last feature map and an objectness per cell: a sliding window
computed once per frame. :func:`find_objects` turns them into boxes in pixels of the frame:

1. upsample objectness and cell logits (bilinear) to a grid ``UPSAMPLE`` times finer than the cells;
2. objectness x (1 - p(background classes)) at least ``threshold`` marks object pixels;
3. connected components of those pixels; inside each, the pixels whose most likely class
   differs form parts, and a part large enough becomes an object of its own (two socks of
   different designs touching), else the component is one object;
4. each object's class is the softmax of the mean cell logits over its pixels (what the
   whole-image head says about the pooled features of that region alone);
5. boxes go from network input pixels back to frame pixels through the card's preprocess
   (squash or the centred square of ``shorter_center_crop``);
6. non-maximum suppression, most probable first.

A model with a trained box head (``boxes_output``, training/box_head.py) is decoded from
that output instead, FCOS-style (:func:`decode_head`): every cell of the head's grid whose
middle-of-a-thing probability reaches ``box_threshold`` gives a box, its centre plus the
four distances the cell regresses, and the class its logits say; non-maximum suppression
keeps the surest cell of each thing, two boxes of one label overlapping by a quarter of
the smaller and together reaching ``PART_REACH`` of the frame's shorter side (a sock held
close) are parts of one thing, joined into one box, and a box half inside a surer one
is dropped whatever its label; then the boxes of one label that agree with a thing's box
(IoU at least ``VOTE_IOU``) vote on where it lies, each by its middle probability. A frame
the classifier (output 0) gives at least half to the background classes has no objects
from the head, and below that no head object is surer than the frame is not empty. A head's
box may reach past a centre crop's square into the rest of the frame, where the thing goes on.

The same steps are written out in docs/model-artifact.md for programs without this module.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from socksort.modelcard import ModelCard, Preprocess
from socksort.preprocess import input_window
from socksort.schema import Box, DetectedObject

UPSAMPLE = 8            # decoding grid per feature cell: boxes finer than the 32-pixel cells
PART_SHARE = 0.2        # a differently classified part must hold this share of its component
PART_OVERLAP = 0.25     # of two head boxes of one label, the smaller this much inside the other: one thing ...
PART_REACH = 0.6        # ... if together they reach this share of the frame's shorter side (a sock held close)
PART_INSIDE = 0.5       # of two head boxes of any labels, the smaller this much inside: the less sure goes
BACKGROUND_FRAME = 0.5  # a frame output 0 gives the background classes this much has no head objects
PEAK_SHARE = 0.5        # an object's box holds its pixels of at least this share of its peak objectness
VOTE_IOU = 0.6          # head boxes of one label this alike vote on the thing's box, by middle probability


def has_boxes(card: ModelCard) -> bool:
    """Whether the model folder carries localisation outputs."""
    return card.localise is not None


def find_objects(outputs: list[np.ndarray], card: ModelCard, width: int, height: int) -> tuple[DetectedObject, ...]:
    """The objects in one ``width`` x ``height`` frame, most probable first.

    ``outputs`` is every graph output for that one image, batch axis removed, in graph order.
    A model without localisation outputs has nothing to decode: ``()``.
    """
    spec = card.localise
    if spec is None:
        return ()
    if spec.boxes_output:
        return _objects_from_head(np.asarray(outputs[spec.boxes_output], dtype=np.float32),
                                  np.asarray(outputs[0], dtype=np.float32), card, width, height)
    cells = np.asarray(outputs[spec.cells_output], dtype=np.float32)
    objectness = np.asarray(outputs[spec.objectness_output], dtype=np.float32).reshape(cells.shape[1:])
    if cells.ndim != 3 or cells.shape[0] != len(card.classes):
        raise ValueError(f"output {spec.cells_output} has shape {cells.shape}, expected "
                         f"{len(card.classes)} x h x w")
    found = decode(cells, objectness, card.classes, spec.background, spec.threshold, spec.min_area,
                   spec.min_probability, spec.cell_offset / card.preprocess.input_size)
    placed = tuple(DetectedObject(label, probability, to_frame(box, card.preprocess, width, height))
                   for label, probability, box in found)
    placed = tuple(o for o in placed if o.box.width > 0 and o.box.height > 0)
    return nms(placed, spec.nms_iou)


def _objects_from_head(head: np.ndarray, whole: np.ndarray, card: ModelCard, width: int,
                       height: int) -> tuple[DetectedObject, ...]:
    spec = card.localise
    if head.ndim != 3 or head.shape[0] != 5 + len(card.classes):
        raise ValueError(f"output {spec.boxes_output} has shape {head.shape}, expected "
                         f"{5 + len(card.classes)} x h x w")
    # While the classifier is sure the whole frame is background, what the head finds is the
    # edge of a thing coming in or going out, not a thing to count yet.
    background = [card.classes.index(name) for name in spec.background]
    empty = float(whole[background].sum()) if background else 0.0
    if empty >= BACKGROUND_FRAME:
        return ()
    # Below that, how sure the classifier is that the frame is empty still caps how sure any
    # thing in it can be, so an edge seen at entry or exit stays under the pipeline's 75 %.
    ceiling = round(100.0 * (1.0 - empty), 2)
    placed = [(DetectedObject(label, min(probability, ceiling), to_frame(box, card.preprocess, width, height)),
               score)
              for label, probability, box, score in
              decode_head(head, card.classes, spec.background, spec.box_threshold, spec.min_probability)]
    # The surest middle of each thing keeps its box. Two boxes of one label that overlap by a
    # quarter of the smaller are parts of one thing when together they are as big as a sock held
    # close (whose leg and foot each look like a thing's middle): the surer grows to hold both.
    # Smaller, they are two socks lying over each other. A box half inside a surer one is such
    # a part too, whatever it was taken for.
    kept: list[DetectedObject] = []
    for candidate, _ in sorted(placed, key=lambda pair: -pair[1]):
        if candidate.box.width <= 0 or candidate.box.height <= 0 or any(
                iou(candidate.box, other.box) > spec.nms_iou or nested(candidate.box, other.box) >= PART_INSIDE
                for other in kept):
            continue
        part_of = next((i for i, other in enumerate(kept)
                        if other.label == candidate.label and nested(candidate.box, other.box) >= PART_OVERLAP
                        and _reach(union(candidate.box, other.box)) >= PART_REACH * min(width, height)), None)
        if part_of is None:
            kept.append(candidate)
        else:
            kept[part_of] = replace(kept[part_of], box=union(kept[part_of].box, candidate.box))
    # The surest middle's own box is often not the best placed of the boxes its neighbours
    # regress for the same thing; their mean, weighted by how sure each is, lands closer.
    kept = [replace(thing, box=vote(thing, placed)) for thing in kept]
    return tuple(sorted(kept, key=lambda o: -o.probability))


def _reach(box: Box) -> int:
    return max(box.width, box.height)


def vote(thing: DetectedObject, candidates: list[tuple[DetectedObject, float]]) -> Box:
    """The mean of the candidate boxes of ``thing``'s label whose IoU with its box is at least
    ``VOTE_IOU``, each weighted by its middle probability; ``thing``'s own box if none is."""
    agreeing = [(c.box, weight) for c, weight in candidates
                if c.label == thing.label and iou(c.box, thing.box) >= VOTE_IOU]
    if not agreeing:
        return thing.box
    corners = np.array([(b.left, b.top, b.left + b.width, b.top + b.height) for b, _ in agreeing], dtype=np.float64)
    left, top, right, bottom = np.round(np.average(corners, axis=0, weights=[w for _, w in agreeing]))
    return Box(int(left), int(top), int(right - left), int(bottom - top))


def decode_head(head: np.ndarray, classes: tuple[str, ...], background: tuple[str, ...], threshold: float,
                min_probability: float) -> list[tuple[str, float, tuple, float]]:
    """(label, percent, (x0, y0, x1, y1) as fractions of the network input, middle probability)
    per cell of a box head's (5 + C) x h x w output that is sure enough to be a thing's middle."""
    kept = np.array([c not in background for c in classes])
    if not kept.any():
        return []
    xs, ys = cell_centres(head.shape[2]), cell_centres(head.shape[1])
    middle = 1.0 / (1.0 + np.exp(-head[0]))
    found = []
    for i, j in zip(*np.nonzero(middle >= threshold)):
        left, up, right, down = np.exp(np.clip(head[1:5, i, j], -10.0, 3.0))
        x, y = xs[j], ys[i]
        probabilities = _softmax(head[5:, i, j])
        best = int(np.where(kept, probabilities, -1.0).argmax())
        percent = round(float(probabilities[best]) * 100, 2)
        if percent < min_probability:
            continue
        found.append((classes[best], percent, (x - left, y - up, x + right, y + down), float(middle[i, j])))
    return found


def cell_centres(count: int) -> np.ndarray:
    """Where each of ``count`` head cells along one side looks, as fractions of the input side
    (what the head was taught from, training/box_head.py)."""
    return (np.arange(count) + 0.5) / count


def decode(cells: np.ndarray, objectness: np.ndarray, classes: tuple[str, ...], background: tuple[str, ...],
           threshold: float, min_area: float, min_probability: float,
           offset: float = 0.0) -> list[tuple[str, float, tuple]]:
    """(label, percent, (x0, y0, x1, y1) as fractions of the network input) per object found;
    ``offset`` (a fraction of the input) moves the cells to where they look."""
    count, rows, cols = cells.shape
    grid = (cols * UPSAMPLE, rows * UPSAMPLE)
    logits = _upsample(cells, grid)                               # gh x gw x C
    score = cv2.resize(objectness, grid, interpolation=cv2.INTER_LINEAR)
    probabilities = _softmax(logits)
    kept = np.ones(count, bool)
    if background:
        for name in background:
            kept[classes.index(name)] = False
        score = score * (1.0 - probabilities[..., ~kept].sum(axis=-1))
    if not kept.any():
        return []
    mask = (score >= threshold).astype(np.uint8)
    smallest = max(1, int(min_area * grid[0] * grid[1]))
    n, labels = cv2.connectedComponents(mask, connectivity=8)
    own_class = np.where(kept, logits, -np.inf).argmax(axis=-1)
    found = []
    for component in range(1, n):
        inside = labels == component
        area = int(inside.sum())
        if area < smallest:
            continue
        # A thing's features are strongest on it and fade over a cell or two around it: the box
        # keeps the pixels of at least ``PEAK_SHARE`` of the component's strongest.
        inside &= score >= PEAK_SHARE * score[inside].max()
        area = int(inside.sum())
        for part in _parts(inside, area, own_class, smallest):
            pooled = _softmax(logits[part].mean(axis=0))
            best = int(np.where(kept, pooled, -1.0).argmax())
            percent = round(float(pooled[best]) * 100, 2)
            if percent < min_probability or pooled[best] < pooled[~kept].max(initial=0.0):
                continue
            ys, xs = np.nonzero(part)
            box = (xs.min() / grid[0] + offset, ys.min() / grid[1] + offset,
                   (xs.max() + 1) / grid[0] + offset, (ys.max() + 1) / grid[1] + offset)
            found.append((classes[best], percent, box))
    return found


def _parts(inside: np.ndarray, area: int, own_class: np.ndarray, smallest: int) -> list[np.ndarray]:
    """The component split where its pixels' classes differ, if each piece is big enough."""
    labels_here = own_class[inside]
    classes, counts = np.unique(labels_here, return_counts=True)
    big = classes[counts >= max(smallest, PART_SHARE * area)]
    if len(big) < 2:
        return [inside]
    parts = []
    for c in big:
        n, pieces, stats, _ = cv2.connectedComponentsWithStats((inside & (own_class == c)).astype(np.uint8),
                                                               connectivity=8)
        largest = 1 + int(stats[1:, cv2.CC_STAT_AREA].argmax())
        if stats[largest, cv2.CC_STAT_AREA] >= max(smallest, PART_SHARE * area):
            parts.append(pieces == largest)
    return parts if len(parts) >= 2 else [inside]


def _upsample(cells: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """C x h x w -> gh x gw x C, bilinear with cell centres on pixel centres (as cv2.resize)."""
    planes = np.ascontiguousarray(cells.transpose(1, 2, 0))
    out = np.empty((grid[1], grid[0], cells.shape[0]), np.float32)
    for start in range(0, cells.shape[0], 256):      # cv2.resize takes at most 512 channels
        chunk = cv2.resize(planes[..., start:start + 256], grid, interpolation=cv2.INTER_LINEAR)
        out[..., start:start + 256] = chunk.reshape(grid[1], grid[0], -1)
    return out


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def to_frame(box: tuple[float, float, float, float], pre: Preprocess, width: int, height: int) -> Box:
    """A box in fractions of the network input -> whole pixels of the frame it came from,
    cut to the frame (a centre crop's box may reach past its square into the frame)."""
    x0, y0, x1, y1 = box
    left, top, sx, sy = input_window(height, width, pre)
    fx0 = max(0, min(width, int(round(left + x0 * sx))))
    fy0 = max(0, min(height, int(round(top + y0 * sy))))
    fx1 = max(0, min(width, int(round(left + x1 * sx))))
    fy1 = max(0, min(height, int(round(top + y1 * sy))))
    return Box(fx0, fy0, fx1 - fx0, fy1 - fy0)


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (0 when either is empty)."""
    w = min(a.left + a.width, b.left + b.width) - max(a.left, b.left)
    h = min(a.top + a.height, b.top + b.height) - max(a.top, b.top)
    inter = max(0, w) * max(0, h)
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union > 0 else 0.0


def union(a: Box, b: Box) -> Box:
    """The smallest box holding both."""
    left, top = min(a.left, b.left), min(a.top, b.top)
    right, bottom = max(a.left + a.width, b.left + b.width), max(a.top + a.height, b.top + b.height)
    return Box(left, top, right - left, bottom - top)


def nested(a: Box, b: Box) -> float:
    """The share of the smaller box's area that the other covers (0 when either is empty)."""
    w = min(a.left + a.width, b.left + b.width) - max(a.left, b.left)
    h = min(a.top + a.height, b.top + b.height) - max(a.top, b.top)
    smaller = min(a.width * a.height, b.width * b.height)
    return max(0, w) * max(0, h) / smaller if smaller > 0 else 0.0


def nms(objects, iou_threshold: float) -> tuple[DetectedObject, ...]:
    """Most probable first; an object whose box overlaps a kept one by more than
    ``iou_threshold`` (IoU) is dropped, whatever its label: one place holds one thing."""
    kept: list[DetectedObject] = []
    for candidate in sorted(objects, key=lambda o: -o.probability):
        if all(iou(candidate.box, other.box) <= iou_threshold for other in kept):
            kept.append(candidate)
    return tuple(kept)
