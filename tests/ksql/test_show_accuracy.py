"""Judging a rendered show: the pipeline's SOCK_PAIRS against the show's truth, and why they differ.

The shows here are written by hand (truth.json as `socksort synth show` writes it) and read
by a made-up classifier, so each test knows exactly what the pipeline was given; the
pipeline is the real ksql/pipeline.ksql on the embedded engine.
"""

from __future__ import annotations

import json

import pytest

from socksort.errors import UserError
from socksort.ksql.pipeline.accuracy import run_pipeline
from socksort.ksql.pipeline.rows import PairRow
from socksort.ksql.pipeline.show_accuracy import judge, load_truth
from socksort.ksql.pipeline.simulate import Delivery
from socksort.schema import Prediction

FPS = 10
ORIGIN_MS = 1_732_186_800_000
# (design, enter, first, end, leave, back_to_back): frames at 10 FPS, 2.7 s of wall after A,
# then B twice with exactly 1 s of wall between
SHOWINGS = [("A", 10, 13, 35, 38, False), ("B", 65, 68, 90, 93, False), ("B", 103, 106, 130, 133, True)]
FRAMES = 150


@pytest.fixture
def truth(tmp_path):
    path = tmp_path / "show" / "truth.json"
    path.parent.mkdir()
    path.write_text(json.dumps({
        "format": "socksort-show/1", "fps": FPS, "frames": FRAMES,
        "showings": [{"n": n, "design": d, "enter_frame": e, "start_frame": f, "end_frame": end,
                      "leave_frame": leave, "held_start_frame": f, "held_end_frame": end, "back_to_back": twin}
                     for n, (d, e, f, end, leave, twin) in enumerate(SHOWINGS)]}))
    return load_truth(path)


def perfect_reading() -> list[tuple[str, float]]:
    """Each frame read as what is mostly in view: the design at 95 %, the wall as Blank at 90 %."""
    labels = [("Blank", 90.0)] * FRAMES
    for design, _, first, end, _, _ in SHOWINGS:
        labels[first:end] = [(design, 95.0)] * (end - first)
    return labels


def predictions(labels) -> list[Prediction]:
    return [Prediction(image, probability, ORIGIN_MS + 1000 * seq // FPS, "cam", seq)
            for seq, (image, probability) in enumerate(labels)]


def verdict_for(truth, labels):
    frames = predictions(labels)
    return judge(truth, frames, run_pipeline([Delivery.of(frame) for frame in frames]))


def test_a_perfect_reading_gives_the_truths_table_and_no_difference(truth):
    verdict = verdict_for(truth, perfect_reading())
    assert verdict.expected == {"A": PairRow("A", "Un-matched", 1), "B": PairRow("B", "Pair", 2)}
    assert verdict.right and verdict.got == verdict.expected and verdict.differences == ()
    assert verdict.reading.showing_right == verdict.reading.showing_frames == 22 + 22 + 24
    assert verdict.reading.wall_ghosts == 0


def test_twins_read_through_their_wall_become_one_showing_and_the_reason_says_so(truth):
    labels = perfect_reading()
    labels[90:106] = [("B", 95.0)] * 16          # B's exit, the 1 s of wall and B's entry
    verdict = verdict_for(truth, labels)
    assert not verdict.right
    (difference,) = verdict.differences
    assert (difference.design, difference.expected.number_socks_seen, difference.got) == \
        ("B", 2, PairRow("B", "Un-matched", 1))
    assert difference.reasons == (
        "showings 1 and 2 (1.00 s of wall, back to back) became one; between them, 1 going out: "
        "3 read as B (95 %) at 9.00-9.20 s; wall: 10 read as B (95 %) at 9.30-10.20 s; "
        "2 coming in: 3 read as B (95 %) at 10.30-10.50 s",)
    assert verdict.lines()[0].startswith("show: B: shown 2x, table says 1 (Un-matched): showings 1 and 2")


def test_a_showing_counted_on_the_empty_wall_is_placed_there(truth):
    labels = perfect_reading()
    labels[42:60] = [("C", 95.0)] * 18
    verdict = verdict_for(truth, labels)
    (difference,) = verdict.differences
    assert (difference.design, difference.expected, difference.got) == ("C", None, PairRow("C", "Un-matched", 1))
    assert difference.reasons == ("an extra showing at 4.20-5.90 s on the empty wall: "
                                  "18 read as C (95 %) at 4.20-5.90 s",)
    assert verdict.reading.wall_ghosts == 18


def test_a_showing_read_as_blank_is_missed_and_its_frames_are_named(truth):
    labels = perfect_reading()
    labels[13:35] = [("Blank", 60.0)] * 22
    verdict = verdict_for(truth, labels)
    (difference,) = verdict.differences
    assert (difference.design, difference.got) == ("A", None)
    assert difference.line() == ("A: shown 1x, table says no row: showing 0 (1.30-3.50 s) was missed, no showing "
                                 "was found: its frames: 22 read as Blank (60 %) at 1.30-3.40 s")


def test_a_showing_read_as_another_design_names_both_sides(truth):
    labels = perfect_reading()
    labels[13:35] = [("C", 95.0)] * 22
    verdict = verdict_for(truth, labels)
    assert [d.design for d in verdict.differences] == ["A", "C"]
    missed, extra = verdict.differences
    assert missed.reasons[0].startswith("showing 0 (1.30-3.50 s) was missed, it became a showing of C")
    assert extra.reasons[0].startswith("an extra showing at 1.30-3.40 s during showing 0 of A")


def test_a_file_that_is_not_a_show_truth_is_a_one_line_error(tmp_path):
    path = tmp_path / "truth.json"
    path.write_text(json.dumps({"showings": [{"design": "A"}]}))
    with pytest.raises(UserError, match="not the truth.json of a `socksort synth show` video"):
        load_truth(path)


def test_the_reading_counts_misreads_on_the_wall_and_while_a_sock_comes_in_or_goes_out(truth):
    labels = perfect_reading()
    labels[11:13] = [("C", 45.0)] * 2     # A coming in, partly in view
    labels[35] = ("A", 50.0)              # A going out: its own design, not a misread
    labels[50] = ("B", 40.0)              # the wall between A and B
    reading = verdict_for(truth, labels).reading
    moving = sum((first - enter - 1) + (leave - 1 - end) for _, enter, first, end, leave, _ in SHOWINGS)
    assert (reading.moving_frames, reading.moving_other) == (moving, 2)
    assert (reading.wall_frames, reading.wall_ghosts) == (FRAMES - 68 - moving, 1)


@pytest.fixture
def pair_truth(tmp_path):
    """A's showing as before; then a pair of B held up together once (designs [B, B])."""
    path = tmp_path / "pair" / "truth.json"
    path.parent.mkdir()
    showings = [("A", ["A"], 10, 13, 35, 38), ("B", ["B", "B"], 65, 68, 90, 93)]
    path.write_text(json.dumps({
        "format": "socksort-show/1", "fps": FPS, "frames": 120,
        "showings": [{"n": n, "design": d, "designs": ds, "enter_frame": e, "start_frame": f,
                      "end_frame": end, "leave_frame": leave, "held_start_frame": f,
                      "held_end_frame": end, "back_to_back": False}
                     for n, (d, ds, e, f, end, leave) in enumerate(showings)]}))
    return load_truth(path)


def object_frames(seen_of_b: list) -> list[Prediction]:
    """A camera that finds objects: A alone, then ``seen_of_b`` B socks; the wall is []."""
    from socksort.schema import Box, DetectedObject
    found = [[] for _ in range(120)]
    found[13:35] = [[("A", 95.0)]] * 22
    found[68:90] = [[("B", 95.0 - n) for n in range(seen_of_b)]] * 22
    return [Prediction(objects[0][0] if objects else "Blank", objects[0][1] if objects else 90.0,
                       ORIGIN_MS + 1000 * seq // FPS, "cam", seq,
                       objects=tuple(DetectedObject(label, p, Box(10 + 200 * n, 10, 150, 300))
                                     for n, (label, p) in enumerate(objects)))
            for seq, objects in enumerate(found)]


def test_a_pair_held_up_together_is_counted_as_two_socks_in_the_truth_and_the_table(pair_truth):
    frames = object_frames(seen_of_b=2)
    verdict = judge(pair_truth, frames, run_pipeline([Delivery.of(f) for f in frames]))
    assert verdict.expected == {"A": PairRow("A", "Un-matched", 1), "B": PairRow("B", "Pair", 2)}
    assert verdict.right and verdict.reading.showing_right == 44


def test_a_pair_held_together_read_as_one_sock_says_how_many_were_held(pair_truth):
    frames = object_frames(seen_of_b=1)
    verdict = judge(pair_truth, frames, run_pipeline([Delivery.of(f) for f in frames]))
    (difference,) = verdict.differences
    assert difference.reasons[0].startswith("showing 1 (6.80-9.00 s) held 2 B socks up, read as 1")
