"""The session simulator: what the camera publishes while socks are shown, and the truth."""

from collections import Counter

import pytest

from socksort.contract import BLANK_LABEL
from socksort.ksql.simulate import SESSION_START_MS, SessionSpec, pair_rows, sessions, simulate
from socksort.schema import Prediction


def test_same_seed_gives_the_same_session():
    assert simulate(7, SessionSpec(fps=4)) == simulate(7, SessionSpec(fps=4))


def test_different_seeds_give_different_sessions():
    assert simulate(1).frames != simulate(2).frames


def test_frames_are_valid_prediction_messages_in_publish_order():
    session = simulate(3, SessionSpec(fps=4))
    for seq, frame in enumerate(session.frames):
        assert Prediction.from_json(frame.to_json()) == frame
        assert frame.seq == seq
    stamps = [f.ts for f in session.frames]
    assert stamps == sorted(stamps) and stamps[0] > SESSION_START_MS


@pytest.mark.parametrize("fps", [30, 4])
def test_frames_arrive_at_the_frame_rate(fps):
    stamps = [f.ts for f in simulate(4, SessionSpec(fps=fps)).frames]
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    assert sum(gaps) / len(gaps) == pytest.approx(1000 / fps, rel=0.02)


def test_each_design_is_shown_one_to_four_times_by_three_to_six_designs():
    for session in sessions(30, SessionSpec(fps=4)):
        shown = Counter(s.image for s in session.showings)
        assert 3 <= len(shown) <= 6
        assert all(1 <= k <= 4 for k in shown.values())


def test_holds_last_one_to_eight_seconds_and_gaps_at_least_a_second():
    for session in sessions(20, SessionSpec(fps=30)):
        for showing in session.showings:
            assert 900 <= showing.end - showing.start <= 8000
        for before, after in zip(session.showings, session.showings[1:]):
            assert after.start - before.end >= 1000


@pytest.mark.parametrize("fps", [30, 4])
def test_about_fifteen_percent_of_showing_frames_are_ghosts(fps):
    batch = sessions(30, SessionSpec(fps=fps))
    share = sum(s.ghost_frames for s in batch) / sum(s.showing_frames for s in batch)
    assert 0.13 <= share <= 0.18


def test_ghosts_are_other_designs_read_at_lower_probability():
    session = simulate(5, SessionSpec(fps=30))
    for showing in session.showings:
        held = [f for f in session.frames if showing.start <= f.ts <= showing.end]
        ghosts = [f for f in held if f.image != showing.image]
        assert ghosts, "a long showing at 30 FPS has ghost frames"
        assert all(35 <= g.probability <= 80 and g.image != BLANK_LABEL for g in ghosts)
        assert all(80 <= f.probability <= 99 for f in held if f.image == showing.image)


def test_blank_wall_has_no_ghosts_unless_asked():
    calm = simulate(6, SessionSpec(fps=30))
    noisy = simulate(6, SessionSpec(fps=30, gap_ghost_share=0.05))

    def misread_wall(session):
        inside = lambda f: any(s.start <= f.ts <= s.end for s in session.showings)  # noqa: E731
        return [f for f in session.frames if not inside(f) and f.image != BLANK_LABEL]

    assert misread_wall(calm) == []
    assert misread_wall(noisy)


def test_truth_counts_showings_per_design_and_marks_even_counts_as_pairs():
    session = simulate(8, SessionSpec(fps=4))
    shown = Counter(s.image for s in session.showings)
    assert {image: row.number_socks_seen for image, row in session.pairs.items()} == shown
    for row in session.pairs.values():
        assert row.pair_seen == ("Pair" if row.number_socks_seen % 2 == 0 else "Un-matched")


def test_pair_rows_leave_out_designs_never_shown():
    assert set(pair_rows(Counter({"Mongo": 2, "Kafka": 0}))) == {"Mongo"}
