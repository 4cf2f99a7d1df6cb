"""`socksort synth show`: a video of socks shown one at a time, and the truth about it."""

from __future__ import annotations

import json
from collections import Counter

import cv2
import numpy as np
import pytest

from socksort.contract import BLANK_LABEL
from socksort.im2rec import show

SHORT = ("--seconds", "14", "--fps", "10", "--size", "160x120")


@pytest.fixture(scope="module")
def video(socks, tmp_path_factory):
    """A 14 s, 10 FPS show of the `socks` designs, rendered once for this module."""
    from socksort.cli import main

    out = tmp_path_factory.mktemp("show") / "show.mp4"
    assert main(["synth", "show", "--out", str(out), "--classes-from", str(socks), "--seed", "4", *SHORT]) == 0
    return out, json.loads(out.with_name("show.truth.json").read_text())


def _frames(path):
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def test_video_reads_back_with_the_promised_frame_count_and_rate(video):
    path, truth = video
    capture = cv2.VideoCapture(str(path))
    assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(10)
    capture.release()
    frames = _frames(path)
    assert len(frames) == truth["frames"] == 140
    assert frames[0].shape == (120, 160, 3)


def test_truth_describes_the_video_and_each_showing(video, socks):
    path, truth = video
    manifest = json.loads((socks / "synth.json").read_text())
    assert (truth["video"], truth["fps"], truth["seconds"], truth["width"], truth["height"]) == \
        (path.name, 10, 14, 160, 120)
    assert truth["blank"] == BLANK_LABEL
    assert truth["showings"]
    for s in truth["showings"]:
        assert s["design"] in [d["name"] for d in manifest["designs"]]
        assert s["start"] == pytest.approx(s["start_frame"] / 10) and s["end"] == pytest.approx(s["end_frame"] / 10)
        assert s["start_frame"] < s["held_start_frame"] < s["held_end_frame"] < s["end_frame"]
    assert truth["counts"] == dict(Counter(s["design"] for s in truth["showings"]))


def _changed(frame, empty):
    return np.abs(frame.astype(int) - empty.astype(int)).max(axis=2) > 15


def _extent(mask):
    """How far the changed pixels reach across the frame, as a fraction of width or height."""
    ys, xs = np.nonzero(mask)
    return max((xs.max() - xs.min()) / mask.shape[1], (ys.max() - ys.min()) / mask.shape[0])


def test_held_sock_fills_much_of_the_frame_and_gaps_show_the_empty_background(video):
    path, truth = video
    frames = _frames(path)
    empty = frames[0]
    shown = set()
    for s in truth["showings"]:
        shown.update(range(s["start_frame"], s["end_frame"]))
        middle = (s["held_start_frame"] + s["held_end_frame"]) // 2
        held = _changed(frames[middle], empty)
        assert held.mean() > 0.2 and _extent(held) > 0.7
    blanks = [f for i, f in enumerate(frames) if i not in shown]
    assert blanks and all(_changed(f, empty).mean() < 0.01 for f in blanks)


def test_same_seed_gives_the_same_truth_and_video_whatever_the_thread_count(video, socks, tmp_path, cli):
    path, truth = video
    cli("synth", "show", "--out", tmp_path / "again.mp4", "--truth", tmp_path / "t.json",
        "--classes-from", socks, "--seed", "4", "--num-thread", "3", *SHORT)
    again = json.loads((tmp_path / "t.json").read_text())
    assert again["showings"] == truth["showings"]
    assert (tmp_path / "again.mp4").read_bytes() == path.read_bytes()


def test_a_minute_long_show_has_pairs_singles_and_triples_never_back_to_back():
    names = [f"design-{i}" for i in range(8)]
    showings = show.plan(names, seed=9, fps=30, seconds=60)
    counts = Counter(s.design for s in showings)
    assert {1, 2, 3} <= set(counts.values())
    assert all(a.design != b.design for a, b in zip(showings, showings[1:]))


@pytest.mark.parametrize("seed", range(5))
def test_holds_last_one_to_eight_seconds_with_one_to_three_seconds_between(seed):
    showings = show.plan(["a", "b", "c", "d"], seed=seed, fps=30, seconds=60)
    assert showings[0].start_frame >= 30
    for s in showings:
        assert 30 - 1 <= s.held_end_frame - s.held_start_frame <= 8 * 30 + 1
    for a, b in zip(showings, showings[1:]):
        assert 30 - 1 <= b.start_frame - a.end_frame <= 3 * 30 + 1
    assert showings[-1].end_frame <= 59 * 30 + 1


def test_a_folder_without_synth_json_is_refused(cli, tmp_path):
    status, _, err = cli("synth", "show", "--out", tmp_path / "s.mp4", "--classes-from", tmp_path, check=False)
    assert status == 2 and "synth.json" in err
    assert not (tmp_path / "s.mp4").exists()


def test_a_show_too_short_for_one_showing_is_refused(cli, socks, tmp_path):
    status, _, err = cli("synth", "show", "--out", tmp_path / "s.mp4", "--classes-from", socks,
                         "--seconds", "2", check=False)
    assert status == 2 and "--seconds" in err
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_video_type_is_refused(cli, socks, tmp_path):
    status, _, err = cli("synth", "show", "--out", tmp_path / "s.mkv", "--classes-from", socks, check=False)
    assert status == 2 and ".mp4" in err


def test_a_dataset_drawn_by_another_renderer_is_refused(cli, socks_copy, tmp_path):
    manifest = socks_copy / "synth.json"
    info = json.loads(manifest.read_text())
    info["renderer"] -= 1
    manifest.write_text(json.dumps(info))
    status, _, err = cli("synth", "show", "--out", tmp_path / "s.mp4", "--classes-from", socks_copy,
                         check=False)
    assert status == 2 and "regenerate the dataset" in err


def test_timeline_labels_every_frame_once_in_order(video):
    _, truth = video
    segments = truth["timeline"]
    assert segments[0]["start_frame"] == 0 and segments[-1]["end_frame"] == truth["frames"]
    assert all(a["end_frame"] == b["start_frame"] for a, b in zip(segments, segments[1:]))
    shown = [(s["design"], s["start_frame"], s["end_frame"]) for s in truth["showings"]]
    assert [(t["label"], t["start_frame"], t["end_frame"]) for t in segments if t["label"] != BLANK_LABEL] == shown


def test_a_short_show_still_fills_every_slot_with_different_designs():
    names = [f"design-{i}" for i in range(8)]
    for seed in range(10):
        showings = show.plan(names, seed=seed, fps=30, seconds=20)
        slots = show._slots(np.random.default_rng([seed, 2]), 30, 20)
        assert len(showings) == len(slots)
        assert all(a.design != b.design for a, b in zip(showings, showings[1:]))


def test_a_single_design_is_shown_more_than_once():
    showings = show.plan(["only"], seed=0, fps=30, seconds=60)
    assert len(showings) >= 2 and {s.design for s in showings} == {"only"}
