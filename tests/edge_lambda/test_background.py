"""The learned empty scene (``edge_lambda/background.py``): what counts as something in view."""

from __future__ import annotations

import numpy as np
import pytest

from socksort.edge_lambda.background import Background, BackgroundSettings

FRAME_MS = 100


def room(rng: np.random.Generator, noise: float = 6.0) -> np.ndarray:
    """A textured wall seen by a camera with sensor noise."""
    wall = np.tile(np.linspace(60, 160, 160, dtype=np.float32)[None, :, None], (120, 1, 3))
    return np.clip(wall + rng.normal(0, noise, wall.shape), 0, 255).astype(np.uint8)


def learned(rng: np.random.Generator) -> Background:
    background = Background(BackgroundSettings(seconds=1.0))
    for i in range(11):
        assert background.observe(room(rng), i * FRAME_MS) is None
    assert background.learned
    return background


def test_it_answers_nothing_while_it_learns_the_first_second():
    background = Background(BackgroundSettings(seconds=1.0))
    rng = np.random.default_rng(0)
    assert [background.observe(room(rng), i * FRAME_MS) for i in range(5)] == [None] * 5
    assert not background.learned


def test_the_empty_room_with_its_camera_noise_shows_nothing():
    rng = np.random.default_rng(1)
    background = learned(rng)
    assert not any(background.observe(room(rng), 2000 + i * FRAME_MS) for i in range(20))


def test_a_card_held_up_shows_something_where_it_is():
    rng = np.random.default_rng(2)
    background = learned(rng)
    frame = room(rng)
    frame[30:90, 40:100] = (20, 200, 240)
    assert background.observe(frame, 2000) is True
    ys, xs = np.nonzero(background.last_mask)
    scale = frame.shape[1] / background.last_mask.shape[1]
    assert 35 <= xs.min() * scale and (xs.max() + 1) * scale <= 105
    assert 25 <= ys.min() * scale and (ys.max() + 1) * scale <= 95


def test_a_hand_passing_through_the_first_second_is_not_learned_as_wall():
    rng = np.random.default_rng(3)
    background = Background(BackgroundSettings(seconds=1.0))
    for i in range(11):
        frame = room(rng)
        if i in (4, 5):
            frame[:, :60] = 230
        background.observe(frame, i * FRAME_MS)
    assert background.observe(room(rng), 2000) is False


@pytest.mark.parametrize("settings", [BackgroundSettings(seconds=0), BackgroundSettings(min_share=0),
                                      BackgroundSettings(min_share=1)])
def test_settings_that_cannot_work_are_refused(settings):
    with pytest.raises(ValueError):
        Background(settings)
