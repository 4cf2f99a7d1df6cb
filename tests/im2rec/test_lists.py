"""`socksort im2rec --list`: .lst files like MXNet's im2rec.py, split per class."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from socksort.im2rec import lists

LINE = re.compile(r"^(\d+)\t(\d+\.\d{6})\t([^\t]+)$")


def _make_lists(cli, root, prefix, *extra):
    return cli("im2rec", "--list", "--recursive", "--train-ratio", "0.8", *extra, prefix, root)[1]


def _read(path):
    return [LINE.match(line).groups() for line in path.read_text().splitlines()]


def test_lst_lines_are_index_tab_float_label_tab_relative_path(cli, socks, tmp_path):
    _make_lists(cli, socks, tmp_path / "socks")
    lines = (tmp_path / "socks_train.lst").read_text().splitlines()
    assert lines and all(LINE.match(line) for line in lines), lines[:3]
    for index, label, path in _read(tmp_path / "socks_train.lst"):
        assert (socks / path).is_file()
        assert label == f"{float(label):f}"


def test_classes_file_lists_folder_names_in_label_order(cli, socks, tmp_path):
    out = _make_lists(cli, socks, tmp_path / "socks")
    classes = (tmp_path / "socks_classes.txt").read_text().splitlines()
    assert classes == sorted(p.name for p in socks.iterdir() if p.is_dir())
    for label, name in enumerate(classes):
        assert f"{label}\t{name}" in out
    for index, label, path in _read(tmp_path / "socks_train.lst") + _read(tmp_path / "socks_val.lst"):
        assert path.split("/")[0] == classes[int(float(label))]


def test_split_is_stratified_with_every_class_in_both_parts(cli, socks, tmp_path):
    _make_lists(cli, socks, tmp_path / "socks")
    train = Counter(label for _, label, _ in _read(tmp_path / "socks_train.lst"))
    val = Counter(label for _, label, _ in _read(tmp_path / "socks_val.lst"))
    assert set(train) == set(val) and len(train) == 4
    assert all(train[label] == 4 and val[label] == 1 for label in train)


def test_train_and_val_together_hold_every_image_once(cli, socks, tmp_path):
    _make_lists(cli, socks, tmp_path / "socks")
    rows = _read(tmp_path / "socks_train.lst") + _read(tmp_path / "socks_val.lst")
    assert sorted(int(index) for index, _, _ in rows) == list(range(20))
    assert len({path for _, _, path in rows}) == 20


def test_same_seed_gives_the_same_lists_and_another_seed_a_different_split(cli, socks, tmp_path):
    _make_lists(cli, socks, tmp_path / "a")
    _make_lists(cli, socks, tmp_path / "b")
    _make_lists(cli, socks, tmp_path / "c", "--seed", "7")
    assert (tmp_path / "a_train.lst").read_bytes() == (tmp_path / "b_train.lst").read_bytes()
    assert set(_read(tmp_path / "a_val.lst")) != set(_read(tmp_path / "c_val.lst"))


def test_every_class_with_two_images_lands_in_both_splits():
    items = [lists.Item(i, i // 2, f"c{i // 2}/{i}.jpg") for i in range(6)]
    parts = lists.split(items, train_ratio=0.9, test_ratio=0.0, seed=3)
    assert {item.label for item in parts["train"]} == {item.label for item in parts["val"]} == {0, 1, 2}


def test_test_ratio_adds_a_stratified_test_list(cli, socks, tmp_path):
    cli("im2rec", "--list", "--recursive", "--train-ratio", "0.6", "--test-ratio", "0.2", tmp_path / "s", socks)
    for part in ("train", "val", "test"):
        labels = {label for _, label, _ in _read(tmp_path / f"s_{part}.lst")}
        assert len(labels) == 4, part


def test_train_ratio_one_writes_a_single_list_like_im2rec(cli, socks, tmp_path):
    cli("im2rec", "--list", "--recursive", tmp_path / "all", socks)
    assert len(_read(tmp_path / "all.lst")) == 20
    assert not (tmp_path / "all_train.lst").exists()


def test_no_shuffle_keeps_folder_order(cli, socks, tmp_path):
    cli("im2rec", "--list", "--recursive", "--no-shuffle", tmp_path / "all", socks)
    assert [int(index) for index, _, _ in _read(tmp_path / "all.lst")] == list(range(20))


def test_non_images_and_unreadable_files_are_skipped_and_counted(cli, socks_copy, tmp_path):
    cls = next(p for p in socks_copy.iterdir() if p.is_dir())
    (cls / "notes.txt").write_text("not a photo")
    (cls / "broken.jpg").write_bytes(b"this is no jpeg")
    out = _make_lists(cli, socks_copy, tmp_path / "s")
    assert "skipped 1 not an image, 1 unreadable" in out
    listed = [path for _, _, path in _read(tmp_path / "s_train.lst") + _read(tmp_path / "s_val.lst")]
    assert len(listed) == 20 and not any("broken" in p or "notes" in p for p in listed)


def test_an_unreadable_file_is_named_when_the_lists_are_made(cli, socks_copy, tmp_path):
    cls = next(p for p in socks_copy.iterdir() if p.is_dir())
    (cls / "broken.jpg").write_bytes(b"this is no jpeg")
    _, _, err = cli("im2rec", "--list", "--recursive", tmp_path / "s", socks_copy)
    assert f"socksort: note: skipped {cls.name}/broken.jpg: unreadable (not an image file)" in err


def _error(result):
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert re.match(r"socksort( [a-z0-9-]+)*: error: ", lines[-1]), lines
    return lines[-1]


def test_an_empty_class_folder_stops_with_an_error(run_cli, socks_copy, tmp_path):
    (socks_copy / "lonely").mkdir()
    message = _error(run_cli("im2rec", "--list", "--recursive", tmp_path / "s", socks_copy))
    assert "'lonely'" in message and "empty" in message
    assert not list(tmp_path.glob("s*"))


def test_a_class_with_one_image_stops_with_an_error(run_cli, socks_copy, tmp_path):
    (socks_copy / "single").mkdir()
    (socks_copy / "single" / "one.jpg").write_bytes(next(socks_copy.rglob("*.jpg")).read_bytes())
    message = _error(run_cli("im2rec", "--list", "--recursive", tmp_path / "s", socks_copy))
    assert "'single'" in message and "only one image" in message


def test_a_root_without_images_stops_with_an_error(run_cli, tmp_path):
    (tmp_path / "empty").mkdir()
    message = _error(run_cli("im2rec", "--list", "--recursive", tmp_path / "s", tmp_path / "empty"))
    assert "no images" in message


def test_a_missing_root_stops_with_an_error(run_cli, tmp_path):
    message = _error(run_cli("im2rec", "--list", "--recursive", tmp_path / "s", tmp_path / "nowhere"))
    assert "nowhere" in message


@pytest.mark.parametrize("flag,value", [("--train-ratio", "1.5"), ("--train-ratio", "abc")])
def test_a_bad_ratio_is_named(run_cli, socks, tmp_path, flag, value):
    message = _error(run_cli("im2rec", "--list", "--recursive", flag, value, tmp_path / "s", socks))
    assert flag in message


def test_read_list_names_the_file_and_line_of_a_bad_entry(tmp_path):
    bad = tmp_path / "bad.lst"
    bad.write_text("0\t1.000000\ta.jpg\nnot a line\n")
    with pytest.raises(Exception, match=r"bad\.lst:2"):
        lists.read_list(bad)


def test_a_missing_blank_class_is_pointed_out(cli, socks_copy, tmp_path):
    import shutil

    shutil.rmtree(socks_copy / "Blank")
    _, _, err = cli("im2rec", "--list", "--recursive", tmp_path / "s", socks_copy)
    assert "no 'Blank' class" in err


def test_extensions_may_be_given_without_the_dot(cli, socks, tmp_path):
    cli("im2rec", "--list", "--recursive", tmp_path / "s", socks, "--exts", "jpg")
    assert len((tmp_path / "s.lst").read_text().splitlines()) == 20


def test_a_path_with_a_tab_is_refused_because_lst_lines_are_tab_separated(cli, socks_copy, tmp_path):
    photo = next((socks_copy / "Blank").glob("*.jpg"))
    photo.rename(photo.with_name("with\ttab.jpg"))
    status, _, err = cli("im2rec", "--list", "--recursive", tmp_path / "s", socks_copy, check=False)
    assert status == 2 and "tab" in err
    assert not list(tmp_path.glob("s*"))
