"""The teach dataset: photos in ``DIR/<label>/``, one class per folder.

This is the layout ``socksort capture`` writes and ``im2rec --list --recursive`` reads, so
the CLI, the teach API and training from a folder share one dataset. A photo's identity
is its content: ``sha256`` of the stored file, and its ``id`` is the first 16 hex digits of
that. Photos the API stores are named ``<id>.jpg``; photos put there by other tools keep
their names and are found by content all the same.

The dataset version is ``sha256:<64 hex>``, the SHA-256 of the sorted lines
``label<TAB>sha256<LF>`` of every photo: the same photos under the same labels give the
same version, whoever stored them and whatever they are called.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from socksort import atomic, images
from socksort.errors import UserError

# OpenCV is imported inside the functions that encode with it.

IMAGE_EXTS = (".jpg", ".jpeg", ".png")
MAX_LABEL = 64
MIN_PER_CLASS = 2   # photos a class needs before training: one to learn from, one to check
JPEG_QUALITY = 95
EMPTY_VERSION = "sha256:" + hashlib.sha256(b"").hexdigest()


class NoSuchExample(UserError):
    """An id that names no photo of the dataset."""


@dataclass(frozen=True)
class Example:
    id: str           # the first 16 hex digits of sha256
    label: str
    sha256: str       # of the stored file's bytes
    path: Path
    added: str        # when the file was stored, ISO 8601 UTC

    def to_dict(self) -> dict:
        return {"id": self.id, "label": self.label, "sha256": self.sha256, "added": self.added}


@dataclass(frozen=True)
class Added:
    example: Example
    created: bool     # False: the same photo was already in the dataset


def validate_label(label) -> str:
    """A class name that is safe as a folder name, or UserError naming what is wrong."""
    if not isinstance(label, str) or not label:
        raise UserError("label is missing: give the class name")
    if len(label) > MAX_LABEL:
        raise UserError(f"label {label[:MAX_LABEL]!r}... is longer than {MAX_LABEL} characters")
    if "/" in label or "\\" in label or label in (".", "..") or ".." in label:
        raise UserError(f"label {label!r} may not contain a path separator or '..'")
    if not label.isprintable():
        raise UserError(f"label {label!r} holds a character that is not printable")
    if label.startswith(".") or label != label.strip():
        raise UserError(f"label {label!r} may not start with '.' or start or end with a space")
    return label


def check_trainable(counts: dict[str, int]) -> None:
    """At least two classes, each with at least ``MIN_PER_CLASS`` photos; else UserError
    naming the class (the teach API answers it as 400, ``socksort train`` as its error)."""
    if len(counts) < 2:
        have = ", ".join(f"{name!r}" for name in sorted(counts)) or "none"
        raise UserError(f"training needs photos of at least two classes; the dataset has {len(counts)} ({have})")
    for name, count in sorted(counts.items()):
        if count < MIN_PER_CLASS:
            raise UserError(f"class {name!r} has {count} photo{'s' if count != 1 else ''}; "
                            f"training needs at least {MIN_PER_CLASS} per class")


def dataset_version(pairs) -> str:
    """``sha256:<hex>`` of the sorted ``label\\tsha256`` lines of (label, sha256) pairs."""
    digest = hashlib.sha256()
    for label, sha in sorted(pairs):
        digest.update(f"{label}\t{sha}\n".encode("utf-8"))
    return f"sha256:{digest.hexdigest()}"


def as_jpeg(data: bytes, name: str = "the upload") -> bytes:
    """The bytes to store for an uploaded photo: a JPEG as it came, any other image
    re-encoded as JPEG. The bytes are decoded either way; a non-image raises
    :class:`socksort.images.UnreadableImage` naming ``name``."""
    import cv2

    image = images.decode(data, name)
    if data.startswith(b"\xff\xd8"):
        return data
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise images.UnreadableImage(name, "OpenCV cannot re-encode it as JPEG")
    return encoded.tobytes()


class ExampleStore:
    """The photos under ``root``; safe to share between the threads of one server.

    Hashes are cached by (path, size, mtime), so listing a dataset of a few thousand
    photos reads only the files that changed since the last look.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self._lock = threading.RLock()
        self._hashes: dict[Path, tuple[int, int, str]] = {}

    # --- reading --------------------------------------------------------------------

    def examples(self, label: str | None = None) -> list[Example]:
        """Every photo (of ``label`` if given), by label then id; a photo stored twice
        under one label counts once."""
        found: dict[tuple[str, str], Example] = {}
        for example in self._files(label):
            found.setdefault((example.label, example.id), example)
        return sorted(found.values(), key=lambda e: (e.label, e.id))

    def _files(self, label: str | None = None) -> list[Example]:
        """Every photo file (of ``label`` if given), copies included, in path order."""
        with self._lock:
            files = []
            for folder in self._label_folders():
                if label is not None and folder.name != label:
                    continue
                for path in sorted(folder.iterdir()):
                    if path.suffix.lower() not in IMAGE_EXTS or path.name.startswith(".") or not path.is_file():
                        continue
                    example = self._example(folder.name, path)
                    if example is not None:
                        files.append(example)
            return files

    def classes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for example in self.examples():
            counts[example.label] = counts.get(example.label, 0) + 1
        return counts

    def version(self, examples: list[Example] | None = None) -> str:
        examples = self.examples() if examples is None else examples
        return dataset_version((e.label, e.sha256) for e in examples)

    def get(self, example_id: str) -> Example:
        for example in self.examples():
            if example.id == example_id:
                return example
        raise NoSuchExample(f"no photo with id {example_id!r}")

    def _label_folders(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))

    def _example(self, label: str, path: Path) -> Example | None:
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None   # removed meanwhile
        cached = self._hashes.get(path)
        if cached and cached[:2] == (stat.st_size, stat.st_mtime_ns):
            sha = cached[2]
        else:
            try:
                sha = hashlib.sha256(path.read_bytes()).hexdigest()
            except FileNotFoundError:
                return None
            self._hashes[path] = (stat.st_size, stat.st_mtime_ns, sha)
        added = datetime.fromtimestamp(stat.st_mtime, timezone.utc).replace(microsecond=0)
        return Example(sha[:16], label, sha, path, added.isoformat().replace("+00:00", "Z"))

    # --- writing --------------------------------------------------------------------

    def add(self, data: bytes, label: str, name: str = "the upload") -> Added:
        """Store a photo under ``label`` (decoded first; JPEG kept as sent, others re-encoded).
        The same photo already in the dataset is not stored again."""
        label = validate_label(label)
        stored = as_jpeg(data, name)
        sha = hashlib.sha256(stored).hexdigest()
        with self._lock:
            for example in self.examples():
                if example.sha256 == sha:
                    return Added(example, False)
            path = self.root / label / f"{sha[:16]}.jpg"
            atomic.write_bytes(path, stored)
            return Added(self._example(label, path), True)

    def delete(self, example_id: str) -> Example:
        with self._lock:
            example = self.get(example_id)
            for same in self._copies(example):
                same.path.unlink(missing_ok=True)
            return example

    def delete_label(self, label: str) -> int:
        """Remove every photo of ``label`` and its folder; returns how many photos went."""
        label = validate_label(label)
        with self._lock:
            gone = self.examples(label)
            if not gone:
                raise NoSuchExample(f"no class named {label!r}")
            for example in self._files(label):
                example.path.unlink(missing_ok=True)
            _remove_if_empty(self.root / label)
            return len(gone)

    def relabel(self, example_id: str, label: str) -> Example:
        label = validate_label(label)
        with self._lock:
            example = self.get(example_id)
            if example.label == label:
                return example
            moved = None
            for same in self._copies(example):
                target = self.root / label / same.path.name
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.exists():
                    target = target.with_name(f"{example.id}{same.path.suffix.lower()}")
                os.replace(same.path, target)   # same filesystem: the photo is in one class or the other
                moved = target
            _remove_if_empty(self.root / example.label)
            return self._example(label, moved)

    def rename_label(self, old: str, new: str) -> int:
        """Move every photo of class ``old`` into class ``new`` (joining it if it exists)."""
        old, new = validate_label(old), validate_label(new)
        with self._lock:
            photos = self.examples(old)
            if not photos:
                raise NoSuchExample(f"no class named {old!r}")
            if old == new:
                return len(photos)
            for example in photos:
                self.relabel(example.id, new)
            return len(photos)

    def _copies(self, example: Example) -> list[Example]:
        return [e for e in self._files(example.label) if e.sha256 == example.sha256]


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass   # not empty (another tool's files), or already gone


THUMB = (32, 24)
MIN_CHANGE = 6.0   # mean thumbnail difference (0-255) that makes a new view


def thumbnail(frame_bgr: np.ndarray) -> np.ndarray:
    """A small blurred greyscale copy: what two views are compared by."""
    import cv2

    grey = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
    return cv2.resize(cv2.GaussianBlur(grey, (5, 5), 0), THUMB, interpolation=cv2.INTER_AREA).astype(np.float32)


def near_duplicate(a_bgr: np.ndarray, b_bgr: np.ndarray, min_change: float = MIN_CHANGE) -> bool:
    """Whether two frames show the same view (capture skips such a frame)."""
    return float(np.abs(thumbnail(a_bgr) - thumbnail(b_bgr)).mean()) < min_change
