"""``socksort evaluate --boxes``: objects found against the truth of labelled scenes, and the
sliding-window reference the box decoder is compared with.

Truth is what ``socksort synth scene`` writes, ``truth.json``::

    {"format": "socksort-scenes/1",
     "scenes": [{"path": "scene-00000.jpg", "width": 640, "height": 480,
                 "objects": [{"label": "navy-diamonds", "box": {"left", "top", "width", "height"}}]}]}

with paths relative to the truth file's folder. A found object matches the unmatched true
object it overlaps most if their IoU is at least ``MATCH_IOU``; the most probable found
objects choose first. Precision is matched / found, recall matched / true, label accuracy
the share of matched objects whose label is the true one.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from socksort import localise, progress
from socksort.errors import UserError
from socksort.schema import Box, DetectedObject

MATCH_IOU = 0.5
TRUTH_FORMAT = "socksort-scenes/1"


@dataclass(frozen=True)
class Scene:
    path: Path
    width: int
    height: int
    objects: tuple[DetectedObject, ...]     # probability 100: the truth


@dataclass(frozen=True)
class BoxScores:
    scenes: int
    found: int
    truth: int
    matched: int
    label_right: int
    seconds_per_image: float

    @property
    def precision(self) -> float:
        return self.matched / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.truth if self.truth else 1.0

    @property
    def label_accuracy(self) -> float:
        return self.label_right / self.matched if self.matched else 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "precision": round(self.precision, 4), "recall": round(self.recall, 4),
                "label_accuracy": round(self.label_accuracy, 4), "iou": MATCH_IOU}


def load_truth(path: Path) -> list[Scene]:
    """The scenes of a ``truth.json``; a file that is not one is refused in one line."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"--truth {path}: not a readable truth file ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != TRUTH_FORMAT:
        raise UserError(f"--truth {path}: expected format {TRUTH_FORMAT!r} (what socksort synth scene writes)")
    scenes = []
    try:
        for entry in data["scenes"]:
            objects = tuple(DetectedObject(o["label"], 100.0, Box(*(int(o["box"][k]) for k in
                                                                    ("left", "top", "width", "height"))))
                            for o in entry["objects"])
            scenes.append(Scene(path.parent / entry["path"], int(entry["width"]), int(entry["height"]), objects))
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"--truth {path}: a scene lacks a field or has a wrong one ({exc})") from None
    return scenes


def match(found, truth) -> list[tuple[DetectedObject, DetectedObject]]:
    """(found, true) pairs at IoU >= MATCH_IOU, each object in at most one pair."""
    free = list(truth)
    pairs = []
    for candidate in sorted(found, key=lambda o: -o.probability):
        overlaps = [localise.iou(candidate.box, t.box) for t in free]
        if overlaps and max(overlaps) >= MATCH_IOU:
            pairs.append((candidate, free.pop(int(np.argmax(overlaps)))))
    return pairs


def score(found_per_scene, scenes: list[Scene], seconds: float = 0.0) -> BoxScores:
    found = truth = matched = right = 0
    for objects, scene in zip(found_per_scene, scenes):
        pairs = match(objects, scene.objects)
        found += len(objects)
        truth += len(scene.objects)
        matched += len(pairs)
        right += sum(f.label == t.label for f, t in pairs)
    return BoxScores(len(scenes), found, truth, matched, right, seconds / max(1, len(scenes)))


def evaluate_boxes(classifier, truth: Path, method: str = "decoder", batch_size: int = 16) -> BoxScores:
    """Score ``classifier`` (``training.predict.Classifier``) on the scenes of ``truth``."""
    from socksort.training.predict import read_image

    scenes = load_truth(truth)
    if not scenes:
        raise UserError(f"--truth {truth} lists no scenes")
    unknown = sorted({o.label for s in scenes for o in s.objects} - set(classifier.classes))
    if unknown:
        raise UserError(f"--truth {truth} names {', '.join(unknown[:5])}, which the model does not know")
    found, seconds = [], 0.0
    with progress.Bar(len(scenes), f"finding objects ({method})") as bar:
        for start in range(0, len(scenes), batch_size):
            chunk = scenes[start:start + batch_size]
            images = [read_image(s.path) for s in chunk]
            began = time.perf_counter()
            if method == "decoder":
                found += classifier.objects(images)
            else:
                found += [sliding_window(classifier, image) for image in images]
            seconds += time.perf_counter() - began
            bar.update(len(chunk))
    return score(found, scenes, seconds)


# --- the sliding-window reference ---------------------------------------------------

WINDOW_SCALES = (0.35, 0.5, 0.7)    # window side as a fraction of the frame's shorter side
WINDOW_STRIDE = 0.25                # step as a fraction of the window side
WINDOW_MIN_PROBABILITY = 80.0       # percent
# A crop that looks like a training photo (a sock filling it) has a mean objectness of about
# 0.45, a crop of plain background about 0.25 (synth photos; the reference is each model's own).
WINDOW_MIN_OBJECTNESS = 0.35
WINDOW_NMS_IOU = 0.15               # windows a quarter of their side apart on one sock overlap little
WINDOW_NESTED = 0.4                 # a window this much inside a better one is the same sock


def windows(width: int, height: int, scales=WINDOW_SCALES, stride: float = WINDOW_STRIDE) -> list[Box]:
    """Square windows at each scale, ``stride`` of their side apart, covering the frame."""
    boxes = []
    for scale in scales:
        side = max(8, int(round(min(width, height) * scale)))
        step = max(1, int(round(side * stride)))
        xs = sorted({*range(0, max(1, width - side + 1), step), max(0, width - side)})
        ys = sorted({*range(0, max(1, height - side + 1), step), max(0, height - side)})
        boxes += [Box(x, y, min(side, width - x), min(side, height - y)) for y in ys for x in xs]
    return boxes


def sliding_window(classifier, image: np.ndarray, scales=WINDOW_SCALES, stride: float = WINDOW_STRIDE,
                   min_probability: float = WINDOW_MIN_PROBABILITY) -> tuple[DetectedObject, ...]:
    """The seed's detector: classify every window crop with the whole-image model, keep the
    confident ones that are not background, then non-maximum suppression.

    Background is a ``Blank`` class when the model has one and, for a localising model,
    a window whose mean objectness is under ``WINDOW_MIN_OBJECTNESS`` (without either, a
    classifier calls every window some sock)."""
    card = classifier.card
    spec = card.localise
    background = set(spec.background) if spec else ({"Blank"} & set(card.classes))
    candidates = windows(image.shape[1], image.shape[0], scales, stride)
    # Every window on a sock is sure of it; the one the sock fills best has the most objectness,
    # so windows rank by probability x mean objectness, and that window survives suppression.
    rank = {}
    crops = [image[b.top:b.top + b.height, b.left:b.left + b.width] for b in candidates]
    kept = []
    for box, outputs in zip(candidates, classifier.outputs(crops)):
        probabilities = outputs[0]
        best = int(np.argmax(probabilities))
        label = card.classes[best]
        percent = float(probabilities[best]) * 100
        if label in background or percent < min_probability:
            continue
        if spec is not None and float(outputs[spec.objectness_output].mean()) < WINDOW_MIN_OBJECTNESS:
            continue
        found = DetectedObject(label, round(percent, 2), box)
        rank[id(found)] = percent * (float(outputs[spec.objectness_output].mean()) if spec else 1.0)
        kept.append(found)
    kept.sort(key=lambda o: -rank[id(o)])
    survivors = []
    for candidate in kept:
        if all(localise.iou(candidate.box, o.box) <= WINDOW_NMS_IOU
               and localise.nested(candidate.box, o.box) < WINDOW_NESTED for o in survivors):
            survivors.append(candidate)
    return tuple(sorted(survivors, key=lambda o: -o.probability))


def report(scores: BoxScores, method: str) -> str:
    return (f"{method}: precision {100 * scores.precision:.1f}%, recall {100 * scores.recall:.1f}% at IoU >= "
            f"{MATCH_IOU} ({scores.matched} of {scores.found} found, {scores.truth} true objects in "
            f"{scores.scenes} scenes); label right on {100 * scores.label_accuracy:.1f}% of matched objects; "
            f"{1000 * scores.seconds_per_image:.1f} ms per image")
