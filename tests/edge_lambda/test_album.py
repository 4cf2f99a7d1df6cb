"""The album of an open-set camera (``edge_lambda/album.py``): the showings it keeps with their
crops, and the person's corrections, split and join, as the matcher sees them afterwards."""

from __future__ import annotations

import numpy as np
import pytest

from socksort.edge_lambda.album import Album, CannotCorrect, LabelNumbers, NoSuchSock
from socksort.edge_lambda.showings import MatchSettings, Observation, ShowingMatcher, Threshold
from socksort.errors import UserError

FRAME_MS = 100
RED, BLUE, GREEN = np.eye(3)


class Camera:
    """A matcher wired to an album as ``OpenSet`` wires them; each kept frame's sample is its
    look, and a showing's crops are its samples' byte strings."""

    def __init__(self, album: Album | None = None):
        self.album = album or Album()
        self.matcher = ShowingMatcher(
            lambda samples: samples[0] if samples else None, MatchSettings(end_gap_ms=300, min_frames=3),
            Threshold(fixed=0.9), self.album.numbers, showing_numbers=self.album.showing_numbers,
            lock=self.album.lock,
            on_decided=lambda showing, samples, ts: self.album.add(showing, [b"crop"] * len(samples), ts))
        self.frame = 0
        self.published: list[str] = []

    def show(self, look: np.ndarray, frames: int = 5) -> str:
        """One showing of ``look`` and the gap after it; returns the label it was published with."""
        start = len(self.published)
        for sock in [True] * frames + [False] * 4:
            self.published += [label for _, label in self.matcher.add(
                Observation(self.frame, self.frame * FRAME_MS, sock, look if sock else None))]
            self.frame += 1
        return self.published[start]


def test_each_decided_showing_is_kept_with_its_crops_and_start():
    camera = Camera()
    camera.show(RED)
    camera.show(RED)
    entries = camera.album.entries()
    assert [(e.number, e.label, e.partner) for e in entries] == [(1, "sock-1", 2), (2, "sock-1", 1)]
    # The matcher's chosen samples: five frames less the first and last fifth, the sock coming and going.
    assert entries[0].crops == 3 and entries[0].started_ms == 0
    assert camera.album.crop(1, 0) == b"crop"


def test_a_crop_past_the_showings_count_or_of_an_unknown_showing_is_none():
    camera = Camera()
    camera.show(RED)
    assert camera.album.crop(1, 5) is None
    assert camera.album.crop(7, 0) is None


def test_splitting_a_pair_gives_its_later_showing_a_new_label_and_frees_both():
    camera = Camera()
    camera.show(RED)
    camera.show(RED)
    split = camera.album.split("sock-1")
    assert (split.label, split.new_label, split.showing) == ("sock-1", "sock-2", 2)
    assert [(e.label, e.partner) for e in camera.album.entries()] == [("sock-1", None), ("sock-2", None)]


def test_after_a_split_a_later_showing_can_join_either_half():
    camera = Camera()
    camera.show(RED)
    camera.show(RED)
    camera.album.split("sock-1")
    assert camera.show(RED) == "sock-1"


def test_joining_two_singles_makes_them_a_pair_under_the_first_label():
    camera = Camera()
    camera.show(RED)
    camera.show(BLUE)
    join = camera.album.join("sock-2", "sock-1")
    assert (join.label, join.joined) == ("sock-2", "sock-1")
    assert [(e.label, e.partner) for e in camera.album.entries()] == [("sock-2", 2), ("sock-2", 1)]


def test_after_a_join_neither_showing_takes_a_third():
    camera = Camera()
    camera.show(RED)
    camera.show(BLUE)
    camera.album.join("sock-1", "sock-2")
    assert camera.show(RED) == "sock-3"


def test_a_new_label_never_repeats_one_the_matcher_gave():
    camera = Camera()
    camera.show(RED)
    camera.show(RED)
    camera.album.split("sock-1")          # sock-2
    assert camera.show(GREEN) == "sock-3"


def test_a_long_showing_split_while_in_view_publishes_its_later_frames_with_the_new_label():
    album = Album()
    camera = Camera(album)
    camera.show(RED)
    matcher = ShowingMatcher(lambda samples: samples[0], MatchSettings(end_gap_ms=300, min_frames=3, max_held=4),
                             Threshold(fixed=0.9), album.numbers, showing_numbers=album.showing_numbers,
                             lock=album.lock, on_decided=lambda s, samples, ts: album.add(s, [], ts))
    matcher.pool.showings = camera.matcher.showings   # the same session
    early = [label for ts in range(4) for _, label in matcher.add(Observation(ts, 1000 + ts * FRAME_MS, True, RED))]
    assert set(early) == {"sock-1"}
    split = album.split("sock-1")
    later = matcher.add(Observation(9, 1400, True, RED))
    assert later == [(9, split.new_label)]


def test_splitting_a_single_is_refused():
    camera = Camera()
    camera.show(RED)
    with pytest.raises(CannotCorrect, match="sock-1 is a single showing"):
        camera.album.split("sock-1")


def test_joining_a_pair_is_refused():
    camera = Camera()
    camera.show(RED)
    camera.show(RED)
    camera.show(BLUE)
    with pytest.raises(CannotCorrect, match="sock-1 is already a pair"):
        camera.album.join("sock-2", "sock-1")


def test_joining_a_label_with_itself_is_refused():
    camera = Camera()
    camera.show(RED)
    with pytest.raises(CannotCorrect, match="with itself"):
        camera.album.join("sock-1", "sock-1")


def test_a_label_no_showing_carries_is_no_such_sock():
    camera = Camera()
    camera.show(RED)
    with pytest.raises(NoSuchSock, match="sock-9"):
        camera.album.split("sock-9")


def test_the_album_keeps_its_limit_of_showings_and_counts_those_it_dropped():
    camera = Camera(Album(limit=2))
    for look in (RED, BLUE, GREEN):
        camera.show(look)
    assert [e.label for e in camera.album.entries()] == ["sock-2", "sock-3"]
    assert camera.album.dropped == 1


def test_a_restarted_camera_goes_on_numbering_socks_where_it_stopped(tmp_path):
    state = tmp_path / "match.json"
    first = Camera(Album(LabelNumbers(state)))
    first.show(RED)
    first.show(BLUE)
    again = Camera(Album(LabelNumbers(state)))
    assert again.show(RED) == "sock-3"


def test_a_split_after_a_restart_takes_a_number_no_run_gave(tmp_path):
    state = tmp_path / "match.json"
    Camera(Album(LabelNumbers(state))).show(RED)
    camera = Camera(Album(LabelNumbers(state)))
    camera.show(BLUE)
    camera.show(BLUE)
    assert camera.album.split("sock-2").new_label == "sock-3"


def test_a_state_file_that_cannot_be_read_is_one_clear_error(tmp_path):
    state = tmp_path / "match.json"
    state.write_text('{"next_sock": "three"}')
    with pytest.raises(UserError, match="is not the edge's match state"):
        LabelNumbers(state)


def test_a_state_file_that_cannot_be_written_is_warned_of_once_and_numbering_goes_on(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    warnings: list[str] = []
    numbers = LabelNumbers(blocked / "match.json", warn=warnings.append)   # its folder is a file
    assert [next(numbers) for _ in range(3)] == [1, 2, 3]
    assert len(warnings) == 1 and "a restart will number socks from 1 again" in warnings[0]
