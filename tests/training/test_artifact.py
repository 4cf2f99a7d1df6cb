"""A model folder appears whole or not at all; a failed export leaves the old one untouched."""

import pytest

from socksort.training.artifact import staging_folder


def test_a_finished_folder_replaces_the_old_one(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "old.txt").write_text("old")
    with staging_folder(tmp_path / "model") as folder:
        (folder / "new.txt").write_text("new")
    assert [p.name for p in (tmp_path / "model").iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_a_failure_keeps_the_old_folder_and_leaves_no_staging_behind(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "old.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with staging_folder(tmp_path / "model") as folder:
            (folder / "half.txt").write_text("half")
            raise RuntimeError("export failed")
    assert [p.name for p in (tmp_path / "model").iterdir()] == ["old.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
