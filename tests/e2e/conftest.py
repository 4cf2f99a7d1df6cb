"""The end-to-end fixtures: a small sock model trained here, and a show with known truth.

The model is trained the way a user trains one (synth dataset → im2rec → train), kept
small so it trains in about a minute on two cores: three designs, a dozen photos each,
128-pixel input, the head trained on the frozen ImageNet backbone.
"""

from __future__ import annotations

import subprocess
import sys

import pytest


def socksort(*args, timeout: float = 900) -> None:
    done = subprocess.run([sys.executable, "-m", "socksort", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"socksort {' '.join(map(str, args))} failed ({done.returncode}):\n"
                             f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


@pytest.fixture(scope="session")
def sock_dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("e2e-data")
    socksort("synth", "dataset", "--out", folder / "dataset", "--classes", 3, "--per-class", 12,
             "--size", "320x240", "--seed", 0)
    return folder / "dataset"


@pytest.fixture(scope="session")
def sock_model(sock_dataset, tmp_path_factory):
    folder = tmp_path_factory.mktemp("e2e-model")
    prefix = folder / "records" / "socks"
    prefix.parent.mkdir()
    socksort("im2rec", "--list", "--recursive", "--train-ratio", "0.8", prefix, sock_dataset)
    socksort("im2rec", "--resize", 160, prefix, sock_dataset)
    socksort("train", "--train", f"{prefix}_train.rec", "--val", f"{prefix}_val.rec", "--out", folder / "model",
             "--input-size", 128, "--warmup-epochs", 2, "--epochs", 0)
    return folder / "model"


@pytest.fixture(scope="session")
def sock_show(sock_dataset, tmp_path_factory):
    """(video, truth.json): the designs of the dataset shown one at a time, some twice."""
    folder = tmp_path_factory.mktemp("e2e-show")
    socksort("synth", "show", "--out", folder / "show.mp4", "--truth", folder / "truth.json",
             "--classes-from", sock_dataset, "--seconds", 24, "--fps", 15, "--size", "320x240", "--seed", 1)
    return folder / "show.mp4", folder / "truth.json"
