"""`socksort camera` and `socksort worker` refuse bad input with one line."""

from __future__ import annotations


def test_a_worker_needs_a_model_or_a_store(run_cli):
    result = run_cli("worker")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == "socksort: error: give one of --model DIR or --models STORE"


def test_a_camera_with_a_source_that_is_nothing_names_it(run_cli, tmp_path):
    result = run_cli("camera", "--source", tmp_path / "nowhere.avi", "--device", "left",
                     "--bootstrap", "127.0.0.1:9")
    assert result.returncode == 2
    assert "nowhere.avi" in result.stderr and "is not a camera index" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_jpeg_quality_out_of_range_names_the_flag(run_cli):
    result = run_cli("camera", "--quality", "0")
    assert result.returncode == 2
    assert "--quality" in result.stderr
