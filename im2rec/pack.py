"""``socksort im2rec PREFIX ROOT``: pack every matching ``.lst`` into ``.rec`` + ``.idx``.

Records are written with MXNet's own ``mx.recordio`` (``MXIndexedRecordIO`` and
``pack_img``), keyed by the ``.lst`` index, so ``ImageRecordIter`` and SageMaker's
image-classification algorithm read them. Encoding runs on ``--num-thread`` threads
(OpenCV releases the GIL while it decodes, resizes and encodes); records are written
in ``.lst`` order. Both files are written under temporary names and renamed at the
end, so an interrupted run leaves the old files (or none), never a truncated ``.rec``.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from socksort import images
from socksort.errors import UserError
from socksort.im2rec.lists import Item, SkippedFile, read_list
from socksort.im2rec.ordered import ordered_map
from socksort.progress import Bar

# MXNet (seconds to import) is imported inside the functions that write records with it.

ENCODINGS = (".jpg", ".png")


@dataclass(frozen=True)
class PackOptions:
    resize: int = 0            # shorter side in pixels; 0 keeps the size
    center_crop: bool = False  # crop the centred square before resizing
    quality: int = 95          # JPEG quality 1-100, or PNG compression 0-9
    encoding: str = ".jpg"
    color: int = 1             # 1 colour, 0 grey, -1 as stored (cv2.imread flags)
    pass_through: bool = False  # store the file's bytes untouched
    num_thread: int = 1

    def validate(self) -> None:
        if self.encoding not in ENCODINGS:
            raise UserError(f"--encoding {self.encoding!r}: must be one of {', '.join(ENCODINGS)}")
        if self.encoding == ".jpg" and not 1 <= self.quality <= 100:
            raise UserError(f"--quality {self.quality}: JPEG quality must be 1-100")
        if self.encoding == ".png" and not 0 <= self.quality <= 9:
            raise UserError(f"--quality {self.quality}: PNG compression must be 0-9")
        if self.color not in (-1, 0, 1):
            raise UserError(f"--color {self.color}: must be 1 (colour), 0 (grey) or -1 (unchanged)")


@dataclass
class PackResult:
    lst: Path
    rec: Path
    packed: int = 0
    skipped: Counter = field(default_factory=Counter)
    skipped_files: list[SkippedFile] = field(default_factory=list)


def find_lists(prefix: str) -> list[Path]:
    """The .lst files im2rec.py would pack for PREFIX: all in a folder, or PREFIX*.lst."""
    base = Path(prefix)
    if base.is_dir():
        found = sorted(base.glob("*.lst"))
    else:
        folder = base.parent if str(base.parent) else Path(".")
        found = sorted(p for p in folder.glob("*.lst") if p.name.startswith(base.name)) \
            if folder.is_dir() else []
    if not found:
        raise UserError(f"PREFIX {prefix}: no .lst files match; make them first with --list")
    return found


def shape_image(image: np.ndarray, opts: PackOptions) -> np.ndarray:
    """Centre-crop to a square (if asked), then scale the shorter side to opts.resize."""
    if opts.center_crop:
        height, width = image.shape[:2]
        side = min(height, width)
        top, left = (height - side) // 2, (width - side) // 2
        image = image[top:top + side, left:left + side]
    if opts.resize:
        height, width = image.shape[:2]
        if height > width:
            size = (opts.resize, height * opts.resize // width)
        else:
            size = (width * opts.resize // height, opts.resize)
        shrinking = size[0] < width
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return image


def encode(item: Item, root: Path, opts: PackOptions) -> bytes | SkippedFile:
    """One packed record, or why the image was skipped. A file every reader would refuse
    (a truncated JPEG, say) is skipped with --pass-through too."""
    import mxnet as mx

    try:
        data = (root / item.path).read_bytes()
    except OSError as exc:
        return SkippedFile(item.path, "missing", exc.strerror or "")
    label = np.asarray(item.label, np.float32) if isinstance(item.label, tuple) else float(item.label)
    header = mx.recordio.IRHeader(0, label, item.index, 0)
    try:
        if opts.pass_through:
            reason = images.problem(data)
            if reason is not None:
                raise images.UnreadableImage(item.path, reason)
            return mx.recordio.pack(header, data)
        image = images.decode(data, item.path, opts.color)
    except images.UnreadableImage as exc:
        return SkippedFile(item.path, "unreadable", exc.reason)
    return mx.recordio.pack_img(header, shape_image(image, opts), quality=opts.quality,
                                img_fmt=opts.encoding)


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.part")


def pack_list(lst: Path, root: Path, opts: PackOptions) -> PackResult:
    import mxnet as mx

    items = read_list(lst)
    rec, idx = lst.with_suffix(".rec"), lst.with_suffix(".idx")
    tmp_rec, tmp_idx = _temp_name(rec), _temp_name(idx)
    result = PackResult(lst, rec)
    writer = mx.recordio.MXIndexedRecordIO(str(tmp_idx), str(tmp_rec), "w")
    try:
        with Bar(len(items), f"packing {lst.name}") as bar:
            work = ordered_map(lambda item: encode(item, root, opts), items, opts.num_thread)
            for item, record in work:
                if isinstance(record, SkippedFile):
                    result.skipped[record.why] += 1
                    result.skipped_files.append(record)
                else:
                    writer.write_idx(item.index, record)
                    result.packed += 1
                bar.update()
        writer.close()
        for tmp in (tmp_rec, tmp_idx):
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
        # the index last: a reader that finds the new .idx also finds the new .rec
        os.replace(tmp_rec, rec)
        os.replace(tmp_idx, idx)
    except BaseException:
        writer.close()
        for tmp in (tmp_rec, tmp_idx):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        raise
    return result


def pack(prefix: str, root: Path, opts: PackOptions) -> list[PackResult]:
    opts.validate()
    if not Path(root).is_dir():
        raise UserError(f"ROOT {root}: no such folder")
    return [pack_list(lst, Path(root), opts) for lst in find_lists(prefix)]
