"""Open-set showings (``edge_lambda/showings.py``) on constructed looks: how frames become
showings, and when two showings share a label."""

from __future__ import annotations

import numpy as np
import pytest

from socksort.edge_lambda.showings import MatchSettings, Observation, ShowingMatcher, Spread, Threshold

FRAME_MS = 100


def unit(*values: float) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64)
    return x / np.linalg.norm(x)


RED, RED_AGAIN, BLUE = unit(1, 0.05, 0), unit(1, 0, 0.05), unit(0, 0, 1)


class Show:
    """Feeds a matcher frame after frame: ``sock(look, n)`` n frames of a sock whose samples
    are ``look``, ``blank(n)`` n empty frames; collects what it publishes, in order."""

    def __init__(self, settings: MatchSettings = MatchSettings(end_gap_ms=300, min_frames=3),
                 threshold: Threshold = Threshold(fixed=0.9)):
        self.looks_asked: list[list] = []
        self.matcher = ShowingMatcher(self._look, settings, threshold)
        self.frame = 0
        self.published: list[tuple[int, str]] = []

    def _look(self, samples: list) -> np.ndarray | None:
        self.looks_asked.append(samples)
        return unit(*np.mean(samples, axis=0)) if samples else None

    def sock(self, look: np.ndarray | None, n: int) -> "Show":
        for _ in range(n):
            self._add(True, look)
        return self

    def blank(self, n: int) -> "Show":
        for _ in range(n):
            self._add(False, None)
        return self

    def _add(self, sock: bool, look) -> None:
        self.published += self.matcher.add(Observation(self.frame, self.frame * FRAME_MS, sock, look))
        self.frame += 1

    def end(self) -> "Show":
        self.published += self.matcher.flush()
        return self

    def labels(self) -> list[str]:
        return [label for _, label in self.published]

    def runs(self) -> list[str]:
        """The labels, one per run of equal labels, Blank left out."""
        collapsed = [label for i, label in enumerate(self.labels()) if i == 0 or self.labels()[i - 1] != label]
        return [label for label in collapsed if label != "Blank"]


def test_empty_frames_are_published_at_once_as_blank():
    show = Show().blank(3)
    assert show.published == [(0, "Blank"), (1, "Blank"), (2, "Blank")]


def test_a_showing_is_held_until_it_ends_then_every_frame_carries_one_label():
    show = Show().blank(1).sock(RED, 5)
    assert show.published == [(0, "Blank")]
    show.blank(3)
    assert show.labels() == ["Blank"] + ["sock-1"] * 5 + ["Blank"] * 3
    assert [item for item, _ in show.published] == list(range(9))


def test_a_second_showing_that_looks_alike_shares_the_first_ones_label():
    show = Show().sock(RED, 5).blank(4).sock(RED_AGAIN, 5).blank(4)
    assert show.runs() == ["sock-1", "sock-1"]
    first, second = show.matcher.showings
    assert (first.partner, second.partner) == (2, 1)


def test_a_showing_that_looks_unlike_every_earlier_one_is_a_new_sock():
    show = Show().sock(RED, 5).blank(4).sock(BLUE, 5).blank(4)
    assert show.runs() == ["sock-1", "sock-2"]


def test_a_third_showing_alike_a_matched_pair_is_a_new_sock():
    show = Show().sock(RED, 5).blank(4).sock(RED, 5).blank(4).sock(RED_AGAIN, 5).blank(4)
    assert show.runs() == ["sock-1", "sock-1", "sock-2"]


def test_a_showing_joins_the_most_similar_earlier_unmatched_showing():
    pinkish = unit(1, 0.3, 0)
    show = Show(threshold=Threshold(fixed=0.5)).sock(pinkish, 5).blank(4).sock(RED, 5).blank(4)
    show.sock(BLUE, 5).blank(4).sock(RED_AGAIN, 5).blank(4)
    # RED and pinkish matched first (0.96 > 0.5); RED_AGAIN finds only BLUE unmatched, too unlike.
    assert show.runs() == ["sock-1", "sock-1", "sock-2", "sock-3"]


def test_of_two_equally_similar_earlier_showings_the_earlier_one_is_joined():
    show = Show().sock(unit(1, 0, 0), 5).blank(4).sock(unit(0, 0, 1), 5).blank(4)
    show.matcher.pool.threshold = Threshold(fixed=-1.0)   # everything is alike enough now
    show.sock(unit(1, 0, 1), 5).blank(4)
    assert show.runs() == ["sock-1", "sock-2", "sock-1"]


def test_a_run_shorter_than_min_frames_is_a_ghost_published_as_blank():
    show = Show().blank(2).sock(RED, 2).blank(4)
    assert show.labels() == ["Blank"] * 8
    assert show.matcher.ghosts == 1 and show.matcher.showings == []


def test_a_missed_frame_inside_a_showing_carries_its_label_and_frames_after_it_are_blank():
    show = Show().sock(RED, 3).blank(1).sock(RED, 3).blank(3)
    assert show.labels() == ["sock-1"] * 7 + ["Blank"] * 3


def test_flush_publishes_the_showing_still_open_when_the_stream_ends():
    show = Show().sock(RED, 4)
    assert show.published == []
    assert show.end().labels() == ["sock-1"] * 4


def test_a_showing_longer_than_max_held_is_decided_early_and_its_later_frames_stream_out():
    show = Show(settings=MatchSettings(end_gap_ms=300, min_frames=3, max_held=4)).sock(RED, 4)
    assert show.labels() == ["sock-1"] * 4
    assert show.matcher.open_label == "sock-1"
    show.sock(RED, 2)
    assert show.labels() == ["sock-1"] * 6
    show.blank(4)
    assert show.labels() == ["sock-1"] * 6 + ["Blank"] * 4
    assert len(show.matcher.showings) == 1


def test_a_long_showing_keeps_a_bounded_spread_of_samples_from_its_middle():
    asked: list[list] = []
    matcher = ShowingMatcher(lambda samples: asked.append(samples) or RED,
                             MatchSettings(end_gap_ms=300, min_frames=3, samples=4))
    frames = 1000
    for i in range(frames):
        matcher.add(Observation(i, i * FRAME_MS, True, sample=i))
        assert len(matcher._open.samples) <= 2 * 4 + 2
    matcher.flush()
    (chosen,) = asked
    assert len(chosen) == 4
    assert all(0.2 * frames <= i < 0.8 * frames for i in chosen)
    assert max(chosen) - min(chosen) > 0.4 * frames


def test_a_showing_without_samples_is_never_matched():
    show = Show().sock(None, 5).blank(4).sock(None, 5).blank(4)
    assert show.runs() == ["sock-1", "sock-2"]


def test_a_fixed_threshold_is_used_as_given():
    assert Threshold(fixed=0.8).value(Spread.of([0.1, 0.2])) == 0.8


def test_the_calibrated_threshold_rises_with_how_alike_the_sessions_socks_are():
    alike, unlike = Threshold().value(Spread.of([0.85] * 40)), Threshold().value(Spread.of([0.3] * 40))
    assert alike > 0.85 > unlike


def test_the_calibrated_threshold_starts_from_its_prior_with_no_showings_yet():
    prior = Threshold(prior_mean=0.6, prior_std=0.1, sigmas=2.0, floor=0.0)
    assert prior.value(Spread()) == pytest.approx(0.8)


@pytest.mark.parametrize("bad", [MatchSettings(end_gap_ms=0), MatchSettings(min_frames=0),
                                 MatchSettings(max_held=1), MatchSettings(samples=0)])
def test_settings_that_cannot_work_are_refused(bad):
    with pytest.raises(ValueError):
        ShowingMatcher(lambda samples: None, bad)


def test_the_calibration_counts_every_pair_of_showings_but_the_matched_ones():
    show = Show(threshold=Threshold()).sock(RED, 5).blank(4).sock(RED_AGAIN, 5).blank(4).sock(BLUE, 5).blank(4)
    assert show.runs() == ["sock-1", "sock-1", "sock-2"]
    spread = show.matcher.pool._spread
    assert spread.count == 2   # blue with each red; the reds' own similarity, a pair, left out
    assert spread.total == pytest.approx(float(BLUE @ RED + BLUE @ RED_AGAIN))
