"""RecordIO input: the ``.rec`` files im2rec writes, checked against the class list.

A record holds an im2rec header (the label, a float) and an encoded image. Everything is
read and checked up front: a label outside ``P_classes.txt``, a record that does not
unpack or an image that does not decode stops training before the first epoch, with the
file and record named, rather than in a worker process halfway through.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from socksort import images as image_files
from socksort.errors import UserError

# MXNet (seconds to import) is imported inside the functions that use it.


@dataclass(frozen=True)
class RecordSet:
    """The encoded images of one ``.rec`` and their integer labels, in file order."""

    path: Path
    images: tuple[bytes, ...]
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.images)

    def decode(self, i: int) -> np.ndarray:
        """Image ``i`` as OpenCV decodes a file: uint8 H x W x 3, BGR."""
        return decode_image(self.images[i], f"{self.path} record {i}")


def require_several_classes(records: RecordSet, classes: list[str]) -> None:
    """A classifier learns to tell classes apart: refuse training records of one class,
    which would give a model that always answers it ("100 % validation accuracy")."""
    present = sorted(set(records.labels.tolist()))
    if len(present) < 2:
        raise UserError(f"{records.path} holds only the class {classes[present[0]]!r} ({len(records)} "
                        "images): training needs photos of at least two classes (a Blank class too)")


def decode_image(data: bytes, where: str) -> np.ndarray:
    try:
        return image_files.decode(data, where)
    except image_files.UnreadableImage as exc:
        raise UserError(f"{where}: the image does not decode ({exc.reason}; corrupt .rec?)") from None


def default_labels_path(rec: Path) -> Path:
    """im2rec names the class list PREFIX_classes.txt beside PREFIX_train.rec / PREFIX_val.rec."""
    stem = rec.stem
    for part in ("_train", "_val", "_test"):
        if stem.endswith(part):
            return rec.with_name(stem[: -len(part)] + "_classes.txt")
    return rec.with_name(stem + "_classes.txt")


def read_classes(path: Path) -> list[str]:
    if not path.is_file():
        raise UserError(f"class list {path} does not exist (give it with --labels)")
    classes = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not classes:
        raise UserError(f"class list {path} is empty")
    if len(set(classes)) != len(classes):
        raise UserError(f"class list {path} names a class twice")
    return classes


def read_records(rec: Path, num_classes: int) -> RecordSet:
    """Every record of ``rec`` (via its ``.idx`` if present), with labels checked."""
    import mxnet as mx

    rec = Path(rec)
    if not rec.is_file():
        raise UserError(f"record file {rec} does not exist")
    images, labels = [], []
    for i, raw in enumerate(_raw_records(rec)):
        try:
            header, payload = mx.recordio.unpack(raw)
        except Exception:
            raise UserError(f"{rec} record {i} does not unpack (corrupt .rec?)") from None
        label = np.asarray(header.label, dtype=np.float64).ravel()
        if label.size != 1 or not float(label[0]).is_integer():
            raise UserError(f"{rec} record {i} has label {header.label!r}; expected one whole class number")
        value = int(label[0])
        if not 0 <= value < num_classes:
            raise UserError(f"{rec} record {i} has label {value}, outside the {num_classes} classes "
                            f"of the class list (0-{num_classes - 1})")
        if not payload:
            raise UserError(f"{rec} record {i} holds no image (corrupt .rec?)")
        images.append(bytes(payload))
        labels.append(value)
    if not images:
        raise UserError(f"{rec} holds no records")
    records = RecordSet(rec, tuple(images), np.asarray(labels, dtype=np.int64))
    for i in range(len(records)):  # a few ms each; far better than failing in a worker later
        records.decode(i)
    return records


def _raw_records(rec: Path):
    """The raw record payloads, in order. A damaged file raises UserError, never crashes."""
    import mxnet as mx

    idx = rec.with_suffix(".idx")
    try:
        if idx.is_file():
            reader = mx.recordio.MXIndexedRecordIO(str(idx), str(rec), "r")
            try:
                for key in list(reader.keys):
                    raw = reader.read_idx(key)
                    if raw is None:
                        raise UserError(f"{rec}: record {key} listed in {idx.name} is missing (corrupt .rec?)")
                    yield raw
            finally:
                reader.close()
        else:
            reader = mx.recordio.MXRecordIO(str(rec), "r")
            try:
                while (raw := reader.read()) is not None:
                    yield raw
            finally:
                reader.close()
    except mx.base.MXNetError as exc:
        raise UserError(f"{rec} is not a readable RecordIO file (corrupt .rec?): {mxnet_reason(exc)}") from None
    except ValueError as exc:  # a malformed .idx line
        raise UserError(f"{idx} is not a valid RecordIO index: {exc}") from None


def mxnet_reason(exc: Exception) -> str:
    """The one meaningful line of an MXNetError (its text starts with a C++ traceback)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = next((line for line in reversed(lines) if line.startswith("MXNetError")), lines[-1] if lines else "")
    return reason.removeprefix("MXNetError:").strip()[:200] or type(exc).__name__


