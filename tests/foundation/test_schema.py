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
    ({"image": "x", "probability": 1, "objects": {}}, "objects"),
    ({"image": "x", "probability": 1, "objects": [{"label": "x", "probability": 5}]}, "objects[0].box"),
    ({"image": "x", "probability": 1,
      "objects": [{"label": "x", "probability": 5, "box": {"left": 0, "top": 0, "width": "wide", "height": 1}}]},
     "objects[0].box.width"),
])
def test_rejects_a_bad_field_by_name(payload, field):
    with pytest.raises(SchemaError, match=f"'{field}'".replace("[", r"\[").replace("]", r"\]")):
        Prediction.from_dict(payload)


def test_rejects_non_json():
    with pytest.raises(SchemaError, match="not JSON"):
        Prediction.from_json(b"\xff{")


def test_the_seeds_payload_of_image_and_probability_alone_is_a_prediction():
    prediction = Prediction.from_json(b'{"image": "Google", "probability": 97.3}')
    assert (prediction.ts, prediction.device, prediction.seq) == (None, None, None)


def test_a_prediction_without_ts_device_or_seq_leaves_them_out_of_its_message():
    assert json.loads(Prediction("Google", 97.3).to_json()) == {"image": "Google", "probability": 97.3}


def test_an_optional_field_that_is_present_is_still_checked():
    with pytest.raises(SchemaError, match="'device'"):
        Prediction.from_dict({"image": "x", "probability": 1, "device": 7})


def test_objects_with_their_boxes_survive_the_round_trip():
    from socksort.schema import Box, DetectedObject

    found = (DetectedObject("sock-01", 91.5, Box(10, 20, 120, 200)), DetectedObject("sock-02", 60.0, Box(300, 5, 90, 150)))
    message = Prediction("sock-01", 91.5, objects=found).to_json()
    assert json.loads(message)["objects"][1] == {"label": "sock-02", "probability": 60.0,
                                                 "box": {"left": 300, "top": 5, "width": 90, "height": 150}}
    assert Prediction.from_json(message).objects == found


def test_a_message_without_objects_is_told_apart_from_one_that_found_nothing():
    assert Prediction.from_json(b'{"image": "Blank", "probability": 99}').objects is None
    assert Prediction.from_json(b'{"image": "Blank", "probability": 99, "objects": []}').objects == ()
    assert "objects" not in json.loads(Prediction("Blank", 99.0).to_json())
