"""Quick training: embed each photo once, then train only a new head on the embeddings.

What Teachable Machine does, and why it takes seconds: the ImageNet backbone is frozen, so
a photo's pooled features never change. Each photo is embedded in ``views`` views (the
centred view the camera's preprocessing gives, then random augmentations, reproducible
per photo), and the embeddings are cached on disk per (photo sha256, backbone,
preprocessing, views), so adding one photo costs one photo's embedding the next time.
The backbone runs in ONNX Runtime (its features exported once, then cached): several
times faster than MXNet on this CPU.

The head is a softmax regression on the features, trained full-batch with Adam. Features
are standardised for the fit and the standardisation is folded back into the Dense
layer's weights, so the exported network is the backbone plus one plain Dense layer.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from socksort import atomic
from socksort.modelcard import Preprocess
from socksort.preprocess import normalize, prepare
from socksort.training.augment import Augment, augment
from socksort.training.metrics import Scores
from socksort.training.train import EpochRecord, Events

# MXNet and ONNX Runtime (seconds to import) are imported inside the functions that use them.

BATCH = 32


@dataclass(frozen=True)
class QuickConfig:
    backbone: str = "efficientnet_lite0"
    input_size: int = 224
    views: int = 4                 # per photo: the centred view + (views - 1) augmented ones
    iterations: int = 300          # full-batch Adam steps
    lr: float = 0.01
    weight_decay: float = 1e-3     # L2 on the standardised weights
    checkpoints: int = 10          # history records (the page's training curves)
    seed: int = 0
    augment: Augment = field(default_factory=Augment)

    def params(self) -> dict:
        """What decides the result: these go into the model id."""
        return json.loads(json.dumps(asdict(self)))


@dataclass(frozen=True)
class Photo:
    """One training photo: its content hash (the cache key) and its pixels, uint8 BGR."""
    sha256: str
    image: np.ndarray
    label: int


@dataclass
class HeadFit:
    weight: np.ndarray             # classes x features, for the raw (unstandardised) features
    bias: np.ndarray               # classes
    history: list[EpochRecord]
    val_scores: Scores | None


class Embedder:
    """The frozen backbone's pooled features, from ONNX Runtime, cached per photo."""

    def __init__(self, backbone: str, pre: Preprocess, cache: Path, threads: int | None = None):
        self.backbone, self.pre, self.cache = backbone, pre, Path(cache)
        self.threads = threads
        self._session = None

    def key(self, cfg: QuickConfig) -> str:
        spec = {"backbone": self.backbone, "preprocess": asdict(self.pre), "views": cfg.views,
                "augment": asdict(cfg.augment), "seed": cfg.seed, "features": 1}
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]

    def embed(self, photos: list[Photo], cfg: QuickConfig, events: Events) -> dict[str, np.ndarray]:
        """sha256 -> views x features for every photo; only photos not cached are computed."""
        folder = self.cache / "embeddings" / self.key(cfg)
        found: dict[str, np.ndarray] = {}
        todo: dict[str, Photo] = {}      # one embedding per content, whatever its labels
        for photo in photos:
            cached = _load(folder / f"{photo.sha256}.npy", cfg.views)
            if cached is not None:
                found[photo.sha256] = cached
            else:
                todo.setdefault(photo.sha256, photo)
        todo = list(todo.values())
        done = 0
        for start in range(0, len(todo), max(1, BATCH // cfg.views)):
            chunk = todo[start:start + max(1, BATCH // cfg.views)]
            batch = np.concatenate([self.views(p, cfg) for p in chunk])
            features = self.features(batch).reshape(len(chunk), cfg.views, -1)
            for photo, vectors in zip(chunk, features):
                _save(folder / f"{photo.sha256}.npy", vectors)
                found[photo.sha256] = vectors
            done += len(chunk)
            events({"type": "step", "progress": round(0.8 * done / len(todo), 4),
                    "text": f"embedding photos: {done}/{len(todo)} new ({len(photos) - len(todo)} cached)"})
        return found

    def views(self, photo: Photo, cfg: QuickConfig) -> np.ndarray:
        """views x 3 x S x S: the camera's centred view, then reproducible augmentations."""
        out = [prepare(photo.image, self.pre)]
        rng = np.random.default_rng([cfg.seed, int(photo.sha256[:12], 16)])
        for _ in range(cfg.views - 1):
            out.append(normalize(augment(photo.image, self.pre.input_size, rng, cfg.augment), self.pre)[None])
        return np.concatenate(out)

    def features(self, batch: np.ndarray) -> np.ndarray:
        session = self._load_session()
        name = session.get_inputs()[0].name
        return np.concatenate([session.run(None, {name: batch[i:i + BATCH]})[0]
                               for i in range(0, len(batch), BATCH)]).astype(np.float32)

    def _load_session(self):
        if self._session is None:
            import onnxruntime as ort

            path = self._features_onnx()
            options = ort.SessionOptions()
            options.log_severity_level = 3
            if self.threads:
                options.intra_op_num_threads = self.threads
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return self._session

    def _features_onnx(self) -> Path:
        """The backbone up to its pooled features as ONNX, exported once per backbone and size."""
        from socksort.training.backbones import build
        from socksort.training.onnx_export import export

        path = self.cache / "features" / f"{self.backbone}-{self.pre.input_size}.onnx"
        if path.is_file():
            return path
        net = build(self.backbone, 2, pretrained=True)
        features = net.features
        features.hybridize()
        _forward_once(features, self.pre.input_size)
        with atomic.replace_folder(path.with_suffix(".export")) as folder:
            features.export(str(folder / "features"), epoch=0)
            export(folder / "features", self.pre.input_size, folder / "features.onnx")
            path.parent.mkdir(parents=True, exist_ok=True)
            (folder / "features.onnx").replace(path)
        return path


def _forward_once(block, size: int) -> None:
    from mxnet import nd
    block(nd.zeros((1, 3, size, size)))


def _load(path: Path, views: int) -> np.ndarray | None:
    try:
        vectors = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None   # not cached yet, or a damaged file: compute it again
    return vectors if vectors.ndim == 2 and vectors.shape[0] == views else None


def _save(path: Path, vectors: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.save(buffer, vectors.astype(np.float32), allow_pickle=False)
    atomic.write_bytes(path, buffer.getvalue())


def fit_head(train_x: np.ndarray, train_y: np.ndarray, classes: int, cfg: QuickConfig, events: Events,
             val_x: np.ndarray | None = None, val_y: np.ndarray | None = None,
             class_names: tuple[str, ...] = ()) -> HeadFit:
    """Softmax regression by full-batch Adam; history at ``cfg.checkpoints`` points."""
    started = time.monotonic()
    mean, std = train_x.mean(axis=0), train_x.std(axis=0) + 1e-6
    xs = (train_x - mean) / std
    rng = np.random.default_rng(cfg.seed)
    w = rng.normal(0.0, 0.01, (xs.shape[1], classes)).astype(np.float32)
    b = np.zeros(classes, np.float32)
    onehot = np.eye(classes, dtype=np.float32)[train_y]
    adam = _Adam((w, b), cfg.lr)
    history: list[EpochRecord] = []
    every = max(1, cfg.iterations // max(1, cfg.checkpoints))
    last = started
    for step in range(1, cfg.iterations + 1):
        p = _softmax(xs @ w + b)
        grad = (p - onehot) / len(xs)
        adam.step((xs.T @ grad + cfg.weight_decay * w, grad.sum(axis=0)))
        if step % every == 0 or step == cfg.iterations:
            now = time.monotonic()
            record = _record(len(history) + 1, xs, train_y, w, b, val_x, val_y, mean, std,
                             len(xs) * every / max(now - last, 1e-9), now - last, now - started)
            last = now
            history.append(record)
            events({"type": "epoch", **record.to_dict()})
            events({"type": "step", "progress": round(0.8 + 0.15 * step / cfg.iterations, 4),
                    "text": f"training the head: step {step}/{cfg.iterations}, loss {record.train_loss:.3f}"})
    weight = (w / std[:, None]).T
    bias = b - (mean / std) @ w
    scores = None
    if val_x is not None and len(val_x):
        scores = Scores.of(class_names, val_y, (val_x @ weight.T + bias).argmax(axis=1))
    return HeadFit(weight.astype(np.float32), bias.astype(np.float32), history, scores)


def _record(epoch, xs, ys, w, b, val_x, val_y, mean, std, rate, seconds, elapsed) -> EpochRecord:
    train_loss, train_acc = _loss_acc(xs @ w + b, ys)
    if val_x is not None and len(val_x):
        val_loss, val_acc = _loss_acc(((val_x - mean) / std) @ w + b, val_y)
    else:
        val_loss, val_acc = float("nan"), float("nan")
    return EpochRecord("head", epoch, train_loss, train_acc, val_loss, val_acc, rate, seconds, elapsed)


def _loss_acc(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    p = _softmax(logits)
    loss = float(-np.log(p[np.arange(len(labels)), labels] + 1e-12).mean())
    return loss, float((logits.argmax(axis=1) == labels).mean())


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


class _Adam:
    def __init__(self, params, lr: float, beta1: float = 0.9, beta2: float = 0.999):
        self.params, self.lr, self.beta1, self.beta2 = params, lr, beta1, beta2
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads) -> None:
        self.t += 1
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            m_hat = m / (1 - self.beta1 ** self.t)
            v_hat = v / (1 - self.beta2 ** self.t)
            p -= self.lr * m_hat / (np.sqrt(v_hat) + 1e-8)


def network_with_head(backbone: str, head: HeadFit):
    """The ImageNet backbone with ``head`` as its Dense output layer (logits out)."""
    from mxnet import nd

    from socksort.training.backbones import build

    net = build(backbone, len(head.bias), pretrained=True)
    dense = net.output[-1] if hasattr(net.output, "__getitem__") else net.output
    dense.weight.set_data(nd.array(head.weight))
    dense.bias.set_data(nd.array(head.bias))
    return net
