"""Fine-tuning: a new head on ImageNet features, then the whole network at a lower rate.

Two phases, both with on-the-fly augmentation from worker processes:

1. **Head warm-up** (``warmup_epochs``): the backbone is frozen, so each image costs one
   forward pass and no backward pass through it. The features of every augmented view are
   kept, and after each epoch the head is trained ``head_replays`` more times over all
   views seen so far: many head updates for the price of one pass through the backbone.
   Validation features are computed once, since a frozen backbone maps them the same way.
2. **Fine-tuning** (``epochs``): every weight learns, at ``lr * finetune_factor``. Batch
   norm keeps its ImageNet statistics (inference mode): with a dozen photos per batch,
   batch statistics would be noise.

After every epoch the validation images go through ``socksort.preprocess.prepare``
exactly as the camera's frames will. The best epoch (higher validation accuracy, then
lower validation loss) is kept; training stops early when ``patience`` epochs bring no
improvement. Training from scratch (``pretrained=False``) skips the warm-up and trains
everything, batch norm included, at ``lr``.

MXNet's operators run on every usable core (``training/threads.py``, set before MXNet
loads; ``SOCKSORT_TRAIN_THREADS`` overrides): left to itself MXNet used one of two.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from socksort import progress
from socksort.errors import UserError
from socksort.modelcard import Preprocess
from socksort.preprocess import normalize, prepare
from socksort.training import data, threads
from socksort.training.augment import Augment, augment
from socksort.training.backbones import build, info
from socksort.training.metrics import Scores

# MXNet (seconds to import) is imported inside the functions that use it, and so is
# efficientnet_lite, which builds its network from MXNet at import.


# Receives training's events as they happen: {"type": "step", "progress", "text"} per batch
# and {"type": "epoch", ...EpochRecord} per epoch (the teach API streams them to the page).
Events = Callable[[dict], None]


def _no_events(event: dict) -> None:
    pass


@dataclass(frozen=True)
class TrainConfig:
    backbone: str = "efficientnet_lite0"
    epochs: int = 6                 # fine-tuning epochs, at most (early stopping may end sooner)
    warmup_epochs: int = 2          # head-only epochs with the backbone frozen
    batch_size: int = 16
    lr: float = 3e-3                # Adam rate of the head warm-up (and of training from scratch)
    # Fine-tuning rate = lr * finetune_factor. At a tenth of the head's rate Adam pulled the
    # ImageNet features off course (validation accuracy fell from 100 % to 96 % on the synthetic socks).
    finetune_factor: float = 0.01
    weight_decay: float = 1e-4
    input_size: int = 224
    patience: int = 2
    head_replays: int = 15
    workers: int = 2
    pretrained: bool = True
    seed: int = 0
    augment: Augment = field(default_factory=Augment)

    def validate(self) -> None:
        _use_the_cores()    # first: the backbone's module below loads MXNet
        info(self.backbone)
        if self.backbone == "efficientnet_lite0":
            from socksort.training.efficientnet_lite import check_input_size
            check_input_size(self.input_size)
        if self.epochs + self.warmup_epochs < 1:
            raise UserError("nothing to train: --epochs and --warmup-epochs are both 0")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise UserError(f"--lr {self.lr} must be a positive number")


@dataclass(frozen=True)
class EpochRecord:
    phase: str                      # "warmup", "finetune" or "scratch"
    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    images_per_s: float
    seconds: float
    elapsed: float                  # since training started, data loading included

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainResult:
    net: object                     # the Gluon network, best epoch's weights, logits out
    classes: tuple[str, ...]
    preprocess: Preprocess
    history: list[EpochRecord]
    best: EpochRecord
    val_scores: Scores
    val_batch: np.ndarray           # the prepared validation images (for the ONNX check)
    seconds: float


class AugmentedRecords:
    """A Gluon dataset of randomly augmented, normalised training images."""

    def __init__(self, records: data.RecordSet, pre: Preprocess, aug: Augment, seed: int):
        self.records, self.pre, self.aug, self.seed = records, pre, aug, seed

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int):
        if not getattr(self, "_single_threaded", False):
            # Each worker process is one of the parallel lanes; OpenCV's own threads would
            # only compete with MXNet for the same cores.
            cv2.setNumThreads(1)
            self._single_threaded = True
        # A fresh, reproducible stream per (seed, image): the epoch is part of the seed.
        rng = np.random.default_rng([self.seed, int(i)])
        image = augment(self.records.decode(i), self.pre.input_size, rng, self.aug)
        return normalize(image, self.pre), np.int64(self.records.labels[i])


def _loader(records, pre, cfg: TrainConfig, epoch_seed: int):
    from mxnet import gluon

    dataset = AugmentedRecords(records, pre, cfg.augment, epoch_seed)
    return gluon.data.DataLoader(dataset, batch_size=cfg.batch_size, shuffle=True,
                                 last_batch="keep", num_workers=cfg.workers)


def _batches(records, pre, cfg: TrainConfig, epoch_seed: int):
    """(images, labels) batches on the CPU context; workers hand them over in shared memory."""
    import mxnet as mx

    for x, y in _loader(records, pre, cfg, epoch_seed):
        yield x.as_in_context(mx.cpu()), y.as_in_context(mx.cpu())


def prepare_batch(records: data.RecordSet, pre: Preprocess) -> np.ndarray:
    """All images of ``records`` through the reference preprocessing, N x 3 x S x S."""
    return np.concatenate([prepare(records.decode(i), pre) for i in range(len(records))])


def _in_batches(array, size: int):
    for start in range(0, len(array), size):
        yield array[start:start + size]


def _use_the_cores() -> None:
    """Every core for MXNet's operators, if MXNet is not loaded yet (see training/threads.py)."""
    chosen = threads.configure()
    if chosen.mxnet_loaded and chosen.settings and "OMP_NUM_THREADS" not in os.environ:
        progress.step(f"MXNet was loaded before training set its threads: it uses its own default "
                      f"(set OMP_NUM_THREADS={chosen.settings['OMP_NUM_THREADS']} to use every core)")


def fit(train_rec: Path, val_rec: Path, classes: list[str], cfg: TrainConfig = TrainConfig(),
        events: Events | None = None) -> TrainResult:
    """Train on ``train_rec``, validate on ``val_rec``; ``classes`` in label order."""
    _use_the_cores()
    cfg.validate()
    started = time.monotonic()
    train_set = data.read_records(Path(train_rec), len(classes))
    data.require_several_classes(train_set, classes)
    val_set = data.read_records(Path(val_rec), len(classes))
    return fit_records(train_set, val_set, classes, cfg, events, started)


def fit_records(train_set: data.RecordSet, val_set: data.RecordSet, classes: list[str],
                cfg: TrainConfig = TrainConfig(), events: Events | None = None,
                started: float | None = None) -> TrainResult:
    """Train on encoded images already read (from RecordIO or from a photo folder)."""
    _use_the_cores()
    import mxnet as mx

    # The data loader forks its workers, and each sets OpenCV to one thread. A child that
    # inherits a thread pool OpenCV started here (resizing a large photo goes parallel)
    # waits forever to join threads that do not exist in it; with one thread here from now
    # on, there is no pool to inherit.
    cv2.setNumThreads(1)

    cfg.validate()
    started = time.monotonic() if started is None else started
    mx.random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    pre = info(cfg.backbone).preprocess(cfg.input_size)
    progress.step(f"{len(train_set)} training and {len(val_set)} validation images, {len(classes)} classes")
    val_batch = prepare_batch(val_set, pre)
    net = build(cfg.backbone, len(classes), pretrained=cfg.pretrained)
    net.hybridize(static_alloc=True)
    run = _Run(net, cfg, pre, train_set, val_set, val_batch, started, events or _no_events)
    if cfg.pretrained:
        run.warmup()
        run.finetune()
    else:
        run.scratch()
    best = run.restore_best()
    scores = Scores.of(classes, val_set.labels, run.predict(val_batch).argmax(axis=1))
    return TrainResult(net, tuple(classes), pre, run.history, best, scores, val_batch,
                       time.monotonic() - started)


class _Run:
    """The state of one training run: network, optimisers, history and the best weights."""

    def __init__(self, net, cfg, pre, train_set, val_set, val_batch, started, events: Events):
        from mxnet import gluon

        self.net, self.cfg, self.pre, self.events = net, cfg, pre, events
        self.train_set, self.val_set, self.val_batch = train_set, val_set, val_batch
        self.started = started
        self.loss = gluon.loss.SoftmaxCrossEntropyLoss()
        self.history: list[EpochRecord] = []
        self.best: EpochRecord | None = None
        self.best_params: dict | None = None
        self.stale = 0
        self.epoch = 0

    # --- phases ---------------------------------------------------------------------

    def warmup(self) -> None:
        from mxnet import autograd, gluon, nd

        cfg = self.cfg
        trainer = gluon.Trainer(self.net.output.collect_params(), "adam",
                                {"learning_rate": cfg.lr, "wd": cfg.weight_decay})
        val_features = nd.concat(*[self.net.features(nd.array(b)) for b in _in_batches(self.val_batch, 32)], dim=0)
        seen_features, seen_labels = [], []
        for _ in range(cfg.warmup_epochs):
            bar, tally = self._epoch_start("warm-up")
            for x, y in _batches(self.train_set, self.pre, cfg, self._epoch_seed()):
                features = self.net.features(x)      # not recorded: the backbone stays as it is
                with autograd.record():
                    logits = self.net.output(features)
                    loss = self.loss(logits, y)
                loss.backward()
                trainer.step(len(y))
                seen_features.append(features)
                seen_labels.append(y)
                tally.add(loss, logits, y)
                bar.update(len(y), tally.status())
                self._step(bar)
            self._replay_head(trainer, nd.concat(*seen_features, dim=0), nd.concat(*seen_labels, dim=0))
            val_logits = self.net.output(val_features)
            self._epoch_end("warmup", bar, tally, val_logits)

    def finetune(self) -> None:
        from mxnet import gluon

        cfg = self.cfg
        trainer = gluon.Trainer(self.net.collect_params(), "adam",
                                {"learning_rate": cfg.lr * cfg.finetune_factor, "wd": cfg.weight_decay})
        self.stale = 0
        for _ in range(cfg.epochs):
            self._train_epoch("finetune", trainer, train_mode=False)
            if self.stale >= cfg.patience:
                progress.step(f"stopping early: no better validation result in {cfg.patience} epochs")
                break

    def scratch(self) -> None:
        import mxnet as mx
        from mxnet import gluon

        cfg = self.cfg
        self.net.collect_params().initialize(mx.init.Xavier(), force_reinit=True)
        trainer = gluon.Trainer(self.net.collect_params(), "adam",
                                {"learning_rate": cfg.lr, "wd": cfg.weight_decay})
        for _ in range(cfg.warmup_epochs + cfg.epochs):
            self._train_epoch("scratch", trainer, train_mode=True)

    # --- one epoch ------------------------------------------------------------------

    def _train_epoch(self, phase: str, trainer, train_mode: bool) -> None:
        from mxnet import autograd

        bar, tally = self._epoch_start("fine-tune" if phase == "finetune" else phase)
        for x, y in _batches(self.train_set, self.pre, self.cfg, self._epoch_seed()):
            with autograd.record(train_mode=train_mode):
                logits = self.net(x)
                loss = self.loss(logits, y)
            loss.backward()
            trainer.step(len(y))
            tally.add(loss, logits, y)
            bar.update(len(y), tally.status())
            self._step(bar)
        self._epoch_end(phase, bar, tally, self.predict_logits(self.val_batch))

    def _replay_head(self, trainer, features, labels) -> None:
        """More head updates on the features seen so far: the backbone pass was the costly part."""
        from mxnet import autograd, nd

        rng = np.random.default_rng(self._epoch_seed())
        size = self.cfg.batch_size
        for _ in range(self.cfg.head_replays):
            order = nd.array(rng.permutation(len(labels)), dtype="int64")
            for batch in _in_batches(order, size):
                x, y = features.take(batch), labels.take(batch)
                with autograd.record():
                    loss = self.loss(self.net.output(x), y)
                loss.backward()
                trainer.step(len(batch))

    def _step(self, bar) -> None:
        total = self.cfg.warmup_epochs + self.cfg.epochs
        within = bar.done / max(bar.total, 1)
        self.events({"type": "step", "progress": round((self.epoch - 1 + within) / total, 4),
                     "text": f"epoch {self.epoch}/{total} {bar.label.split(' ', 2)[-1]}: "
                             f"{bar.done}/{bar.total} images, {bar.status}"})

    def _epoch_seed(self) -> int:
        return self.cfg.seed * 1000 + len(self.history)

    def _epoch_start(self, label: str):
        self.epoch += 1
        total = self.cfg.warmup_epochs + self.cfg.epochs
        bar = progress.Bar(len(self.train_set), f"epoch {self.epoch}/{total} {label}")
        return bar, _Tally()

    def _epoch_end(self, phase: str, bar, tally: "_Tally", val_logits) -> None:
        from mxnet import nd

        labels = nd.array(self.val_set.labels)
        val_loss = float(self.loss(val_logits, labels).mean().asscalar())
        val_acc = float((val_logits.argmax(axis=1).asnumpy().astype(np.int64) == self.val_set.labels).mean())
        seconds = bar_elapsed(bar)
        record = EpochRecord(phase, len(self.history) + 1, tally.mean_loss, tally.accuracy, val_loss, val_acc,
                             tally.images / max(seconds, 1e-9), seconds, time.monotonic() - self.started)
        self.history.append(record)
        self.events({"type": "epoch", **record.to_dict()})
        bar.close(f"{tally.status()} | val loss {val_loss:.3f} acc {100 * val_acc:.1f}%")
        if self.best is None or (val_acc, -val_loss) > (self.best.val_acc, -self.best.val_loss):
            self.best, self.stale = record, 0
            self.best_params = {name: p.data().copy() for name, p in self.net.collect_params().items()}
        else:
            self.stale += 1

    # --- results --------------------------------------------------------------------

    def predict_logits(self, batch: np.ndarray):
        from mxnet import nd
        return nd.concat(*[self.net(nd.array(b)) for b in _in_batches(batch, 32)], dim=0)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return self.predict_logits(batch).asnumpy()

    def restore_best(self) -> EpochRecord:
        for name, param in self.net.collect_params().items():
            param.set_data(self.best_params[name])
        return self.best


def bar_elapsed(bar) -> float:
    return time.monotonic() - bar.started


class _Tally:
    """Running loss, accuracy and image count of one epoch, for the progress bar."""

    def __init__(self):
        self.loss_sum = 0.0
        self.correct = 0
        self.images = 0
        self.started = time.monotonic()

    def add(self, loss, logits, labels) -> None:
        self.loss_sum += float(loss.sum().asscalar())
        self.correct += int((logits.argmax(axis=1) == labels.astype("float32")).sum().asscalar())
        self.images += int(labels.shape[0])

    @property
    def mean_loss(self) -> float:
        return self.loss_sum / max(self.images, 1)

    @property
    def accuracy(self) -> float:
        return self.correct / max(self.images, 1)

    def status(self) -> str:
        rate = self.images / max(time.monotonic() - self.started, 1e-9)
        return f"loss {self.mean_loss:.3f} acc {100 * self.accuracy:.1f}% {rate:.1f} img/s"

