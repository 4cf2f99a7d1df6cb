"""`socksort synth scene`: photos of several socks with the truth of their boxes."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from socksort.im2rec import designs, render, scene

SMALL = ("--size", "160x120")


@pytest.fixture(scope="module")
def scenes(socks, tmp_path_factory):
    """24 small scenes of the `socks` designs, drawn once for this module."""
    from socksort.cli import main

    out = tmp_path_factory.mktemp("scenes") / "scenes"
    assert main(["synth", "scene", "--classes-from", str(socks), "--out", str(out), "--count", "24",
                 "--seed", "3", *SMALL]) == 0
    return out, json.loads((out / "truth.json").read_text())


def _files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_truth_json_has_the_agreed_format(scenes, socks):
    out, truth = scenes
    names = [d["name"] for d in json.loads((socks / "synth.json").read_text())["designs"]]
    assert list(truth) == ["format", "dataset", "seed", "scenes"]
    assert (truth["format"], truth["dataset"], truth["seed"]) == ("socksort-scenes/1", str(socks), 3)
    assert [s["path"] for s in truth["scenes"]] == [f"scene-{n:05d}.jpg" for n in range(24)]
    for s in truth["scenes"]:
        assert list(s) == ["path", "width", "height", "objects"]
        assert cv2.imread(str(out / s["path"])).shape == (s["height"], s["width"], 3) == (120, 160, 3)
        for o in s["objects"]:
            assert list(o) == ["label", "box", "visible"] and o["label"] in names
            assert list(o["box"]) == ["left", "top", "width", "height"]
            assert all(type(v) is int for v in o["box"].values())
            assert 0 < o["visible"] <= 1


def test_every_scene_holds_zero_to_three_socks_and_all_counts_occur(scenes):
    _, truth = scenes
    counts = [len(s["objects"]) for s in truth["scenes"]]
    assert set(counts) == {0, 1, 2, 3}


def test_min_and_max_socks_set_how_many_socks_a_scene_holds(cli, socks, tmp_path):
    cli("synth", "scene", "--classes-from", socks, "--out", tmp_path / "two", "--count", "6",
        "--min-socks", "2", "--max-socks", "2", *SMALL)
    truth = json.loads((tmp_path / "two" / "truth.json").read_text())
    assert [len(s["objects"]) for s in truth["scenes"]] == [2] * 6


def test_boxes_lie_inside_the_photo(scenes):
    _, truth = scenes
    for s in truth["scenes"]:
        for o in s["objects"]:
            b = o["box"]
            assert b["left"] >= 0 and b["top"] >= 0 and b["width"] > 0 and b["height"] > 0
            assert b["left"] + b["width"] <= s["width"] and b["top"] + b["height"] <= s["height"]


def test_sock_sizes_vary_from_a_quarter_to_most_of_the_shorter_side(cli, socks, tmp_path):
    cli("synth", "scene", "--classes-from", socks, "--out", tmp_path / "s", "--count", "30",
        "--min-socks", "1", "--max-socks", "1", "--size", "320x240")
    truth = json.loads((tmp_path / "s" / "truth.json").read_text())
    sides = [max(o["box"]["width"], o["box"]["height"]) / 240 for s in truth["scenes"] for o in s["objects"]]
    assert 0.23 <= min(sides) < 0.4 and 0.55 < max(sides) <= 0.72


@pytest.mark.parametrize("angle", [0, 37, 90, 160, -120])
def test_box_is_tight_around_the_drawn_sock(angle):
    design = designs.design(4)
    width, height = 200, 150
    placed = scene.Placed(design, scene.sized(design, angle, False, 0.05, 100, (95, 80)))
    frame = np.full((height, width, 3), 128, np.float32)
    render.composite(frame, render.sprite(design), placed.matrix, shadow=0)
    ys, xs = np.nonzero(np.abs(frame - 128).max(axis=2) > 24)
    (found,) = scene.objects([placed], width, height)
    box = found.box
    drawn = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    truth = (box.left, box.top, box.left + box.width, box.top + box.height)
    assert np.abs(np.subtract(drawn, truth)).max() <= 1
    assert found.visible == 1.0 and found.label == design.name
    assert max(box.width, box.height) == pytest.approx(100, abs=2)


def test_a_sock_under_another_is_counted_only_where_it_is_seen():
    design, width, height = designs.design(0), 200, 150
    under = scene.Placed(design, scene.sized(design, 0, False, 0, 100, (70, 75)))
    shifted = under.matrix.copy()
    shifted[0, 2] += 60
    over = scene.Placed(design, shifted)
    low, high = scene.objects([under, over], width, height)
    assert high.visible == 1.0 and low.visible < 1.0
    # the upper sock hides the lower one's right part, so its box ends where the upper one starts
    assert low.box.left == high.box.left - 60 and low.box.left + low.box.width <= high.box.left + high.box.width
    hidden = scene.objects([under, scene.Placed(design, under.matrix)], width, height)
    assert [o.visible for o in hidden] == [1.0]


def _full_masks(placed, width, height):
    return [cv2.warpAffine(render.sprite(p.design).alpha, p.matrix, (width, height)) > 0.5 for p in placed]


@pytest.mark.parametrize("limit", [0.0, 0.3])
def test_no_sock_is_hidden_or_overlapped_beyond_the_limit(limit):
    chosen = designs.designs(3)
    for seed in range(25):
        placed = scene.layout(np.random.default_rng(seed), chosen, 160, 120, limit)
        masks = _full_masks(placed, 160, 120)
        for i, low in enumerate(masks):
            covered = np.zeros_like(low)
            for high in masks[i + 1:]:
                assert (low & high).sum() <= limit * min(low.sum(), high.sum())
                covered |= high
            assert (low & covered).sum() <= limit * low.sum()


def test_overlaps_up_to_the_limit_do_occur(scenes):
    _, truth = scenes
    seen = [o["visible"] for s in truth["scenes"] for o in s["objects"]]
    assert min(seen) >= 0.7 and min(seen) < 0.97


def test_same_seed_gives_the_same_files_whatever_the_thread_count(cli, socks, scenes, tmp_path):
    out, _ = scenes
    cli("synth", "scene", "--classes-from", socks, "--out", tmp_path / "again", "--count", "24",
        "--seed", "3", "--num-thread", "3", *SMALL)
    assert _files(tmp_path / "again") == _files(out)


def test_another_seed_draws_other_scenes(cli, socks, scenes, tmp_path):
    out, truth = scenes
    cli("synth", "scene", "--classes-from", socks, "--out", tmp_path / "other", "--count", "24",
        "--seed", "4", *SMALL)
    other = json.loads((tmp_path / "other" / "truth.json").read_text())
    assert other["scenes"] != truth["scenes"]


def test_json_prints_a_one_line_summary(cli, socks, tmp_path):
    _, out, err = cli("synth", "scene", "--classes-from", socks, "--out", tmp_path / "s", "--count", "3",
                      "--json", *SMALL)
    summary = json.loads(out)
    truth = json.loads((tmp_path / "s" / "truth.json").read_text())
    assert out.count("\n") == 1
    assert summary == {"out": str(tmp_path / "s"), "scenes": 3,
                       "objects": sum(len(s["objects"]) for s in truth["scenes"])}
    assert "synth scene" in err  # progress goes to stderr


def test_more_min_socks_than_max_socks_is_a_one_line_error(cli, socks, tmp_path):
    status, out, err = cli("synth", "scene", "--classes-from", socks, "--out", tmp_path / "s",
                           "--min-socks", "3", "--max-socks", "1", check=False)
    assert status == 2 and out == ""
    assert err.strip().count("\n") == 0 and "--min-socks" in err
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("flag, value", [("--max-overlap", "1.5"), ("--count", "0"), ("--size", "12x12"),
                                         ("--max-socks", "-1")])
def test_a_bad_value_is_refused_naming_the_flag(cli, socks, tmp_path, flag, value, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli("synth", "scene", "--classes-from", socks, "--out", tmp_path / "s", flag, value)
    assert exit_.value.code == 2 and flag in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_too_many_socks_for_one_frame_are_refused(cli, socks, tmp_path):
    status, _, err = cli("synth", "scene", "--classes-from", socks, "--out", tmp_path / "s",
                         "--max-socks", "20", check=False)
    assert status == 2 and "--max-socks" in err


def test_a_folder_that_is_not_a_dataset_is_refused(cli, tmp_path):
    status, _, err = cli("synth", "scene", "--classes-from", tmp_path, "--out", tmp_path / "s", check=False)
    assert status == 2 and "synth.json" in err


def test_an_occupied_out_folder_is_left_alone(cli, socks, tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "keep.txt").write_text("mine")
    status, _, err = cli("synth", "scene", "--classes-from", socks, "--out", tmp_path / "s", check=False)
    assert status == 2 and "--out" in err
    assert [p.name for p in (tmp_path / "s").iterdir()] == ["keep.txt"]
