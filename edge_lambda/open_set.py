"""``socksort edge --match``: from a classified frame to what the matcher needs, and a
showing's look from the frames it kept.

"No sock" comes from the model's ``Blank`` class when it has one, else from the empty
scene of the first seconds (:mod:`background`). Either way the background is learned, so
the sock's pixels are known: a showing's look is made from crops around the sock (the
network then sees the sock, not the room) and from the colours of its pixels. One crop per
kept frame and its mirror image go through the network, at most ``MatchSettings.samples``
frames a showing, when the showing ends: a few frames' work per showing, not per frame.

What is used was chosen on rendered shows of designs seed 2017 only (crops against whole
frames, mirrors, 8 or 12 frames, colour weights 0-0.55, fixed and calibrated thresholds):
crops, mirrors, 8 frames, colour 0.25 and the calibrated threshold matched every showing
of 9 of 10 shows, as the best fixed threshold did. ``benchmarks/bench_match_live.py``
reports on designs seed 2026 (8 of 10 shows exactly right when this was written).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from socksort.contract import BLANK_LABEL
from socksort.edge_lambda.album import Album
from socksort.edge_lambda.annotate import encode_jpeg
from socksort.edge_lambda.background import Background, BackgroundSettings, shrink
from socksort.edge_lambda.classify import Classification, Classifier
from socksort.edge_lambda.match_client import RemotePool
from socksort.edge_lambda.showings import MatchSettings, Observation, Showing, ShowingMatcher, Threshold
from socksort.edge_lambda.status import MatchStatus
from socksort.schema import Guess

# OpenCV is imported inside the functions that use it.

CROP_MARGIN = 1.1        # the crop's side, as a share of the sock's larger side
UNDECIDED = "sock ?"      # drawn while a showing is in view and not yet matched
COLOUR_WEIGHT = 0.25     # the colours' share of the look's cosine similarity
HUE_BINS, SATURATION_BINS, VALUE_BINS = 12, 4, 4
CROP_JPEG_QUALITY = 90   # the album's crops may become training photos (naming on the dashboard)


@dataclass(frozen=True)
class Sample:
    image: np.ndarray                        # the frame as captured
    box: tuple[int, int, int, int] | None    # left, top, right, bottom of the sock in frame pixels
    mask: np.ndarray | None                  # the background's foreground mask (small), for colours


class OpenSet:
    """Frames in, (item, label) out in order, for one camera session."""

    def __init__(self, classifier: Classifier, settings: MatchSettings = MatchSettings(),
                 threshold: Threshold = Threshold(), background: Background | None = None,
                 album: Album | None = None, service: str | None = None, device: str = "camera",
                 log=lambda text: None):
        """``album``: where each showing's crops are kept and corrections are made; the
        camera's sessions share one, and with it their sock and showing numbers.
        ``service``: the URL of a match service that decides every showing with the looks of
        all cameras (``match_client.py``); it then keeps the album, and ``album`` is unused."""
        self.classifier = classifier
        self.blank_class = BLANK_LABEL in classifier.card.classes
        # The room does not change with the model: a later session keeps the learned scene.
        self.background = background or Background(BackgroundSettings())
        if service is not None:
            self.album = None   # the service keeps every camera's showings
            pool = RemotePool(service, device, model_key(classifier.card), self.crops, threshold, log)
            self.matcher: ShowingMatcher = ShowingMatcher(self.look, settings, pool=pool)
        else:
            self.album = album if album is not None else Album()
            self.matcher = ShowingMatcher(
                self.look, settings, threshold, self.album.numbers, showing_numbers=self.album.showing_numbers,
                lock=self.album.lock, on_decided=self._keep)

    @property
    def learning(self) -> bool:
        """Still learning the empty scene (a model without a Blank class): nothing is a sock yet."""
        return not self.blank_class and not self.background.learned

    def observe(self, item, image: np.ndarray, ts_ms: int, result: Classification) -> list[tuple[object, str]]:
        something = self.background.observe(image, ts_ms)
        sock = result.label != BLANK_LABEL if self.blank_class else bool(something)
        sample = None
        if sock:
            mask = self.background.last_mask
            sample = Sample(image, sock_box(mask, image.shape[1], image.shape[0]), mask)
        return self.matcher.add(Observation(item, ts_ms, sock, sample))

    def flush(self) -> list[tuple[object, str]]:
        return self.matcher.flush()

    def status(self) -> MatchStatus:
        matcher = self.matcher
        fixed = matcher.threshold.fixed
        return MatchStatus(showings=len(matcher.showings),
                           pairs=sum(s.partner is not None for s in matcher.showings) // 2,
                           ghosts=matcher.ghosts, holding=matcher.holding, learning=self.learning,
                           threshold="calibrated" if fixed is None else f"{fixed:g}")

    def drawn(self, result: Classification) -> Classification:
        """What the live page shows for the newest frame: the open showing's label once
        decided, "sock ?" while it is being seen, else Blank."""
        open_label = self.matcher.open_label
        if open_label is None and self.matcher.holding:
            open_label = UNDECIDED
        label = open_label or BLANK_LABEL
        return Classification(label, result.probability, (Guess(label, result.probability),))

    def crops(self, samples: list[Sample]) -> list[bytes]:
        """The showing's crops as JPEG: what the album shows a person, and teaches from once named."""
        return [encode_jpeg(crop(s), CROP_JPEG_QUALITY) for s in samples]

    def _keep(self, showing: Showing, samples: list[Sample], started_ms: int) -> None:
        self.album.add(showing, self.crops(samples), started_ms)

    def look(self, samples: list[Sample]) -> np.ndarray | None:
        """A showing's look: its crops' (and their mirror images') mean pooled features and
        its sock's colours, each L2-normalised, mixed by weight (None without samples)."""
        if not samples:
            return None
        import cv2

        clf = self.classifier
        crops = [crop(s) for s in samples]
        # Each crop and its mirror image: a sock held the other way round is the same sock.
        batch = np.concatenate([clf.prepare(view) for c in crops for view in (c, cv2.flip(c, 1))])
        _, features = clf.runtime.run_with_features(batch)
        shape = _unit(features.astype(np.float64).mean(axis=0))
        colours = _unit(np.sqrt(sum(sock_colours(s) for s in samples)))
        return np.concatenate([np.sqrt(1 - COLOUR_WEIGHT) * shape, np.sqrt(COLOUR_WEIGHT) * colours])


def model_key(card) -> str:
    """Which looks can be compared: those of one model (its id; an older folder without one,
    its backbone and classes)."""
    return card.id or f"{card.backbone}:{','.join(card.classes)}"


def sock_box(mask: np.ndarray | None, width: int, height: int) -> tuple[int, int, int, int] | None:
    """The foreground's bounding box in frame pixels (None: no mask, or nothing in it)."""
    if mask is None or not mask.any():
        return None
    ys, xs = np.nonzero(mask)
    sx, sy = width / mask.shape[1], height / mask.shape[0]
    return (int(xs.min() * sx), int(ys.min() * sy), int(np.ceil((xs.max() + 1) * sx)),
            int(np.ceil((ys.max() + 1) * sy)))


def crop(sample: Sample) -> np.ndarray:
    """The square around the sock (the whole frame when it is not known)."""
    if sample.box is None:
        return sample.image
    height, width = sample.image.shape[:2]
    left, top, right, bottom = sample.box
    side = max(right - left, bottom - top) * CROP_MARGIN
    cx, cy = (left + right) / 2, (top + bottom) / 2
    x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    x1, y1 = int(min(width, cx + side / 2)), int(min(height, cy + side / 2))
    return sample.image[y0:y1, x0:x1] if x1 - x0 > 8 and y1 - y0 > 8 else sample.image


def sock_colours(sample: Sample) -> np.ndarray:
    """Hue x saturation and brightness counts of the sock's pixels (the whole frame without a mask)."""
    import cv2

    hsv = cv2.cvtColor(shrink(sample.image).astype(np.uint8), cv2.COLOR_BGR2HSV)
    pixels = hsv[sample.mask] if sample.mask is not None and sample.mask.any() else hsv.reshape(-1, 3)
    hue_sat = np.histogram2d(pixels[:, 0], pixels[:, 1], bins=[HUE_BINS, SATURATION_BINS],
                             range=[[0, 180], [0, 256]])[0].ravel()
    value = np.histogram(pixels[:, 2], bins=VALUE_BINS, range=[0, 256])[0]
    return np.concatenate([hue_sat, value]).astype(np.float64)


def _unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x)
    return x / norm if norm > 0 else x
