"""``model.json``: the description that makes a model folder usable without our code.

The model folder is the artifact between ``training/`` (which writes it) and
``edge_lambda/`` (which loads it); see ``docs/model-artifact.md``. It holds
``model-symbol.json`` + ``model-0000.params`` (MXNet), ``model.onnx`` (ONNX Runtime),
``labels.txt`` (one class per line, in output order) and ``model.json``, parsed here.

The preprocessing is stated exactly, so any MXNet or ONNX program can reproduce it:

1. decode to 8-bit pixels and reorder channels to ``channel_order`` (``RGB``);
2. resize, with OpenCV interpolation ``interpolation`` (``cv2.resize``): ``squash``
   resizes the whole image to ``input_size`` x ``input_size`` ignoring aspect;
   ``shorter_center_crop`` first crops, in whole source pixels, the centred square of
   side ``s = floor(min(h, w) * input_size / resize_shorter + 1/2)`` (exact integer
   arithmetic; at least 1), at ``top = (h - s) // 2``, ``left = (w - s) // 2``, then
   resizes that square to ``input_size`` x ``input_size``: what scaling the shorter side
   to ``resize_shorter`` and cutting out the centred ``input_size`` square keeps, to
   within a pixel, with only the kept pixels resized;
3. ``x = (pixel / pixel_scale - mean) / std`` per channel, float32;
4. layout ``NCHW``, batch of 1, input named ``input_name``.

``output`` says whether the network's output already is a probability distribution
(``probabilities``: softmax is inside the graph) or raw ``logits``.

``localise`` (absent in folders that cannot find boxes) says which further graph outputs
locate things in the frame and how to decode them (:class:`Localise`, ``socksort.localise``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from socksort import atomic
from socksort.errors import UserError

FORMAT = "socksort-model/1"
RESIZE_POLICIES = ("squash", "shorter_center_crop")
INTERPOLATIONS = ("linear", "area", "cubic", "nearest")


@dataclass(frozen=True)
class Preprocess:
    input_size: int = 224
    resize: str = "squash"
    resize_shorter: int = 224
    interpolation: str = "area"
    channel_order: str = "RGB"
    pixel_scale: float = 255.0
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    layout: str = "NCHW"

    def validate(self) -> None:
        if self.resize not in RESIZE_POLICIES:
            raise ValueError(f"preprocess.resize {self.resize!r} is not one of {RESIZE_POLICIES}")
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError(f"preprocess.interpolation {self.interpolation!r} is not one of {INTERPOLATIONS}")
        if self.channel_order not in ("RGB", "BGR"):
            raise ValueError(f"preprocess.channel_order {self.channel_order!r} is not RGB or BGR")
        if self.layout != "NCHW":
            raise ValueError(f"preprocess.layout {self.layout!r} is not NCHW")
        if self.input_size < 8 or (self.resize == "shorter_center_crop" and self.resize_shorter < self.input_size):
            raise ValueError("preprocess sizes are inconsistent")
        if len(self.mean) != 3 or len(self.std) != 3 or any(s <= 0 for s in self.std):
            raise ValueError("preprocess.mean/std need three values, std > 0")


@dataclass(frozen=True)
class Localise:
    """The graph outputs after output 0 that say where things are, and how to decode them.

    ``cells_output`` is an N x C x h x w output: the classifier's logits at every cell of the
    backbone's last feature map (the Dense head applied as a 1x1 convolution; their mean
    over the cells is the whole image's logits). ``objectness_output`` is N x 1 x h x w:
    how much of a thing each cell sees, scaled so that 1.0 is a typical cell of the
    training photos (``objectness``: ``feature_norm``, the L2 norm of the cell's features
    divided by ``reference``). A pixel belongs to an object where the objectness,
    upsampled to the network input and multiplied by 1 - p(background classes) of its
    cell, is at least ``threshold``; see docs/model-artifact.md for the whole decoding.
    ``cell_offset`` (network input pixels, both axes) is where a cell really looks compared
    with the centre of the input square it covers: TensorFlow's "SAME" padding puts the odd
    pixel of each strided layer after the image, so EfficientNet-Lite's cells look 15.5
    pixels right of and below their centres. ``boxes_output``, when not 0, is a trained box
    head's N x (5 + C) x H x W output on a finer grid: per cell the logit that the cell is the
    middle of a thing, the log distances from the cell's centre to the thing's left, top,
    right and bottom edges (fractions of the input side), and class logits; a cell whose
    middle probability is at least ``box_threshold`` makes a box, and then ``nms_iou``.
    """
    cells_output: int = 1
    objectness_output: int = 2
    objectness: str = "feature_norm"
    reference: float = 1.0          # the feature norm that objectness 1.0 stands for
    threshold: float = 0.6          # objectness (0-1+) above which a pixel is part of an object
    min_area: float = 0.01          # smallest object, as a fraction of the network input's area
    min_probability: float = 40.0   # percent: less sure objects are left out
    nms_iou: float = 0.5            # of two boxes overlapping more than this, the less sure goes
    background: tuple[str, ...] = ()  # classes that are not objects (e.g. "Blank")
    cell_offset: float = 0.0        # network input pixels from a cell's centre to where it looks
    boxes_output: int = 0           # the trained box head's output (5 + C) x H x W; 0: none
    box_threshold: float = 0.3      # the head's middle-of-a-thing probability that makes a box

    def validate(self, classes: tuple[str, ...]) -> None:
        used = [self.cells_output, self.objectness_output] + ([self.boxes_output] if self.boxes_output else [])
        if min(used) < 1 or len(set(used)) != len(used):
            raise ValueError("localise outputs must be distinct graph outputs after output 0")
        if self.boxes_output and not 0 < self.box_threshold < 1:
            raise ValueError("localise.box_threshold is out of range")
        if self.objectness != "feature_norm":
            raise ValueError(f"localise.objectness {self.objectness!r} is not 'feature_norm'")
        if not (self.reference > 0 and self.threshold > 0 and 0 <= self.min_area < 1 and abs(self.cell_offset) < 1e4
                and 0 <= self.min_probability <= 100 and 0 < self.nms_iou <= 1):
            raise ValueError("localise thresholds are out of range")
        unknown = set(self.background) - set(classes)
        if unknown:
            raise ValueError(f"localise.background names {sorted(unknown)}, which are not classes")


@dataclass(frozen=True)
class ModelCard:
    backbone: str
    classes: tuple[str, ...]
    preprocess: Preprocess = field(default_factory=Preprocess)
    output: str = "probabilities"
    input_name: str = "data"
    source: str = "socksort-train"
    val_accuracy: float | None = None
    train_data_hash: str | None = None
    created: str | None = None
    extra: dict = field(default_factory=dict)
    # Lineage (socksort.modelstore): which photos, settings and code made this model.
    id: str | None = None               # 12 hex; None for a folder from an older socksort
    dataset_version: str | None = None  # sha256:<hex> of the photos' label<TAB>sha256 lines
    parent: str | None = None           # the model it started from, if any
    code_version: str | None = None
    mode: str | None = None             # "quick" (a head on cached embeddings) or "full" (fine-tune)
    params: dict | None = None          # the training settings that went into the id
    localise: Localise | None = None    # None: output 0 only, no boxes (every older folder)
    format: str = FORMAT

    def to_dict(self) -> dict:
        data = asdict(self)
        data["classes"] = list(self.classes)
        data["preprocess"]["mean"] = list(self.preprocess.mean)
        data["preprocess"]["std"] = list(self.preprocess.std)
        if self.localise is None:
            del data["localise"]    # an older reader's card stays exactly as it was
        else:
            data["localise"]["background"] = list(self.localise.background)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "ModelCard":
        if data.get("format") != FORMAT:
            raise ValueError(f"format is {data.get('format')!r}, expected {FORMAT!r}")
        known = {f for f in cls.__dataclass_fields__}
        pre = dict(data.get("preprocess") or {})
        pre_known = set(Preprocess.__dataclass_fields__)
        unknown = set(pre) - pre_known
        if unknown:
            raise ValueError(f"unknown preprocess field(s) {sorted(unknown)}")
        for key in ("mean", "std"):
            if key in pre:
                pre[key] = tuple(float(v) for v in pre[key])
        fields = {k: v for k, v in data.items() if k in known and k not in ("preprocess", "localise")}
        fields["classes"] = tuple(fields.get("classes") or ())
        card = cls(**fields, preprocess=Preprocess(**pre), localise=_localise(data.get("localise")))
        card.validate()
        return card

    def validate(self) -> None:
        if not self.classes or len(set(self.classes)) != len(self.classes):
            raise ValueError("classes must be a non-empty list of distinct names")
        if self.output not in ("probabilities", "logits"):
            raise ValueError(f"output {self.output!r} is not 'probabilities' or 'logits'")
        self.preprocess.validate()
        if self.localise is not None:
            self.localise.validate(self.classes)

    def save(self, folder: str | Path) -> None:
        """Write ``model.json`` and ``labels.txt`` (atomically) into ``folder``."""
        self.validate()
        folder = Path(folder)
        atomic.write_text(folder / "labels.txt", "".join(f"{c}\n" for c in self.classes))
        atomic.write_json(folder / "model.json", self.to_dict())


def _localise(data) -> Localise | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ValueError("localise must be an object")
    known = set(Localise.__dataclass_fields__)
    # A newer writer may add decoding hints; what this reader knows still decodes.
    fields = {k: v for k, v in data.items() if k in known}
    if "background" in fields:
        fields["background"] = tuple(fields["background"])
    return Localise(**fields)


def load(folder: str | Path, need: tuple[str, ...] = ("model.json", "labels.txt")) -> ModelCard:
    """Read and check a model folder's description; ``need`` names files that must exist.

    Raises :class:`UserError` naming the missing file or the inconsistency.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"model folder {folder} does not exist")
    for name in need:
        if not (folder / name).is_file():
            raise UserError(f"model folder {folder} is missing {name}")
    try:
        card = ModelCard.from_dict(json.loads((folder / "model.json").read_text()))
    except (ValueError, TypeError) as exc:
        raise UserError(f"{folder / 'model.json'}: {exc}") from None
    labels_path = folder / "labels.txt"
    if labels_path.is_file():
        labels = tuple(line.strip() for line in labels_path.read_text().splitlines() if line.strip())
        if labels != card.classes:
            raise UserError(f"{labels_path} ({len(labels)} labels) does not match the classes in "
                            f"model.json ({len(card.classes)} classes)")
    return card


def data_hash(*recs: str | Path) -> str:
    """What ``train_data_hash`` means: sha256 over the record files (train, then val), in order.

    Training writes it into the card; the demo compares it to decide whether a model can be
    reused for the data it just packed.
    """
    digest = hashlib.sha256()
    for rec in recs:
        with open(rec, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return f"sha256:{digest.hexdigest()}"
