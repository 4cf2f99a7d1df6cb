"""``socksort predict`` and ``socksort evaluate`` on a trained model folder."""

import json

from socksort import modelcard


def photos_of(dataset_dir):
    return sorted((dataset_dir / "photos").glob("*/*.jpg"))


def test_predict_json_prints_one_object_per_image_with_top_k_in_percent(tiny_training, run_cli):
    photos = photos_of(tiny_training.dir)[:3]
    result = run_cli("predict", "--model", tiny_training.model, "--json", "--top", 3, *photos, check=True)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    classes = modelcard.load(tiny_training.model).classes
    assert [line["path"] for line in lines] == [str(p) for p in photos]
    for line in lines:
        assert len(line["top"]) == 3 and {t["label"] for t in line["top"]} == set(classes)
        probabilities = [t["probability"] for t in line["top"]]
        assert probabilities == sorted(probabilities, reverse=True)
        assert abs(sum(probabilities) - 100) < 0.1


def test_predict_prints_no_warning_the_user_cannot_act_on(tiny_training, run_cli):
    result = run_cli("predict", "--model", tiny_training.model, photos_of(tiny_training.dir)[0], check=True)
    assert result.stderr == ""
    assert len(result.stdout.splitlines()) == 1


def test_evaluate_agrees_with_predict_photo_by_photo(tiny_training, run_cli):
    photos = photos_of(tiny_training.dir)
    predicted = run_cli("predict", "--model", tiny_training.model, "--json", "--top", 1, *photos, check=True)
    right = sum(json.loads(line)["top"][0]["label"] == photo.parent.name
                for line, photo in zip(predicted.stdout.splitlines(), photos))
    result = run_cli("evaluate", "--model", tiny_training.model, tiny_training.dir / "photos", "--json", check=True)
    scores = json.loads(result.stdout)
    assert scores["images"] == len(photos)
    assert abs(scores["accuracy"] - right / len(photos)) < 1e-9
    assert sum(row[i] for i, row in enumerate(scores["confusion"])) == right
    assert set(scores["per_class"]) == set(modelcard.load(tiny_training.model).classes)


def test_evaluate_draws_the_confusion_matrix_when_asked(tiny_training, run_cli, tmp_path):
    run_cli("evaluate", "--model", tiny_training.model, tiny_training.dir / "photos", "--plot",
            tmp_path / "cm.png", check=True)
    assert (tmp_path / "cm.png").read_bytes()[:4] == b"\x89PNG"


def test_evaluate_names_a_folder_that_is_not_a_class(tiny_training, run_cli, tmp_path, small_images):
    import cv2
    (tmp_path / "data" / "Stranger").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "data" / "Stranger" / "a.jpg"), small_images[0])
    result = run_cli("evaluate", "--model", tiny_training.model, tmp_path / "data")
    assert result.returncode == 2
    assert "'Stranger' is not a class of the model" in result.stderr
