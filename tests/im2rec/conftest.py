"""Small synthetic datasets shared by the im2rec stage's tests (tiny images keep them fast)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from socksort.im2rec.dataset import DatasetSpec, generate

TINY = dict(width=96, height=72)


def make_dataset(out: Path, classes: int = 3, per_class: int = 5, seed: int = 1, **extra) -> Path:
    generate(DatasetSpec(out=out, classes=classes, per_class=per_class, seed=seed, **{**TINY, **extra}))
    return out


@pytest.fixture(scope="session")
def make_socks():
    """make_socks(out, classes=3, per_class=5, seed=1, **spec) -> out: a tiny dataset."""
    return make_dataset


@pytest.fixture(scope="session")
def socks(tmp_path_factory) -> Path:
    """3 designs + Blank, 5 photos each; read-only: copy it (see `socks_copy`) to change it."""
    return make_dataset(tmp_path_factory.mktemp("socks") / "socks")


@pytest.fixture
def socks_copy(socks, tmp_path) -> Path:
    return Path(shutil.copytree(socks, tmp_path / "photos"))


@pytest.fixture
def cli(capsys):
    """Run ``socksort ARGS...`` in this process (no MXNet start-up per call); returns
    (exit status, stdout, stderr)."""
    from socksort.cli import main

    def run(*args, check: bool = True):
        capsys.readouterr()
        status = main([str(a) for a in args])
        out, err = capsys.readouterr()
        if check and status != 0:
            raise AssertionError(f"socksort {' '.join(map(str, args))} exited {status}:\n{out}\n{err}")
        return status, out, err
    return run
