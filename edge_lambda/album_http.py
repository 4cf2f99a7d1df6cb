"""An album's routes, the same on the edge page and on the match service, so the dashboard
corrects either one alike:

    GET  /showings.json          {"showings": [{"id", "label", "partner", "started_ms", "crops"
                                 (, "device")}], "dropped"}
    GET  /showings/ID/K.jpg      crop K of showing ID (K from 0 to its "crops" - 1)
    POST /showings/split         {"label"}: the pair's later showing becomes a sock of its own;
                                 answers {"label", "new_label", "showing"}
    POST /showings/join          {"labels": [A, B]}: the singles A and B are a pair, labelled A;
                                 answers {"label", "joined"}

Each function answers (status, content type, body), or None for a path that is not one of
these; the server around it writes the answer.
"""

from __future__ import annotations

import json
import re
from typing import Tuple

from socksort.edge_lambda.album import Album, CannotCorrect, NoSuchSock

MAX_BODY = 4096        # a correction's JSON body, at most
CROP_PATH = re.compile(r"/showings/(\d{1,9})/(\d{1,4})\.jpg")
POSTS = ("/showings/split", "/showings/join")
JSON = "application/json"

Answer = Tuple[int, str, bytes]   # typing's, not tuple[...]: the device runs Python 3.7


def get(album: Album, path: str) -> Answer | None:
    if path == "/showings.json":
        return _json(200, {"showings": [e.to_dict() for e in album.entries()], "dropped": album.dropped})
    crop = CROP_PATH.fullmatch(path)
    if crop is None:
        return None
    number, index = map(int, crop.groups())
    jpeg = album.crop(number, index)
    if jpeg is None:
        return _json(404, {"error": f"showing {number} has no crop {index} (or is no longer kept)"})
    return 200, "image/jpeg", jpeg


def post(album: Album, path: str, body: bytes) -> Answer | None:
    if path not in POSTS:
        return None
    try:
        fields = _fields(body)
        if path == "/showings/split":
            return _json(200, album.split(text(fields, "label")).to_dict())
        labels = fields.get("labels")
        if not (isinstance(labels, list) and len(labels) == 2 and all(isinstance(x, str) for x in labels)):
            raise ValueError('"labels" must be a list of two labels')
        return _json(200, album.join(labels[0], labels[1]).to_dict())
    except NoSuchSock as exc:
        return _json(404, {"error": str(exc)})
    except CannotCorrect as exc:
        return _json(409, {"error": str(exc)})
    except ValueError as exc:
        return _json(400, {"error": str(exc)})


def too_large(length: int) -> Answer:
    return _json(400, {"error": f"the body is {length} bytes; a correction takes at most {MAX_BODY}"})


def text(fields: dict, name: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f'"{name}" must be a non-empty string')
    return value


def _fields(body: bytes) -> dict:
    try:
        fields = json.loads(body or b"null")
    except ValueError:
        raise ValueError("the body is not JSON") from None
    if not isinstance(fields, dict):
        raise ValueError("the body must be a JSON object")
    return fields


def _json(status: int, obj) -> Answer:
    return status, JSON, json.dumps(obj).encode()
