"""Classifying one photo with a stored model's ``model.onnx`` on ONNX Runtime.

The photo becomes the network's input through :func:`socksort.preprocess.prepare`, the
same code training validated with and the camera runs, so the API and the camera agree on
a photo. A model that localises (``socksort.localise.has_boxes``) also answers the objects
in the photo, each box in the uploaded photo's pixels, decoded by the same shared code the
camera uses. Sessions are cached per model id: a model folder never changes under its id (the
id is a hash of what made it), so a cached session is never stale.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, replace

import numpy as np

from socksort import images, localise
from socksort.modelcard import ModelCard
from socksort.modelstore import ModelStore, StoredModel
from socksort.preprocess import prepare
from socksort.schema import DetectedObject

# ONNX Runtime (a heavy import) is imported inside Classifier._session.

TOP = 5
CACHED_SESSIONS = 4


@dataclass(frozen=True)
class Prediction:
    model: str
    label: str
    probability: float           # percent, as the camera publishes it
    top: list[dict]
    objects: tuple[DetectedObject, ...] | None = None   # None: the model finds no boxes

    def to_dict(self) -> dict:
        out = {"success": True, "model": self.model, "label": self.label,
               "probability": self.probability, "top": self.top}
        if self.objects is not None:
            out["objects"] = [found.to_dict() for found in self.objects]
        return out


class Classifier:
    def __init__(self, store: ModelStore):
        self.store = store
        self._sessions: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()

    def classify(self, data: bytes, model: StoredModel, name: str = "the image") -> Prediction:
        """Decode ``data`` (UnreadableImage when it is no image) and classify it with ``model``."""
        image = images.decode(data, name)
        session = self._session(model)
        batch = prepare(image, model.card.preprocess)
        outputs = session.run(None, {model.card.input_name: batch})
        answer = predict(outputs[0][0], model.card, model.id)
        if localise.has_boxes(model.card):
            height, width = image.shape[:2]
            answer = replace(answer, objects=localise.find_objects([np.asarray(out[0]) for out in outputs],
                                                                   model.card, width, height))
        return answer

    def _session(self, model: StoredModel):
        with self._lock:
            session = self._sessions.get(model.id)
            if session is not None:
                self._sessions.move_to_end(model.id)
                return session
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1   # leave the other core to the camera relay and training
        options.log_severity_level = 3     # errors only: an exported graph's unused initializers are no news
        session = onnxruntime.InferenceSession(str(model.folder / "model.onnx"), options,
                                               providers=["CPUExecutionProvider"])
        with self._lock:
            self._sessions[model.id] = session
            while len(self._sessions) > CACHED_SESSIONS:
                self._sessions.popitem(last=False)
        return session


def predict(output: np.ndarray, card: ModelCard, model_id: str) -> Prediction:
    """The network's output for one image as the API's answer."""
    scores = np.asarray(output, dtype=np.float64).reshape(-1)
    if card.output == "logits":
        scores = np.exp(scores - scores.max())
        scores /= scores.sum()
    order = np.argsort(-scores)[:TOP]
    top = [{"label": card.classes[i], "probability": round(float(scores[i]) * 100, 2)} for i in order]
    return Prediction(model_id, top[0]["label"], top[0]["probability"], top)
