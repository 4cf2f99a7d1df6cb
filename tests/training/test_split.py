"""How a photo folder is split into training and validation photos (training/from_images.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from socksort.errors import UserError
from socksort.examples import Example
from socksort.examples import check_trainable
from socksort.training.from_images import split


def examples(label: str, count: int) -> list[Example]:
    return [Example(f"{label}{i:015x}"[:16], label, f"{label}-{i:060d}", Path("x.jpg"), "") for i in range(count)]


def test_every_class_keeps_a_photo_to_train_and_one_to_check():
    train, val = split(examples("a", 2) + examples("b", 7))
    for label in "ab":
        assert any(e.label == label for e in train) and any(e.label == label for e in val)


def test_about_a_fifth_of_a_class_is_kept_to_check():
    train, val = split(examples("a", 30))
    assert (len(train), len(val)) == (24, 6)


def test_the_split_does_not_depend_on_the_order_photos_are_listed_in():
    photos = examples("a", 11) + examples("b", 5)
    assert split(photos) == split(list(reversed(photos)))


def test_one_class_is_not_trainable():
    with pytest.raises(UserError, match="at least two classes"):
        check_trainable({"a": 5})


def test_a_class_with_one_photo_is_named():
    with pytest.raises(UserError, match="class 'b' has 1 photo;"):
        check_trainable({"a": 5, "b": 1})
