"""Fixtures for the edge function tests (builders live in edge_fixtures.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# The tests import the builders by name; pytest's importlib mode does not put this folder
# on sys.path itself.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from edge_fixtures import CLASSES, COLOURS, build_colour_box_model, build_colour_model, write_video  # noqa: E402


@pytest.fixture(scope="session")
def colour_model(tmp_path_factory) -> Path:
    return build_colour_model(tmp_path_factory.mktemp("model") / "colour")


@pytest.fixture(scope="session")
def colour_box_model(tmp_path_factory) -> Path:
    """The colour model that also localises: coloured patches on black are its objects."""
    return build_colour_box_model(tmp_path_factory.mktemp("box-model") / "colour-boxes")


@pytest.fixture(scope="session")
def rgb_video(tmp_path_factory) -> Path:
    """10 red, 10 green, then 10 blue frames at 10 fps."""
    folder = tmp_path_factory.mktemp("video")
    return write_video(folder / "rgb.avi", [COLOURS[c] for c in CLASSES], frames_each=10)


@pytest.fixture(scope="session")
def efficientnet(tmp_path_factory) -> Path:
    """The real ImageNet backbone as `socksort backbones export` writes it (exported once)."""
    folder = tmp_path_factory.mktemp("backbone") / "efficientnet_lite0"
    subprocess.run([sys.executable, "-m", "socksort", "backbones", "export", "efficientnet_lite0",
                    "--out", str(folder)], check=True, capture_output=True, timeout=600)
    return folder
