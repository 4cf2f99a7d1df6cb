"""The prediction message every stage agrees on."""

import json

import pytest

from socksort.schema import Guess, Prediction, SchemaError


def sample():
    return Prediction("Google", 97.31, 1732186800123, "cam-1", 42,
                      (Guess("Google", 97.31), Guess("Mongo", 1.2)))


def test_round_trips_through_json():
    assert Prediction.from_json(sample().to_json()) == sample()


def test_keeps_the_seed_fields_image_and_probability():
    payload = json.loads(sample().to_json())
    assert payload["image"] == "Google" and payload["probability"] == 97.31
    assert set(payload) == {"image", "probability", "ts", "device", "seq", "top"}


@pytest.mark.parametrize("payload, field", [
    ({"probability": 1, "ts": 1, "device": "d", "seq": 0}, "image"),
    ({"image": "x", "probability": "high", "ts": 1, "device": "d", "seq": 0}, "probability"),
    ({"image": "x", "probability": 120, "ts": 1, "device": "d", "seq": 0}, "probability"),
    ({"image": "x", "probability": 1, "ts": 1.5, "device": "d", "seq": 0}, "ts"),
    ({"image": "x", "probability": 1, "ts": 1, "device": "d", "seq": -1}, "seq"),
    ({"image": "x", "probability": 1, "ts": 1, "device": "d", "seq": 0, "top": [{"label": "x"}]}, "top[0].probability"),
])
def test_rejects_a_bad_field_by_name(payload, field):
    with pytest.raises(SchemaError, match=f"'{field}'".replace("[", r"\[").replace("]", r"\]")):
        Prediction.from_dict(payload)


def test_rejects_non_json():
    with pytest.raises(SchemaError, match="not JSON"):
        Prediction.from_json(b"\xff{")
