"""Atomic writes: whole new file or the old one, with the usual permissions."""

import os

import pytest

from socksort import atomic


def test_replaces_the_file_whole(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    atomic.write_text(target, "new")
    assert target.read_text() == "new"


def test_an_error_midway_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic.atomic_write(target) as handle:
            handle.write(b"partial")
            raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["a.bin"]


def test_written_files_follow_the_umask_not_mkstemps_private_mode(tmp_path):
    old = os.umask(0o022)
    try:
        atomic.write_json(tmp_path / "x.json", {"a": 1})
    finally:
        os.umask(old)
    assert (tmp_path / "x.json").stat().st_mode & 0o777 == 0o644


def test_a_finished_folder_replaces_the_old_one(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "old.txt").write_text("old")
    with atomic.replace_folder(tmp_path / "model") as folder:
        (folder / "new.txt").write_text("new")
    assert [p.name for p in (tmp_path / "model").iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_a_failure_keeps_the_old_folder_and_leaves_no_staging_behind(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "old.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic.replace_folder(tmp_path / "model") as folder:
            (folder / "half.txt").write_text("half")
            raise RuntimeError("export failed")
    assert [p.name for p in (tmp_path / "model").iterdir()] == ["old.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_a_replaced_folder_follows_the_umask_not_mkdtemps_private_mode(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic.replace_folder(tmp_path / "model") as folder:
            (folder / "labels.txt").write_text("a\n")
    finally:
        os.umask(old)
    assert (tmp_path / "model").stat().st_mode & 0o777 == 0o755


def test_a_file_where_the_folder_should_go_is_refused(tmp_path):
    from socksort.errors import UserError

    (tmp_path / "model").write_text("not a folder")
    with pytest.raises(UserError, match="is not a folder"):
        with atomic.replace_folder(tmp_path / "model"):
            pass
