"""The thin camera's own parts: the queue that drops its oldest frame, and the encoder."""

from __future__ import annotations

import numpy as np
import pytest

from socksort import images
from socksort.edge_lambda.camera import DropOldest, encode


def test_a_full_queue_drops_its_oldest_item_and_counts_it():
    queue = DropOldest(3)
    for i in range(5):
        queue.put(i)
    assert queue.dropped == 2
    assert [queue.take(0) for _ in range(3)] == [2, 3, 4]


def test_taking_from_an_empty_open_queue_times_out_with_none():
    assert DropOldest(2).take(timeout=0.01) is None


def test_a_closed_queue_still_hands_out_what_it_holds_then_none():
    queue = DropOldest(2)
    queue.put("a")
    queue.close()
    assert (queue.take(0.01), queue.take(0.01)) == ("a", None)


def test_a_queue_must_hold_something():
    with pytest.raises(ValueError):
        DropOldest(0)


def test_frames_are_shrunk_to_max_side_and_encoded_as_jpeg():
    picture = np.full((480, 640, 3), 120, dtype=np.uint8)
    decoded = images.decode(encode(picture, quality=80, max_side=320), "frame")
    assert decoded.shape == (240, 320, 3)


def test_a_frame_within_max_side_keeps_its_size():
    picture = np.full((48, 64, 3), 120, dtype=np.uint8)
    assert images.decode(encode(picture, quality=80, max_side=None), "frame").shape == (48, 64, 3)
