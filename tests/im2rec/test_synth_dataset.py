"""`socksort synth dataset`: class folders of sock photos, reproducible from their seeds."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from socksort.contract import BLANK_LABEL
from socksort.im2rec import designs
from socksort.im2rec.dataset import BLANK_STREAM, photo, photo_rng


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_writes_one_folder_per_design_plus_blank(socks):
    info = json.loads((socks / "synth.json").read_text())
    folders = sorted(p.name for p in socks.iterdir() if p.is_dir())
    assert folders == sorted([d["name"] for d in info["designs"]] + [BLANK_LABEL])
    for folder in folders:
        jpgs = sorted((socks / folder).glob("*.jpg"))
        assert len(jpgs) == 5
        image = cv2.imread(str(jpgs[0]))
        assert image.shape == (72, 96, 3)


def test_manifest_records_seeds_designs_and_counts(socks):
    info = json.loads((socks / "synth.json").read_text())
    assert info["seed"] == 1 and info["designs_seed"] == designs.DEFAULT_DESIGNS_SEED
    assert [d["name"] for d in info["designs"]] == [d.name for d in designs.designs(3)]
    assert info["counts"] == {**{d["name"]: 5 for d in info["designs"]}, BLANK_LABEL: 5}


def test_same_seeds_give_byte_identical_output(socks, make_socks, tmp_path):
    again = make_socks(tmp_path / "again")
    assert _files(again) == _files(socks)


def test_another_photo_seed_shows_the_same_designs_in_new_photos(socks, make_socks, tmp_path):
    other = make_socks(tmp_path / "other", seed=2)
    first, second = (json.loads((d / "synth.json").read_text())["designs"] for d in (socks, other))
    assert first == second
    shared = set(_files(socks)) & set(_files(other)) - {"synth.json"}
    assert shared and all(_files(socks)[name] != _files(other)[name] for name in shared)


def test_design_depends_only_on_its_index_and_designs_seed():
    assert designs.designs(3) == designs.designs(7)[:3]
    assert designs.designs(4, designs_seed=5) != designs.designs(4)


def test_design_names_are_unique_across_the_whole_catalogue():
    names = [d.name for d in designs.designs(designs.MAX_DESIGNS)]
    assert len(set(names)) == len(names) == designs.MAX_DESIGNS


def test_designs_come_in_pairs_sharing_a_base_colour_with_different_patterns():
    catalogue = designs.designs(6)
    for first, second in zip(catalogue[0::2], catalogue[1::2]):
        assert first.base == second.base
        assert first.pattern != second.pattern


def _mean_colours(classes, per_class, seed, blank=True):
    features, labels = [], []
    streams = [(d, d.index) for d in designs.designs(classes)] + ([(None, BLANK_STREAM)] if blank else [])
    for label, (design, stream) in enumerate(streams):
        for number in range(per_class):
            data = photo(design, photo_rng(seed, stream, number), 96, 72)
            image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            features.append(image.reshape(-1, 3).mean(axis=0))
            labels.append(label)
    return np.array(features), np.array(labels)


def _nearest_centroid_accuracy(train, test):
    (train_x, train_y), (test_x, test_y) = train, test
    centroids = np.stack([train_x[train_y == c].mean(axis=0) for c in np.unique(train_y)])
    predicted = np.argmin(((test_x[:, None, :] - centroids[None]) ** 2).sum(axis=-1), axis=1)
    return float((predicted == test_y).mean())


def test_designs_are_not_separable_by_mean_colour_alone():
    accuracy = _nearest_centroid_accuracy(_mean_colours(classes=6, per_class=12, seed=11),
                                          _mean_colours(classes=6, per_class=8, seed=12))
    assert accuracy <= 0.60, f"mean colour alone classifies {accuracy:.0%} of photos"


def test_two_designs_sharing_a_base_colour_are_not_separable_by_mean_colour():
    accuracy = _nearest_centroid_accuracy(_mean_colours(classes=2, per_class=20, seed=11, blank=False),
                                          _mean_colours(classes=2, per_class=20, seed=12, blank=False))
    assert accuracy <= 0.60, f"mean colour alone tells {accuracy:.0%} of the pair apart"


def test_refuses_to_write_into_a_folder_that_is_not_empty(run_cli, tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    result = run_cli("synth", "dataset", "--out", tmp_path / "busy", "--classes", "2", "--per-class", "2")
    assert result.returncode == 2
    assert "not empty" in result.stderr.strip().splitlines()[-1]
    assert (tmp_path / "busy" / "keep.txt").read_text() == "mine"


def _synth(cli, out, *extra):
    return cli("synth", "dataset", "--out", out, "--classes", "2", "--per-class", "2", "--size", "64x48", *extra)[1]


def test_reuse_keeps_a_folder_holding_the_identical_dataset(cli, tmp_path):
    _synth(cli, tmp_path / "ds")
    marker = tmp_path / "ds" / "Blank" / "blank-0000.jpg"
    marker.write_bytes(b"untouched")
    out = _synth(cli, tmp_path / "ds", "--reuse")
    assert out.startswith("kept the identical dataset") and marker.read_bytes() == b"untouched"


def test_reuse_replaces_a_synth_dataset_made_with_other_flags(cli, tmp_path):
    _synth(cli, tmp_path / "ds")
    _synth(cli, tmp_path / "ds", "--reuse", "--seed", "5")
    assert json.loads((tmp_path / "ds" / "synth.json").read_text())["seed"] == 5
    assert [p.name for p in tmp_path.iterdir()] == ["ds"]  # no staging or old folder left


def test_reuse_never_replaces_a_folder_that_is_not_a_synth_dataset(cli, tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "mine.jpg").write_bytes(b"precious")
    status, _, err = cli("synth", "dataset", "--out", tmp_path / "photos", "--reuse", check=False)
    assert status == 2 and "not replacing" in err
    assert (tmp_path / "photos" / "mine.jpg").read_bytes() == b"precious"


def test_cli_writes_the_dataset_and_names_its_classes(run_cli, tmp_path):
    result = run_cli("synth", "dataset", "--out", tmp_path / "ds", "--classes", "2", "--per-class", "2",
                     "--size", "64x48", check=True)
    names = [d.name for d in designs.designs(2)]
    assert all(name in result.stdout for name in names)
    assert sorted(p.name for p in (tmp_path / "ds").iterdir()) == sorted(names + [BLANK_LABEL, "synth.json"])


@pytest.mark.parametrize("bad", ["0", "31", "x"])
def test_rejects_an_impossible_number_of_classes(run_cli, tmp_path, bad):
    result = run_cli("synth", "dataset", "--out", tmp_path / "ds", "--classes", bad)
    assert result.returncode == 2
    assert "--classes" in result.stderr
    assert not (tmp_path / "ds").exists()


def test_an_interrupted_run_leaves_no_folder_behind(tmp_path, monkeypatch):
    from socksort.im2rec import dataset

    real_photo, made = dataset.photo, []

    def interrupted(*args):
        made.append(1)
        if len(made) == 4:
            raise KeyboardInterrupt
        return real_photo(*args)

    monkeypatch.setattr(dataset, "photo", interrupted)
    with pytest.raises(KeyboardInterrupt):
        dataset.generate(dataset.DatasetSpec(out=tmp_path / "ds", classes=2, per_class=3, seed=0,
                                             width=64, height=48))
    assert list(tmp_path.iterdir()) == []


def test_output_does_not_depend_on_the_number_of_threads(socks, make_socks, tmp_path):
    assert _files(make_socks(tmp_path / "one", threads=1)) == _files(socks)
    assert _files(make_socks(tmp_path / "three", threads=3)) == _files(socks)
