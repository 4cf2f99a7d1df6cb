"""The teach dataset (socksort/examples.py): photos by content under DIR/<label>/."""

from __future__ import annotations

import hashlib

import cv2
import pytest
from teach_photos import COLOURS, jpeg, photo

from socksort.errors import UserError
from socksort.examples import ExampleStore, NoSuchExample, dataset_version, validate_label


@pytest.fixture
def store(tmp_path) -> ExampleStore:
    return ExampleStore(tmp_path / "images")


def red(seed: int = 0) -> bytes:
    return jpeg(photo(COLOURS["red"], seed))


def test_a_photo_is_stored_under_its_label_named_by_its_content(store):
    added = store.add(red(), "red")
    sha = hashlib.sha256(red()).hexdigest()
    assert added.created and added.example.sha256 == sha
    assert added.example.path == store.root / "red" / f"{sha[:16]}.jpg"


def test_the_same_photo_again_is_not_stored_twice(store):
    first = store.add(red(), "red")
    again = store.add(red(), "red")
    assert (again.created, again.example.id) == (False, first.example.id)
    assert len(store.examples()) == 1


def test_a_png_is_stored_as_a_jpeg(store):
    ok, png = cv2.imencode(".png", photo(COLOURS["blue"], 1))
    added = store.add(png.tobytes(), "blue")
    assert added.example.path.read_bytes()[:2] == b"\xff\xd8"


def test_bytes_that_are_no_image_are_refused_and_nothing_is_stored(store):
    with pytest.raises(UserError, match="not a readable image"):
        store.add(b"GIF89a but not really", "red")
    assert store.examples() == []


@pytest.mark.parametrize("label", ["", "a/b", "..", "x..y", "back\\slash", ".hidden", " padded", "tab\there",
                                   "x" * 65])
def test_unsafe_labels_are_refused(label):
    with pytest.raises(UserError, match="label"):
        validate_label(label)


def test_photos_other_tools_wrote_count_by_content(store):
    (store.root / "red").mkdir(parents=True)
    (store.root / "red" / "red-0000.jpg").write_bytes(red(3))
    assert store.examples()[0].id == hashlib.sha256(red(3)).hexdigest()[:16]


def test_the_dataset_version_depends_on_labels_and_photos_not_file_names(store, tmp_path):
    store.add(red(), "red")
    other = ExampleStore(tmp_path / "other")
    (other.root / "red").mkdir(parents=True)
    (other.root / "red" / "any-name.jpg").write_bytes(red())
    assert store.version() == other.version() == dataset_version([("red", hashlib.sha256(red()).hexdigest())])


def test_relabelling_a_photo_moves_it_and_changes_the_version(store):
    added = store.add(red(), "red")
    before = store.version()
    moved = store.relabel(added.example.id, "crimson")
    assert moved.label == "crimson" and store.classes() == {"crimson": 1}
    assert store.version() != before


def test_renaming_a_class_into_another_joins_them(store):
    store.add(red(0), "red")
    store.add(red(1), "crimson")
    assert store.rename_label("red", "crimson") == 1
    assert store.classes() == {"crimson": 2}


def test_deleting_a_class_removes_its_photos_and_folder(store):
    store.add(red(0), "red")
    store.add(red(1), "red")
    assert store.delete_label("red") == 2
    assert store.classes() == {} and not (store.root / "red").exists()


def test_an_unknown_id_is_named(store):
    with pytest.raises(NoSuchExample, match="no photo with id 'ffff'"):
        store.get("ffff")
