"""The edge page's /showings routes (``socksort edge --match``): the album's showings and
crops over HTTP, and split and join as the dashboard sends them."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from edge_album import pair_and_single, post, serve
from edge_fixtures import get


@pytest.fixture
def edge():
    """An edge page whose album holds the pair sock-1 (showings 1 and 2) and the single sock-2 (3)."""
    server = serve(pair_and_single())
    yield server
    server.stop()


def test_showings_json_lists_each_showing_with_its_label_partner_and_crop_count(edge):
    status, body = get(edge.url + "/showings.json")
    assert status == 200
    assert json.loads(body) == {"dropped": 0, "showings": [
        {"id": 1, "label": "sock-1", "partner": 2, "started_ms": 1000, "crops": 2},
        {"id": 2, "label": "sock-1", "partner": 1, "started_ms": 2000, "crops": 2},
        {"id": 3, "label": "sock-2", "partner": None, "started_ms": 3000, "crops": 2}]}


def test_a_crop_is_served_as_the_jpeg_the_album_keeps(edge):
    status, body = get(edge.url + "/showings/2/1.jpg")
    assert status == 200
    image = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (40, 40, 3) and abs(int(image.mean()) - 62) <= 2


def test_a_crop_the_album_does_not_keep_is_404(edge):
    assert get(edge.url + "/showings/2/7.jpg")[0] == 404
    assert get(edge.url + "/showings/99/0.jpg")[0] == 404


def test_split_answers_the_new_label_and_the_showings_list_follows(edge):
    assert post(edge.url + "/showings/split", {"label": "sock-1"}) == (
        200, {"label": "sock-1", "new_label": "sock-3", "showing": 2})
    listed = json.loads(get(edge.url + "/showings.json")[1])["showings"]
    assert [(s["label"], s["partner"]) for s in listed] == [("sock-1", None), ("sock-3", None), ("sock-2", None)]


def test_join_answers_the_label_both_carry(edge):
    post(edge.url + "/showings/split", {"label": "sock-1"})
    assert post(edge.url + "/showings/join", {"labels": ["sock-2", "sock-3"]}) == (
        200, {"label": "sock-2", "joined": "sock-3"})
    listed = json.loads(get(edge.url + "/showings.json")[1])["showings"]
    assert [s["label"] for s in listed] == ["sock-1", "sock-2", "sock-2"]


def test_splitting_a_single_is_409_with_the_reason(edge):
    assert post(edge.url + "/showings/split", {"label": "sock-2"}) == (
        409, {"error": "sock-2 is a single showing: there is no pair to split"})


def test_an_unknown_label_is_404(edge):
    status, body = post(edge.url + "/showings/join", {"labels": ["sock-2", "sock-8"]})
    assert status == 404 and "sock-8" in body["error"]


@pytest.mark.parametrize("body, message", [
    (b"{not json", "the body is not JSON"),
    ({"label": ""}, '"label" must be a non-empty string'),
    ([1, 2], "the body must be a JSON object"),
])
def test_a_bad_split_body_is_400_naming_what_is_wrong(edge, body, message):
    assert post(edge.url + "/showings/split", body) == (400, {"error": message})


def test_join_needs_exactly_two_labels(edge):
    assert post(edge.url + "/showings/join", {"labels": ["sock-1"]}) == (
        400, {"error": '"labels" must be a list of two labels'})


def test_without_match_the_showings_routes_say_so():
    server = serve(None)
    try:
        assert get(server.url + "/showings.json")[0] == 404
        status, body = post(server.url + "/showings/split", {"label": "sock-1"})
        assert status == 404 and "--match" in body["error"]
    finally:
        server.stop()
