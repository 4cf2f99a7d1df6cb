"""The prediction message: what the camera publishes to MQTT for every classified frame.

    {"image": "Google", "probability": 97.31, "ts": 1732186800123, "device": "deeplens-1",
     "seq": 42, "top": [{"label": "Google", "probability": 97.31}, ...], "model": "3f9c0a1b2d4e",
     "objects": [{"label": "Google", "probability": 97.31,
                  "box": {"left": 12, "top": 40, "width": 200, "height": 310}}, ...]}

``image`` and ``probability`` (percent, 0-100) are the seed project's fields, kept so its
ksqlDB statements still read the stream, and the only two a message must have: the seed's
DeepLens function publishes nothing else. ``ts`` is the frame's time in epoch
milliseconds, ``seq`` counts frames per device from 0, ``top`` is the top-k list, ``model``
the id of the model that made it (``null`` when it has none), ``objects`` each thing found in
the frame with its box in pixels of the frame, most probable first (``image`` and
``probability`` stay the main object, so readers that know only them keep working; a frame
with nothing in it has ``"objects": []``); a message without them is
still valid (the pipeline then takes the Kafka record's time, and a missing ``device``
is one default camera, :data:`socksort.contract.DEFAULT_DEVICE`).
Producers build a :class:`Prediction`; consumers parse with :meth:`Prediction.from_json`,
which names the first field that is wrong.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field


class SchemaError(ValueError):
    """A payload that is not a valid prediction message; the text names the field."""


@dataclass(frozen=True)
class Guess:
    label: str
    probability: float

    def to_dict(self) -> dict:
        return {"label": self.label, "probability": self.probability}


@dataclass(frozen=True)
class Box:
    """A rectangle in pixels of the image it was found in."""
    left: int
    top: int
    width: int
    height: int

    def to_dict(self) -> dict:
        return {"left": self.left, "top": self.top, "width": self.width, "height": self.height}


@dataclass(frozen=True)
class DetectedObject:
    """One thing found in a frame: what it is, how sure (percent), and where."""
    label: str
    probability: float
    box: Box

    def to_dict(self) -> dict:
        return {"label": self.label, "probability": self.probability, "box": self.box.to_dict()}


@dataclass(frozen=True)
class Prediction:
    image: str
    probability: float
    ts: int | None = None
    device: str | None = None
    seq: int | None = None
    top: tuple[Guess, ...] = field(default_factory=tuple)
    model: str | None = None        # the id of the model that made it (model.json's "id")
    objects: tuple[DetectedObject, ...] | None = None   # None: the camera does not look for boxes

    def to_dict(self) -> dict:
        """The message; optional fields the frame does not have are left out, as the seed's
        cameras leave them out."""
        out = {"image": self.image, "probability": self.probability}
        for name in ("ts", "device", "seq", "model"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.top:
            out["top"] = [guess.to_dict() for guess in self.top]
        if self.objects is not None:
            out["objects"] = [found.to_dict() for found in self.objects]
        return out

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":")).encode()

    @classmethod
    def from_dict(cls, obj) -> "Prediction":
        if not isinstance(obj, dict):
            raise SchemaError("prediction must be a JSON object")
        top = obj.get("top", [])
        if not isinstance(top, list):
            raise SchemaError("field 'top' must be a list")
        guesses = []
        for i, item in enumerate(top):
            if not isinstance(item, dict):
                raise SchemaError(f"field 'top[{i}]' must be an object")
            guesses.append(Guess(_text(item, "label", f"top[{i}].label"),
                                 _percent(item, "probability", f"top[{i}].probability")))
        return cls(
            image=_text(obj, "image"),
            probability=_percent(obj, "probability"),
            ts=_optional(obj, "ts", _whole),
            device=_optional(obj, "device", _text),
            seq=_optional(obj, "seq", _whole),
            top=tuple(guesses),
            model=_optional(obj, "model", _text),
            objects=_objects(obj),
        )

    @classmethod
    def from_json(cls, data: bytes | str) -> "Prediction":
        try:
            obj = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise SchemaError(f"not JSON: {exc}") from None
        return cls.from_dict(obj)


def _field(obj: dict, key: str, name: str):
    if key not in obj or obj[key] is None:
        raise SchemaError(f"field '{name}' is missing")
    return obj[key]


def _text(obj: dict, key: str, name: str | None = None) -> str:
    value = _field(obj, key, name or key)
    if not isinstance(value, str) or not value:
        raise SchemaError(f"field '{name or key}' must be a non-empty string")
    return value


def _percent(obj: dict, key: str, name: str | None = None) -> float:
    value = _field(obj, key, name or key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise SchemaError(f"field '{name or key}' must be a number")
    if not 0 <= value <= 100:
        raise SchemaError(f"field '{name or key}' must be a percentage between 0 and 100")
    return float(value)


def _optional(obj: dict, key: str, read):
    return None if obj.get(key) is None else read(obj, key)


def _objects(obj: dict) -> tuple[DetectedObject, ...] | None:
    items = obj.get("objects")
    if items is None:
        return None
    if not isinstance(items, list):
        raise SchemaError("field 'objects' must be a list")
    found = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise SchemaError(f"field 'objects[{i}]' must be an object")
        box = _field(item, "box", f"objects[{i}].box")
        if not isinstance(box, dict):
            raise SchemaError(f"field 'objects[{i}].box' must be an object")
        found.append(DetectedObject(
            _text(item, "label", f"objects[{i}].label"),
            _percent(item, "probability", f"objects[{i}].probability"),
            Box(*(_pixels(box, key, f"objects[{i}].box.{key}") for key in ("left", "top", "width", "height")))))
    return tuple(found)


def _pixels(obj: dict, key: str, name: str) -> int:
    value = _field(obj, key, name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise SchemaError(f"field '{name}' must be a number of pixels")
    return int(round(value))


def _whole(obj: dict, key: str) -> int:
    value = _field(obj, key, key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SchemaError(f"field '{key}' must be a non-negative integer")
    return value
