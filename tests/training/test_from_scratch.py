"""Training from scratch: the baseline the benchmark compares transfer learning with."""

from dataclasses import replace

import pytest

from socksort.training import data
from socksort.training.train import TrainConfig, fit


def test_training_from_scratch_never_reads_the_imagenet_weights(tiny_dataset, monkeypatch):
    from socksort.training import efficientnet_lite

    def forbidden(*args, **kwargs):
        raise AssertionError("the ImageNet weights were read")
    monkeypatch.setattr(efficientnet_lite, "pretrained_lite0", forbidden)
    classes = data.read_classes(tiny_dataset / "tiny_classes.txt")
    cfg = replace(TrainConfig(), pretrained=False, epochs=1, warmup_epochs=0, input_size=32, workers=0,
                  batch_size=8)
    result = fit(tiny_dataset / "tiny_train.rec", tiny_dataset / "tiny_val.rec", classes, cfg)
    assert [h.phase for h in result.history] == ["scratch"]
    assert result.val_scores.total == len(data.read_records(tiny_dataset / "tiny_val.rec", len(classes)))


def test_a_run_with_no_epochs_is_refused():
    from socksort.errors import UserError
    with pytest.raises(UserError, match="nothing to train"):
        replace(TrainConfig(), epochs=0, warmup_epochs=0).validate()
