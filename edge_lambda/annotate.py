"""Draw the decision on the frame ("Google 97%") and encode it as JPEG for the stream."""

from __future__ import annotations

import cv2
import numpy as np

from socksort.contract import BLANK_LABEL

JPEG_QUALITY = 80
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def draw(image_bgr: np.ndarray, label: str, probability: float, fps: float | None = None,
         status: str = "") -> np.ndarray:
    """Write the label banner and a status line onto ``image_bgr`` in place and return it."""
    height, width = image_bgr.shape[:2]
    scale = max(0.5, width / 640)
    thickness = max(1, round(scale * 2))
    text = f"{label} {probability:.0f}%"
    (text_w, text_h), base = cv2.getTextSize(text, _FONT, scale * 1.2, thickness)
    pad = round(8 * scale)
    cv2.rectangle(image_bgr, (0, 0), (min(width, text_w + 2 * pad), text_h + base + 2 * pad), (0, 0, 0), -1)
    colour = (180, 180, 180) if label == BLANK_LABEL else (80, 220, 80)
    cv2.putText(image_bgr, text, (pad, pad + text_h), _FONT, scale * 1.2, colour, thickness, cv2.LINE_AA)
    footer = " ".join(part for part in (f"{fps:.1f} fps" if fps else "", status) if part)
    if footer:
        cv2.putText(image_bgr, footer, (pad, height - pad), _FONT, scale * 0.6, (255, 255, 255),
                    max(1, thickness // 2), cv2.LINE_AA)
    return image_bgr


def encode_jpeg(image_bgr: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    ok, data = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("OpenCV could not encode the frame as JPEG")
    return data.tobytes()
