"""Draw the decision on the frame ("Google 97%") and each object found in it (a box in the
label's colour with "Google 97%" on a tag), and encode the frame as JPEG for the stream."""

from __future__ import annotations

import zlib

import cv2
import numpy as np

from socksort.contract import BLANK_LABEL
from socksort.schema import DetectedObject

JPEG_QUALITY = 80
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def draw(image_bgr: np.ndarray, label: str, probability: float, fps: float | None = None,
         status: str = "", objects: tuple[DetectedObject, ...] | None = None) -> np.ndarray:
    """Write the label banner, a status line and the objects' boxes onto ``image_bgr`` in
    place and return it."""
    height, width = image_bgr.shape[:2]
    scale = max(0.5, width / 640)
    thickness = max(1, round(scale * 2))
    text = f"{label} {probability:.0f}%"
    (text_w, text_h), base = cv2.getTextSize(text, _FONT, scale * 1.2, thickness)
    pad = round(8 * scale)
    banner = (0, 0, min(width, text_w + 2 * pad), text_h + base + 2 * pad)
    cv2.rectangle(image_bgr, banner[:2], banner[2:], (0, 0, 0), -1)
    colour = (180, 180, 180) if label == BLANK_LABEL else (80, 220, 80)
    cv2.putText(image_bgr, text, (pad, pad + text_h), _FONT, scale * 1.2, colour, thickness, cv2.LINE_AA)
    footer = " ".join(part for part in (f"{fps:.1f} fps" if fps else "", status) if part)
    if footer:
        cv2.putText(image_bgr, footer, (pad, height - pad), _FONT, scale * 0.6, (255, 255, 255),
                    max(1, thickness // 2), cv2.LINE_AA)
    # After the banner: a box reaching the frame's top-left corner stays whole, and no tag
    # is put where it would hide the banner.
    draw_objects(image_bgr, objects or (), avoid=(banner,))
    return image_bgr


def draw_objects(image_bgr: np.ndarray, objects: tuple[DetectedObject, ...],
                 avoid: tuple[tuple[int, int, int, int], ...] = ()) -> np.ndarray:
    """Each object's box (clipped to the frame) and a tag with its label and probability.

    Boxes go down least probable first, so where two overlap the more probable one's lines
    are on top. Tags come after all boxes, placed most probable first: above the box where
    there is room, else just inside its top edge, else below or inside its foot, taking the
    first place no earlier tag (nor any ``avoid`` rectangle, x0, y0, x1, y1) covers, so two
    socks side by side keep both names readable.
    """
    height, width = image_bgr.shape[:2]
    scale = max(0.4, width / 1000)
    thickness = max(2, round(width / 320))
    pad = max(2, round(4 * scale))
    shown = []
    for found in objects:
        box = found.box
        left, top = max(0, box.left), max(0, box.top)
        right, bottom = min(width, box.left + box.width) - 1, min(height, box.top + box.height) - 1
        if right >= left and bottom >= top:   # else wholly outside the frame
            shown.append((found, (left, top, right, bottom), label_colour(found.label)))
    for found, (left, top, right, bottom), colour in reversed(shown):
        cv2.rectangle(image_bgr, (left, top), (right, bottom), colour, thickness)
    taken = list(avoid)
    for found, (left, top, right, bottom), colour in shown:
        text = f"{found.label} {found.probability:.0f}%"
        (text_w, text_h), base = cv2.getTextSize(text, _FONT, scale, 1)
        tag_w, tag_h = text_w + 2 * pad, text_h + base + 2 * pad
        tag_left = max(0, min(left, width - tag_w))
        rows = [y for y in (top - tag_h, top, bottom + 1, bottom - tag_h + 1) if 0 <= y <= height - tag_h]
        spots = [(tag_left, y, tag_left + tag_w - 1, y + tag_h - 1) for y in rows or [max(0, top - tag_h)]]
        spot = next((s for s in spots if not any(_overlaps(s, t) for t in taken)), spots[0])
        taken.append(spot)
        x0, y0, x1, y1 = spot
        cv2.rectangle(image_bgr, (x0, y0), (x1, y1), colour, -1)
        cv2.putText(image_bgr, text, (x0 + pad, y0 + pad + text_h), _FONT, scale, _ink(colour), 1, cv2.LINE_AA)
    return image_bgr


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def label_colour(label: str) -> tuple[int, int, int]:
    """A bright BGR colour for a label, the same on every device and every run (crc32, where
    Python's own hash of a string changes from process to process)."""
    hue = zlib.crc32(label.encode("utf-8")) % 180
    bgr = cv2.cvtColor(np.array([[[hue, 210, 255]]], np.uint8), cv2.COLOR_HSV2BGR)[0, 0]
    return int(bgr[0]), int(bgr[1]), int(bgr[2])


def _ink(background: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black text on a light tag, white on a dark one."""
    blue, green, red = background
    return (0, 0, 0) if 0.114 * blue + 0.587 * green + 0.299 * red > 140 else (255, 255, 255)


def encode_jpeg(image_bgr: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    ok, data = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("OpenCV could not encode the frame as JPEG")
    return data.tobytes()
