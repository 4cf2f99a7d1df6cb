"""The session simulator: what reaches Kafka while socks are shown, and the truth."""

from collections import Counter

import pytest

from socksort.contract import BLANK_LABEL, MQTT_TOPIC
from socksort.ksql.pipeline.simulate import (EASY, SESSION_START_MS, SessionSpec, pair_rows, sessions,
                                    simulate, simulate_cameras)
from socksort.schema import Prediction


def held(session, showing):
    return [d.prediction for d in session.deliveries
            if showing.start <= d.timestamp <= showing.end]


def wall(session):
    """Frames well away from every showing (500 ms clear of it, past any transition)."""
    return [d.prediction for d in session.deliveries
            if all(d.timestamp < s.start - 500 or d.timestamp > s.end + 500 for s in session.showings)]


def test_same_seed_gives_the_same_session():
    assert simulate(7, SessionSpec(fps=4)) == simulate(7, SessionSpec(fps=4))


def test_different_seeds_give_different_sessions():
    assert simulate(1).deliveries != simulate(2).deliveries


def test_records_are_valid_prediction_messages_timed_by_their_ts():
    session = simulate(3, SessionSpec(fps=4))
    for delivery in session.deliveries:
        frame = delivery.prediction
        assert Prediction.from_json(frame.to_json()) == frame
        assert delivery.timestamp == frame.ts and delivery.key == MQTT_TOPIC
    stamps = [d.timestamp for d in session.deliveries]
    assert stamps[0] > SESSION_START_MS


@pytest.mark.parametrize("fps", [30, 4])
def test_frames_arrive_at_the_frame_rate(fps):
    session = simulate(4, SessionSpec(fps=fps, loss=0.0, duplicate_share=0.0))
    stamps = [d.timestamp for d in session.deliveries]
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    assert sum(gaps) / len(gaps) == pytest.approx(1000 / fps, rel=0.02)


def test_about_five_percent_of_frames_are_lost():
    batch = sessions(10, SessionSpec(fps=30, duplicate_share=0.0))
    made = sum(max(d.prediction.seq for d in s.deliveries) + 1 for s in batch)
    arrived = sum(len(s.deliveries) for s in batch)
    assert 0.04 <= 1 - arrived / made <= 0.06


def test_a_redelivered_frame_is_the_same_message_arriving_later():
    session = simulate(5, SessionSpec(fps=30, duplicate_share=0.05))
    seen: dict[int, int] = {}
    copies = 0
    for index, delivery in enumerate(session.deliveries):
        seq = delivery.prediction.seq
        if seq in seen:
            copies += 1
            original = session.deliveries[seen[seq]]
            assert delivery == original and index > seen[seq]
        seen[seq] = index
    assert copies > 0


def test_each_design_is_shown_one_to_four_times_by_three_to_six_designs():
    for session in sessions(30, SessionSpec(fps=4)):
        shown = Counter(s.image for s in session.showings)
        assert 3 <= len(shown) <= 6
        assert all(1 <= k <= 4 for k in shown.values())


def test_holds_last_one_to_eight_seconds_and_gaps_at_least_a_second():
    for session in sessions(20, SessionSpec(fps=30)):
        for showing in session.showings:
            assert 800 <= showing.end - showing.start <= 8000
        for before, after in zip(session.showings, session.showings[1:]):
            assert after.start - before.end >= 1000


def test_a_design_is_often_shown_twice_in_a_row():
    back_to_back = sum(a.image == b.image for s in sessions(20, SessionSpec(fps=4))
                       for a, b in zip(s.showings, s.showings[1:]))
    assert back_to_back >= 10


@pytest.mark.parametrize("fps", [30, 4])
def test_about_fifteen_percent_of_showing_frames_are_ghosts(fps):
    batch = sessions(30, SessionSpec(fps=fps))
    share = sum(s.ghost_frames for s in batch) / sum(s.showing_frames for s in batch)
    assert 0.12 <= share <= 0.18


def test_ghosts_are_other_designs_read_at_lower_probability():
    session = simulate(5, SessionSpec(fps=30))
    for showing in session.showings:
        frames = held(session, showing)
        ghosts = [f for f in frames if f.image != showing.image]
        assert all(35 <= g.probability <= 80 and g.image != BLANK_LABEL for g in ghosts)
        assert all(80 <= f.probability <= 99 for f in frames if f.image == showing.image)
    assert any(f.image != s.image for s in session.showings for f in held(session, s))


def test_most_of_every_showing_is_read_right_before_frames_are_lost():
    for session in sessions(20, SessionSpec(fps=4, loss=0.0, duplicate_share=0.0)):
        for showing in session.showings:
            frames = held(session, showing)
            assert sum(f.image == showing.image for f in frames) * 2 > len(frames)


def test_the_wall_is_read_as_blank_at_any_probability_and_misread_at_most_70_percent():
    frames = [f for s in sessions(10, SessionSpec(fps=30)) for f in wall(s)]
    blanks = [f for f in frames if f.image == BLANK_LABEL]
    ghosts = [f for f in frames if f.image != BLANK_LABEL]
    assert min(f.probability for f in blanks) < 40
    assert ghosts and all(30 <= f.probability <= 70 for f in ghosts)
    assert 0.03 <= len(ghosts) / len(frames) <= 0.07


def test_the_easy_preset_has_a_clean_wall_and_every_frame():
    session = simulate(6, EASY)
    assert all(f.image == BLANK_LABEL for f in wall(session))
    seqs = [d.prediction.seq for d in session.deliveries]
    assert seqs == list(range(len(seqs)))


def test_a_sock_coming_and_going_is_read_as_any_design_at_30_to_75_percent():
    session = simulate(8, SessionSpec(fps=30, wall_ghost_share=0.0, loss=0.0, duplicate_share=0.0))
    stamps = [d.timestamp for d in session.deliveries]
    for showing in session.showings:
        entering = session.deliveries[stamps.index(showing.start) - 1].prediction
        leaving = session.deliveries[stamps.index(showing.end) + 1].prediction
        for frame in (entering, leaving):
            assert frame.image != BLANK_LABEL and 30 <= frame.probability <= 75


def test_single_blank_frames_inside_showings_never_come_two_in_a_row():
    session = simulate(9, SessionSpec(fps=30, blank_in_showing_share=0.02))
    inside = [f for s in session.showings for f in held(session, s)]
    blanks = [a for a in inside if a.image == BLANK_LABEL]
    assert blanks
    assert not any(a.image == b.image == BLANK_LABEL for a, b in zip(inside, inside[1:]))


def test_the_seeds_payload_has_only_image_and_probability_and_arrival_time():
    session = simulate(10, SessionSpec(fps=4, payload="seed"))
    for delivery in session.deliveries:
        assert set(delivery.prediction.to_dict()) == {"image", "probability"}
    stamps = [d.timestamp for d in session.deliveries]
    assert stamps == sorted(stamps) and stamps[0] > SESSION_START_MS


def test_two_cameras_interleave_and_the_truth_counts_across_them():
    session = simulate_cameras(11, SessionSpec(fps=30))
    devices = [d.prediction.device for d in session.deliveries[:10]]
    assert set(devices) == {"deeplens-1-1", "deeplens-1-2"}
    shown = Counter(s.image for s in session.showings)
    assert {image: row.number_socks_seen for image, row in session.pairs.items()} == shown


def test_two_seed_cameras_publish_to_topics_of_their_own():
    session = simulate_cameras(12, SessionSpec(fps=4, payload="seed"))
    assert {d.key for d in session.deliveries} == {f"{MQTT_TOPIC}/deeplens-1-1",
                                                  f"{MQTT_TOPIC}/deeplens-1-2"}


def test_truth_counts_showings_per_design_and_marks_even_counts_as_pairs():
    session = simulate(8, SessionSpec(fps=4))
    shown = Counter(s.image for s in session.showings)
    assert {image: row.number_socks_seen for image, row in session.pairs.items()} == shown
    for row in session.pairs.values():
        assert row.pair_seen == ("Pair" if row.number_socks_seen % 2 == 0 else "Un-matched")


def test_pair_rows_leave_out_designs_never_shown():
    assert set(pair_rows(Counter({"Mongo": 2, "Kafka": 0}))) == {"Mongo"}


# --- a camera that finds objects, and two socks held up together --------------------------

def together(fps: float = 10, count: int = 4):
    from dataclasses import replace

    from socksort.ksql.pipeline.simulate import TOGETHER_SESSIONS
    return sessions(count, replace(TOGETHER_SESSIONS, fps=fps))


def test_a_camera_that_finds_objects_sends_them_most_probable_first_as_image():
    for session in together():
        for frame in session.frames:
            assert frame.objects is not None
            probabilities = [o.probability for o in frame.objects]
            assert probabilities == sorted(probabilities, reverse=True)
            if frame.objects:
                assert (frame.image, frame.probability) == (frame.objects[0].label,
                                                            frame.objects[0].probability)


def test_the_wall_seen_by_a_camera_that_finds_objects_is_an_empty_list():
    session = together(count=1)[0]
    assert wall(session) and all(f.objects == () for f in wall(session) if f.image == BLANK_LABEL)


def test_showings_of_two_socks_together_are_pairs_and_two_designs():
    shown = [s.designs for session in together(count=6) for s in session.showings]
    assert any(len(d) == 2 and d[0] == d[1] for d in shown)
    assert any(len(d) == 2 and d[0] != d[1] for d in shown)
    assert any(len(d) == 1 for d in shown)


def test_the_truth_counts_one_showing_per_sock_held():
    for session in together():
        counts = Counter(d for s in session.showings for d in s.designs)
        assert {k: v.number_socks_seen for k, v in session.pairs.items()} == dict(counts)


def test_most_frames_of_two_socks_together_see_both_and_some_see_one():
    seen = Counter()
    for session in together(fps=30):
        for showing in session.showings:
            if len(showing.designs) == 2:
                seen.update(len([o for o in f.objects if o.label in showing.designs
                                 and o.probability >= 80]) for f in held(session, showing))
    assert seen[2] > 2 * seen[1] > 0


def test_ghost_objects_next_to_a_held_sock_read_at_most_65_percent():
    extra = [o for session in together() for s in session.showings if len(s.designs) == 1
             for f in held(session, s) for o in f.objects[1:]]
    assert extra and all(o.probability <= 65 and o.label not in ("Blank",) for o in extra)


def test_without_objects_no_frame_lists_them_as_the_seeds_cameras_and_older_edges():
    for spec in (SessionSpec(fps=4), SessionSpec(fps=4, payload="seed")):
        assert all(f.objects is None for f in simulate(1, spec).frames)


def test_two_socks_together_need_a_camera_that_lists_objects():
    with pytest.raises(ValueError, match="objects"):
        SessionSpec(together_share=0.3)
    with pytest.raises(ValueError, match="objects"):
        SessionSpec(objects=True, payload="seed")
