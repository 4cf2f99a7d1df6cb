"""Reading image files: one rule for every stage, so an image is readable everywhere or nowhere.

OpenCV is inconsistent about a JPEG that was cut short (an interrupted copy or upload):
``cv2.imread`` fills the missing rows with grey and returns an image, which a model then
classifies with confidence, while ``cv2.imdecode`` of the same bytes returns None; libjpeg
only prints "Premature end of JPEG file". Here a JPEG is readable when it ends with its
end-of-image marker after its last scan; such a file is refused before OpenCV sees it, and
the caller names the file: ``predict``/``evaluate`` stop with one line, ``im2rec``, ``capture``
and the edge function's folder source skip it and say which file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from socksort.errors import UserError

# OpenCV (0.1 s to import) is imported inside the functions that decode with it.

_JPEG_START = b"\xff\xd8"
_START_OF_SCAN = b"\xff\xda"
_END_OF_IMAGE = b"\xff\xd9"


class UnreadableImage(UserError):
    """``<name> is not a readable image (<why>)``; ``reason`` is the part in brackets."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"{name} is not a readable image ({reason})")
        self.name = name
        self.reason = reason


def problem(data: bytes) -> str | None:
    """Why ``data`` cannot be a whole image, found without decoding it; None if it may be."""
    if not data:
        return "the file is empty"
    if data.startswith(_JPEG_START):
        scan = data.rfind(_START_OF_SCAN)
        # Inside a scan every 0xFF byte is escaped, so an end marker after the last scan
        # is the image's own (an EXIF thumbnail's comes before the scans).
        if scan < 0 or data.find(_END_OF_IMAGE, scan) < 0:
            return "a truncated JPEG: it ends before its end-of-image marker"
    return None


def decode(data: bytes, name: str, flags: int | None = None) -> np.ndarray:
    """The image in ``data`` as OpenCV decodes it (BGR by default; ``flags`` as ``cv2.imread``'s),
    or :class:`UnreadableImage` naming ``name``."""
    import cv2

    reason = problem(data)
    if reason is None:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR if flags is None else flags)
        if image is not None and image.size:
            return image
        reason = "OpenCV cannot decode it"
    raise UnreadableImage(name, reason)


def read(path: str | Path, flags: int | None = None) -> np.ndarray:
    """The image file at ``path``, as :func:`decode` reads it."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UnreadableImage(str(path), exc.strerror or str(exc)) from None
    return decode(data, str(path), flags)
