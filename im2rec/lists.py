"""``socksort im2rec --list``: image lists in MXNet's ``.lst`` format, split per class.

A ``.lst`` line is ``index<TAB>label<TAB>relative/path.jpg`` with the label printed as a
float (``3.000000``), exactly as MXNet's tools/im2rec.py writes it. Class folders under
ROOT are the labels, numbered in sorted folder order; ``PREFIX_classes.txt`` keeps the
names in index order for training. Unlike im2rec.py the split is stratified: every class
is divided by the ratios on its own, so each class with two or more photos appears in
both training and validation.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from socksort import atomic
from socksort.errors import UserError

DEFAULT_EXTS = (".jpeg", ".jpg", ".png")
# First bytes of the formats OpenCV decodes that people photograph in.
_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM", b"RIFF")


@dataclass(frozen=True)
class Item:
    index: int
    label: int | float | tuple[float, ...]  # a class index; read lists may hold floats or several
    path: str  # relative to ROOT, with forward slashes


@dataclass(frozen=True)
class SkippedFile:
    """An image left out, and why (``unreadable``, ``missing``), with the details if any."""
    path: str
    why: str
    detail: str = ""


@dataclass
class Scan:
    classes: list[str]
    items: list[Item]
    skipped: Counter = field(default_factory=Counter)
    skipped_files: list[SkippedFile] = field(default_factory=list)   # the unreadable ones, named


def looks_like_image(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError:
        return False
    return any(head.startswith(magic) for magic in _MAGIC)


def _files_under(folder: Path):
    """Every non-hidden file below folder, in a stable (sorted) order."""
    for path, subdirs, files in os.walk(folder, followlinks=True):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(path) / name


def scan(root: Path, exts: tuple[str, ...] = DEFAULT_EXTS) -> Scan:
    """Find the class folders under root and their images; stop on classes unfit to train."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"ROOT {root}: no such folder")
    exts = tuple(e.lower() for e in exts)
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    skipped: Counter = Counter()
    unreadable: list[SkippedFile] = []
    for loose in root.iterdir():
        if loose.is_file() and loose.suffix.lower() in exts:
            skipped["outside a class folder"] += 1
    classes, items = [], []
    for folder in folders:
        found = []
        for path in _files_under(folder):
            if path.suffix.lower() not in exts:
                skipped["not an image"] += 1
            elif not looks_like_image(path):
                skipped["unreadable"] += 1
                unreadable.append(SkippedFile(path.relative_to(root).as_posix(), "unreadable",
                                              "not an image file"))
            else:
                relative = path.relative_to(root).as_posix()
                if "\t" in relative or "\n" in relative:
                    raise UserError(f"{relative!r}: a tab or line break in a path cannot go into a .lst "
                                    "line; rename it")
                found.append(relative)
        if not found and not any(_files_under(folder)):
            raise UserError(f"class folder {folder.name!r} is empty; add photos or remove the folder")
        if not found:
            raise UserError(f"class folder {folder.name!r} has no readable images")
        if len(found) == 1:
            raise UserError(f"class {folder.name!r} has only one image; each class needs at least 2 "
                            "(one to train on, one to validate with)")
        label = len(classes)
        classes.append(folder.name)
        start = len(items)
        items.extend(Item(start + i, label, rel) for i, rel in enumerate(found))
    if not items:
        raise UserError(f"ROOT {root}: no images in class folders (expected ROOT/<class>/*.jpg)")
    return Scan(classes, items, skipped, unreadable)


def split(items: list[Item], train_ratio: float, test_ratio: float, seed: int,
          shuffle: bool = True) -> dict[str, list[Item]]:
    """Divide each class by the ratios; returns {"train", "val", "test"} (or {"": all})."""
    if train_ratio >= 1.0 and test_ratio <= 0:
        parts = {"": list(items)}
    else:
        parts = {"train": [], "val": [], "test": []}
        rng = np.random.default_rng(seed)
        for label in sorted({item.label for item in items}):
            members = [item for item in items if item.label == label]
            order = [members[i] for i in rng.permutation(len(members))]
            n_test, n_train = _sizes(len(order), train_ratio, test_ratio)
            parts["test"] += order[:n_test]
            parts["train"] += order[n_test:n_test + n_train]
            parts["val"] += order[n_test + n_train:]
        parts = {name: part for name, part in parts.items() if part or name != "test"}
    if shuffle:
        rng = np.random.default_rng([seed, 1])
        return {name: [part[i] for i in rng.permutation(len(part))] for name, part in parts.items()}
    return {name: sorted(part, key=lambda item: item.index) for name, part in parts.items()}


def _sizes(count: int, train_ratio: float, test_ratio: float) -> tuple[int, int]:
    """(test, train) counts for a class of count images; validation gets the rest.

    Training and validation each keep at least one image, test only when asked for and
    when there are three or more.
    """
    n_test = round(count * test_ratio)
    if test_ratio > 0 and count >= 3:
        n_test = max(n_test, 1)
    n_test = min(n_test, max(count - 2, 0))
    n_train = min(max(round(count * train_ratio), 1), count - n_test - 1)
    return n_test, n_train


def list_name(prefix: str, part: str) -> Path:
    return Path(f"{prefix}_{part}.lst" if part else f"{prefix}.lst")


def classes_name(prefix: str) -> Path:
    return Path(f"{prefix}_classes.txt")


def format_line(item: Item) -> str:
    return f"{item.index}\t{float(item.label):f}\t{item.path}\n"


def write_list(path: Path, items: list[Item]) -> None:
    atomic.write_text(path, "".join(format_line(item) for item in items))


def write_classes(path: Path, classes: list[str]) -> None:
    atomic.write_text(path, "".join(f"{name}\n" for name in classes))


def read_list(path: Path) -> list[Item]:
    """Parse a .lst file, naming the file and line of the first bad entry."""
    items = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            try:
                if len(fields) < 3:
                    raise ValueError
                index, labels = int(fields[0]), tuple(float(v) for v in fields[1:-1])
            except ValueError:
                raise UserError(f"{path}:{number}: not a .lst line (index<TAB>label<TAB>path)") from None
            # like im2rec.py: several label columns make a label vector
            label = labels if len(labels) > 1 else (int(labels[0]) if labels[0].is_integer() else labels[0])
            items.append(Item(index, label, fields[-1]))
    return items
