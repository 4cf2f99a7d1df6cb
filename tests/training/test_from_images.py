"""``socksort train --images DIR --models STORE``: from a photo folder into a model store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from teach_photos import write_photos

from socksort import modelcard
from socksort.contract import MODEL_FILES
from socksort.examples import ExampleStore
from socksort.modelstore import ModelStore
from socksort.training import from_images
from socksort.training.box_head import BoxHeadConfig

pytestmark = pytest.mark.slow

# For the full-mode tests about the fine-tune itself; one test keeps the default head.
NO_HEAD = ("--box-scenes", 0)


def socksort(*args, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "socksort", *map(str, args)], capture_output=True, text=True,
                          timeout=600)
    if check and done.returncode != 0:
        raise AssertionError(f"socksort {' '.join(map(str, args))} failed:\n{done.stderr[-3000:]}")
    return done


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    return write_photos(tmp_path_factory.mktemp("teach") / "images", per_class=3)


@pytest.fixture(scope="module")
def quick_model(photos, tmp_path_factory):
    """(store, the --json answer) of one quick training, shared by the module."""
    store = tmp_path_factory.mktemp("store") / "models"
    done = socksort("train", "--images", photos, "--models", store, "--quick", "--json")
    return store, json.loads(done.stdout)


def test_quick_training_writes_a_complete_model_folder_named_by_its_id(quick_model):
    store, answer = quick_model
    folder = store / answer["model"]
    assert answer["reused"] is False
    assert [name for name in MODEL_FILES if not (folder / name).is_file()] == []


def test_the_model_records_the_dataset_version_mode_and_code_it_came_from(quick_model, photos):
    store, answer = quick_model
    card = modelcard.load(store / answer["model"])
    assert card.id == answer["model"]
    assert card.dataset_version == ExampleStore(photos).version()
    assert card.mode == "quick"
    assert card.code_version and card.params["views"] >= 1


def test_a_quick_model_boxes_without_a_box_head_unless_asked(quick_model):
    store, answer = quick_model
    localise = modelcard.load(store / answer["model"]).localise
    assert localise is not None and localise.boxes_output == 0


def test_box_head_asks_a_quick_training_for_the_head(photos, tmp_path):
    done = socksort("train", "--images", photos, "--models", tmp_path / "models", "--quick", "--box-head",
                    "--box-scenes", "60", "--json")
    folder = Path(json.loads(done.stdout)["folder"])
    assert modelcard.load(folder).localise.boxes_output == 3


def test_box_head_with_no_scenes_is_refused_as_a_contradiction(photos, tmp_path):
    done = socksort("train", "--images", photos, "--models", tmp_path / "models", "--quick", "--box-head",
                    "--box-scenes", "0", check=False)
    assert done.returncode == 2 and "--box-head contradicts --box-scenes 0" in done.stderr


def test_the_quick_model_tells_the_taught_classes_apart(quick_model, photos):
    store, answer = quick_model
    done = socksort("predict", "--model", store / answer["model"], "--json",
                    *sorted(photos.glob("*/*.jpg")))
    right = [json.loads(line)["top"][0]["label"] == Path(json.loads(line)["path"]).parent.name
             for line in done.stdout.splitlines()]
    assert right.count(True) == len(right)


def test_the_same_photos_and_settings_reuse_the_stored_model(quick_model, photos):
    store, answer = quick_model
    again = json.loads(socksort("train", "--images", photos, "--models", store, "--quick", "--json").stdout)
    assert (again["model"], again["reused"]) == (answer["model"], True)


def test_a_changed_dataset_makes_a_new_model_and_keeps_the_old_one(quick_model, photos, tmp_path):
    store, answer = quick_model
    changed = tmp_path / "images"
    write_photos(changed, per_class=3)
    write_photos(changed, per_class=2, colours={"yellow": (40, 220, 220)}, seed=5)
    again = json.loads(socksort("train", "--images", changed, "--models", store, "--quick", "--json").stdout)
    assert again["model"] != answer["model"] and not again["reused"]
    assert {m.id for m in ModelStore(store).models()} >= {answer["model"], again["model"]}


def test_events_are_json_lines_ending_with_done(photos, tmp_path):
    done = socksort("train", "--images", photos, "--models", tmp_path / "models", "--quick", "--events")
    events = [json.loads(line) for line in done.stdout.splitlines()]
    kinds = {e["type"] for e in events}
    assert {"step", "epoch"} <= kinds
    assert events[-1]["type"] == "done" and len(events[-1]["model"]) == 12
    steps = [e["progress"] for e in events if e["type"] == "step"]
    assert steps == sorted(steps) and 0 <= steps[0] and steps[-1] <= 1


def test_two_photos_per_class_and_no_blank_class_are_enough(tmp_path):
    images = write_photos(tmp_path / "images", per_class=2)
    done = socksort("train", "--images", images, "--models", tmp_path / "models", "--quick", "--json")
    assert len(json.loads(done.stdout)["model"]) == 12


def test_a_class_with_one_photo_is_refused_naming_it(tmp_path):
    images = write_photos(tmp_path / "images", per_class=2)
    write_photos(images, per_class=1, colours={"lonely": (200, 200, 200)})
    done = socksort("train", "--images", images, "--models", tmp_path / "models", "--quick", check=False)
    assert done.returncode == 2
    assert "class 'lonely' has 1 photo" in done.stderr


def test_a_single_class_is_refused(tmp_path):
    images = write_photos(tmp_path / "images", per_class=3, colours={"red": (40, 40, 220)})
    done = socksort("train", "--images", images, "--models", tmp_path / "models", check=False)
    assert done.returncode == 2
    assert "at least two classes" in done.stderr


def test_images_and_records_cannot_be_mixed(photos, tmp_path):
    done = socksort("train", "--images", photos, "--models", tmp_path / "m", "--out", tmp_path / "o", check=False)
    assert done.returncode == 2 and "--out" in done.stderr


def test_sigterm_leaves_no_half_written_model(photos, tmp_path):
    store = tmp_path / "models"
    process = subprocess.Popen([sys.executable, "-m", "socksort", "train", "--images", str(photos), "--models",
                                str(store), "--quick", "--events"], stdout=subprocess.PIPE, text=True)
    try:
        for line in process.stdout:
            if json.loads(line)["type"] == "step":
                os.kill(process.pid, signal.SIGTERM)
                break
        assert process.wait(timeout=120) != 0
    finally:
        process.kill()
    assert ModelStore(store).models() == []
    leftovers = [p.name for p in store.iterdir() if p.name != ".cache"] if store.exists() else []
    assert leftovers == []


def test_a_cancel_while_the_box_head_learns_stops_it_and_leaves_no_model(photos, tmp_path):
    # In-process: a SIGTERM sent from here when the head's first epoch is read can land
    # after a quick head has already finished; the CLI turns SIGTERM into this same
    # KeyboardInterrupt at the next event (test_sigterm_leaves_no_half_written_model).
    store = tmp_path / "models"
    heard = []

    def cancel_at_the_head(event: dict) -> None:
        if event["type"] == "step" and event["text"].startswith("box head: epoch"):
            heard.append(event)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        from_images.train_from_images(photos, store, "quick", cancel_at_the_head, boxes=BoxHeadConfig(scenes=60))
    assert heard and 0.96 < heard[0]["progress"] < 1
    assert ModelStore(store).models() == []
    assert [p.name for p in store.iterdir() if p.name != ".cache"] == []


def test_models_deploy_then_list_marks_the_deployed_one(quick_model):
    store, answer = quick_model
    socksort("models", "deploy", answer["model"], "--models", store)
    listed = json.loads(socksort("models", "list", "--models", store, "--json").stdout)["models"]
    assert [m["id"] for m in listed if m["deployed"]] == [answer["model"]]


def test_models_show_gives_the_confusion_matrix_and_history(quick_model):
    store, answer = quick_model
    shown = json.loads(socksort("models", "show", answer["model"], "--models", store, "--json").stdout)
    assert len(shown["confusion"]["matrix"]) == len(shown["classes"]) == 3
    assert shown["history"] and {"train_loss", "val_acc"} <= set(shown["history"][0])


def test_models_show_of_an_unknown_id_names_it(tmp_path):
    done = socksort("models", "show", "0123456789ab", "--models", tmp_path, check=False)
    assert done.returncode == 2 and "no model 0123456789ab" in done.stderr


def test_full_mode_fine_tunes_from_the_photo_folder(photos, tmp_path):
    done = socksort("train", "--images", photos, "--models", tmp_path / "models", "--mode", "full",
                    "--input-size", 128, "--warmup-epochs", 1, "--epochs", 1, "--workers", 0, *NO_HEAD, "--json")
    card = modelcard.load(tmp_path / "models" / json.loads(done.stdout)["model"])
    assert (card.mode, card.params["epochs"], card.preprocess.input_size) == ("full", 1, 128)


def test_full_mode_from_the_photo_folder_localises_by_default(photos, tmp_path):
    done = socksort("train", "--images", photos, "--models", tmp_path / "models", "--mode", "full",
                    "--input-size", 128, "--warmup-epochs", 1, "--epochs", 0, "--workers", 0, "--json")
    card = modelcard.load(tmp_path / "models" / json.loads(done.stdout)["model"])
    assert card.localise.boxes_output == 3


def test_full_mode_also_trains_on_the_validation_photo_of_a_small_class_and_says_so(photos, tmp_path):
    done = socksort("train", "--images", photos, "--models", tmp_path / "models", "--mode", "full",
                    "--input-size", 128, "--warmup-epochs", 1, "--epochs", 0, "--workers", 0, *NO_HEAD, "--json")
    card = modelcard.load(tmp_path / "models" / json.loads(done.stdout)["model"])
    assert card.extra["validation_photos_also_trained"] == ["blue", "green", "red"]


def test_full_mode_with_loader_workers_finishes_on_camera_sized_photos(tmp_path):
    # Shrinking 640x480 photos runs OpenCV's thread pool before the loader forks; a
    # worker that inherited it hung forever in cv2.setNumThreads.
    images = write_photos(tmp_path / "images", per_class=3, size=(640, 480))
    done = socksort("train", "--images", images, "--models", tmp_path / "models", "--mode", "full",
                    "--input-size", 128, "--warmup-epochs", 1, "--epochs", 0, "--workers", 2, *NO_HEAD, "--json")
    assert json.loads(done.stdout)["reused"] is False


def test_a_models_path_that_is_a_file_is_refused_naming_it(photos, tmp_path):
    (tmp_path / "store").write_text("not a folder")
    done = socksort("train", "--images", photos, "--models", tmp_path / "store", "--quick", check=False)
    assert done.returncode == 2 and "is a file, not a model store folder" in done.stderr


def test_sigterm_stops_a_full_fine_tune_with_loader_workers(tmp_path):
    images = write_photos(tmp_path / "images", per_class=4, size=(640, 480))
    store = tmp_path / "models"
    process = subprocess.Popen([sys.executable, "-m", "socksort", "train", "--images", str(images), "--models",
                                str(store), "--mode", "full", "--input-size", "128", "--workers", "2",
                                "--events"], stdout=subprocess.PIPE, text=True)
    try:
        steps = 0
        for line in process.stdout:
            steps += json.loads(line)["type"] == "step"
            if steps == 2:
                os.kill(process.pid, signal.SIGTERM)
                break
        assert process.wait(timeout=120) != 0
    finally:
        process.kill()
    assert ModelStore(store).models() == []
