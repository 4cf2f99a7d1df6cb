"""One record of ``camera_frames``: what ``socksort camera`` writes and ``socksort worker`` reads.

Key: the device id in UTF-8. Value: one JPEG frame. Headers: ``ts`` (epoch ms) and ``seq``
(the device's frame counter), both ASCII decimal, and ``content-type: image/jpeg``. The
worker refuses a record that breaks any of this with :class:`BadFrame`, whose text is the
one line it puts on the error topic; nothing here decodes the picture.
"""

from __future__ import annotations

from dataclasses import dataclass

from socksort import images
from socksort.contract import FRAME_CONTENT_TYPE

DEFAULT_MAX_BYTES = 1024 * 1024


class BadFrame(ValueError):
    """A camera_frames record the worker cannot classify; the text says why, in one line."""


@dataclass(frozen=True)
class FrameRecord:
    device: str
    seq: int
    ts: int            # epoch ms of the frame
    jpeg: bytes
    partition: int = -1
    offset: int = -1


def headers(ts_ms: int, seq: int) -> list[tuple[str, bytes]]:
    """The headers of one frame, as the camera sends them."""
    return [("ts", str(int(ts_ms)).encode("ascii")), ("seq", str(int(seq)).encode("ascii")),
            ("content-type", FRAME_CONTENT_TYPE.encode("ascii"))]


def parse(key: bytes | None, value: bytes | None, header_list, max_bytes: int = DEFAULT_MAX_BYTES,
          partition: int = -1, offset: int = -1) -> FrameRecord:
    """A record's key, value and headers (confluent-kafka's list of (name, bytes)) as a
    FrameRecord, or :class:`BadFrame` naming the first thing wrong."""
    if not key:
        raise BadFrame("no key: the key must be the device id")
    try:
        device = key.decode("utf-8")
    except UnicodeDecodeError:
        raise BadFrame("the key is not UTF-8 text (it must be the device id)") from None
    found = {}
    for name, raw in header_list or ():
        found.setdefault(name, raw)   # the first of repeated headers counts, as for HTTP
    ts = _decimal(found, "ts")
    seq = _decimal(found, "seq")
    kind = found.get("content-type")
    if kind is not None and kind.decode("ascii", "replace").strip().lower() != FRAME_CONTENT_TYPE:
        raise BadFrame(f"header content-type is {kind.decode('ascii', 'replace')!r}, not {FRAME_CONTENT_TYPE}")
    if not value:
        raise BadFrame("the value is empty: no frame")
    if len(value) > max_bytes:
        raise BadFrame(f"the frame is {len(value)} bytes, over --max-bytes {max_bytes}")
    if not value.startswith(b"\xff\xd8"):
        raise BadFrame("the value is not a JPEG (no JPEG start-of-image marker)")
    reason = images.problem(value)
    if reason is not None:
        raise BadFrame(f"the value is {reason}")
    return FrameRecord(device, seq, ts, bytes(value), partition, offset)


def _decimal(found: dict, name: str) -> int:
    raw = found.get(name)
    if raw is None:
        raise BadFrame(f"no {name} header")
    text = raw.decode("ascii", "replace") if isinstance(raw, (bytes, bytearray)) else str(raw)
    if not text.isdigit() or not text.isascii():
        raise BadFrame(f"header {name} is {text[:40]!r}, not an ASCII decimal")
    return int(text)
