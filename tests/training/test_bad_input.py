"""Bad input stops with one clear line (exit 2) and writes no model folder."""

import os
import shutil

import pytest


def train(run_cli, prefix, out):
    return run_cli("train", "--train", f"{prefix}.rec", "--val", f"{prefix}.rec",
                   "--labels", f"{prefix}_classes.txt", "--out", out, "--epochs", 0,
                   "--warmup-epochs", 1, "--input-size", 64, "--workers", 0)


def one_error_line(result) -> str:
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("socksort: error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr
    return errors[0]


def test_a_label_outside_the_class_list_is_named(run_cli, tmp_path, rec_writer, small_images):
    rec_writer(tmp_path / "socks", [(small_images[0], 0), (small_images[1], 5)], ["Blank", "red"])
    error = one_error_line(train(run_cli, tmp_path / "socks", tmp_path / "model"))
    assert "record 1 has label 5, outside the 2 classes" in error
    assert not (tmp_path / "model").exists()


def test_a_corrupt_rec_is_named(run_cli, tmp_path, rec_writer, small_images):
    rec_writer(tmp_path / "socks", [(image, i % 2) for i, image in enumerate(small_images)], ["Blank", "red"])
    rec = tmp_path / "socks.rec"
    rec.write_bytes(os.urandom(64) + rec.read_bytes()[64:])
    error = one_error_line(train(run_cli, tmp_path / "socks", tmp_path / "model"))
    assert "socks.rec is not a readable RecordIO file (corrupt .rec?)" in error
    assert not (tmp_path / "model").exists()


def test_records_of_a_single_class_are_refused_naming_the_class(run_cli, tmp_path, rec_writer, small_images):
    rec_writer(tmp_path / "socks", [(image, 1) for image in small_images], ["Blank", "red"])
    error = one_error_line(train(run_cli, tmp_path / "socks", tmp_path / "model"))
    assert "holds only the class 'red' (4 images)" in error
    assert "at least two classes" in error
    assert not (tmp_path / "model").exists()


def test_a_missing_class_list_is_named(run_cli, tmp_path, rec_writer, small_images):
    rec_writer(tmp_path / "socks", [(small_images[0], 0)], ["Blank"])
    (tmp_path / "socks_classes.txt").unlink()
    result = run_cli("train", "--train", tmp_path / "socks.rec", "--val", tmp_path / "socks.rec",
                     "--out", tmp_path / "model")
    error = one_error_line(result)
    assert "class list" in error and "socks_classes.txt does not exist" in error


@pytest.mark.parametrize("missing", ["model-0000.params", "model-symbol.json", "labels.txt", "model.json"])
def test_a_model_folder_missing_a_file_is_named(run_cli, tiny_training, tmp_path, missing):
    broken = tmp_path / "model"
    shutil.copytree(tiny_training.model, broken)
    (broken / missing).unlink()
    photo = next((tiny_training.dir / "photos").glob("*/*.jpg"))
    error = one_error_line(run_cli("predict", "--model", broken, photo))
    assert f"is missing {missing}" in error


def test_an_unreadable_image_is_named(run_cli, tiny_training, tmp_path):
    (tmp_path / "notes.jpg").write_text("not a photo")
    error = one_error_line(run_cli("predict", "--model", tiny_training.model, tmp_path / "notes.jpg"))
    assert "notes.jpg is not a readable image" in error


def test_a_truncated_jpeg_is_refused_by_predict_naming_it(run_cli, tiny_training, truncated_jpeg):
    result = run_cli("predict", "--model", tiny_training.model, truncated_jpeg)
    error = one_error_line(result)
    assert error == (f"socksort: error: {truncated_jpeg} is not a readable image "
                     "(a truncated JPEG: it ends before its end-of-image marker)")
    assert result.stdout == ""


def test_a_truncated_jpeg_is_refused_by_evaluate_naming_it(run_cli, tiny_training, tmp_path, truncated_jpeg):
    photos = tmp_path / "photos"
    shutil.copytree(tiny_training.dir / "photos", photos)
    victim = next(photos.glob("*/*.jpg"))
    victim.write_bytes(truncated_jpeg.read_bytes())
    error = one_error_line(run_cli("evaluate", "--model", tiny_training.model, photos))
    assert f"{victim} is not a readable image (a truncated JPEG" in error


def test_an_input_size_efficientnet_cannot_take_is_refused(run_cli, tmp_path, rec_writer, small_images):
    rec_writer(tmp_path / "socks", [(small_images[0], 0)], ["Blank"])
    result = run_cli("train", "--train", tmp_path / "socks.rec", "--val", tmp_path / "socks.rec",
                     "--labels", tmp_path / "socks_classes.txt", "--out", tmp_path / "m", "--input-size", 100)
    assert "multiple of 32" in one_error_line(result)


def test_a_zoo_backbone_offline_points_at_efficientnet_lite0(run_cli, tmp_path, rec_writer, small_images):
    rec_writer(tmp_path / "socks", [(small_images[0], 0), (small_images[1], 1)], ["Blank", "red"])
    result = run_cli("train", "--train", tmp_path / "socks.rec", "--val", tmp_path / "socks.rec",
                     "--labels", tmp_path / "socks_classes.txt", "--out", tmp_path / "m",
                     "--backbone", "resnet18_v1", env={"SOCKSORT_OFFLINE": "1", "MXNET_HOME": str(tmp_path)})
    assert "--backbone efficientnet_lite0" in one_error_line(result)
    assert not (tmp_path / "m").exists()
