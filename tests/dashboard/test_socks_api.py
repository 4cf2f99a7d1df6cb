"""The dashboard's open-set API (``dashboard/socks.py``) against the real edge page with an
album: the showings and their crops, split, join and name, and the pair table they correct."""

from __future__ import annotations

from edge_album import serve
from teach_api import Api


def pairs(api: Api) -> dict[str, tuple[str, int, str | None]]:
    rows = api.get("/api/live").json()["pairs"]
    return {r["image"]: (r["pair_seen"], r["number_socks_seen"], r.get("name")) for r in rows}


def test_showings_lists_the_cameras_showings_with_a_url_per_crop(open_set_dashboard):
    _, api = open_set_dashboard
    answer = api.get("/api/showings").json()
    assert [(s["id"], s["label"], s["partner"]) for s in answer["showings"]] == [
        (1, "sock-1", 2), (2, "sock-1", 1), (3, "sock-2", None)]
    assert answer["showings"][0]["crops"] == ["/api/showings/1/0.jpg", "/api/showings/1/1.jpg"]
    assert answer["names"] == {} and answer["dropped"] == 0


def test_a_crop_url_gives_the_edges_jpeg(open_set_dashboard, album_edge):
    _, api = open_set_dashboard
    crop = api.get("/api/showings/3/1.jpg")
    assert crop.status == 200 and crop.headers["Content-Type"] == "image/jpeg"
    assert crop.body[:2] == b"\xff\xd8"


def test_splitting_a_pair_shows_two_singles_in_the_pair_table(open_set_dashboard):
    _, api = open_set_dashboard
    answer = api.post("/api/socks/split", {"label": "sock-1"})
    assert answer.status == 200 and answer.json() == {"label": "sock-1", "new_label": "sock-3", "showing": 2}
    assert pairs(api) == {"sock-1": ("Un-matched", 1, None), "sock-2": ("Un-matched", 1, None),
                          "sock-3": ("Un-matched", 1, None)}


def test_joining_two_singles_shows_one_pair(open_set_dashboard):
    _, api = open_set_dashboard
    api.post("/api/socks/split", {"label": "sock-1"})
    answer = api.post("/api/socks/join", {"labels": ["sock-2", "sock-3"]})
    assert answer.status == 200 and answer.json() == {"label": "sock-2", "joined": "sock-3"}
    assert pairs(api) == {"sock-1": ("Un-matched", 1, None), "sock-2": ("Pair", 2, None)}


def test_naming_a_pair_turns_its_crops_into_teach_examples_of_that_name(open_set_dashboard):
    _, api = open_set_dashboard
    answer = api.post("/api/socks/name", {"label": "sock-1", "name": "navy stripes"})
    assert answer.status == 200
    assert {k: answer.json()[k] for k in ("label", "name", "examples_added")} == {
        "label": "sock-1", "name": "navy stripes", "examples_added": 4}
    examples = api.get("/api/examples?label=navy%20stripes").json()["examples"]
    assert len(examples) == 4
    assert pairs(api)["sock-1"] == ("Pair", 2, "navy stripes")


def test_the_corrections_are_listed_in_order(open_set_dashboard):
    _, api = open_set_dashboard
    api.post("/api/socks/split", {"label": "sock-1"})
    api.post("/api/socks/name", {"label": "sock-3", "name": "navy"})
    assert api.get("/api/socks/corrections").json() == {"corrections": [
        {"kind": "split", "label": "sock-1", "new_label": "sock-3"},
        {"kind": "name", "label": "sock-3", "name": "navy"}]}


def test_the_edges_refusal_comes_back_with_its_status_and_reason(open_set_dashboard):
    _, api = open_set_dashboard
    answer = api.post("/api/socks/split", {"label": "sock-2"})
    assert answer.status == 409
    assert answer.json()["error"] == "sock-2 is a single showing: there is no pair to split"
    assert pairs(api)["sock-2"] == ("Un-matched", 1, None)


def test_a_name_that_cannot_be_a_class_is_400_and_nothing_is_named(open_set_dashboard):
    _, api = open_set_dashboard
    answer = api.post("/api/socks/name", {"label": "sock-1", "name": "../navy"})
    assert answer.status == 400 and "path separator" in answer.json()["error"]
    assert api.get("/api/socks/corrections").json() == {"corrections": []}


def test_naming_a_label_the_camera_does_not_keep_is_404(open_set_dashboard):
    _, api = open_set_dashboard
    answer = api.post("/api/socks/name", {"label": "sock-9", "name": "navy"})
    assert answer.status == 404 and "sock-9" in answer.json()["error"]


def test_with_an_edge_without_match_the_api_says_to_run_it_with_match(tmp_path):
    from teach_api import teach_server

    edge = serve(None)
    try:
        with teach_server(tmp_path / "images", tmp_path / "models", edge_url=edge.url) as api:
            for answer in (api.get("/api/showings"), api.post("/api/socks/split", {"label": "sock-1"})):
                assert answer.status == 502
                assert "run it as `socksort edge --match`" in answer.json()["error"]
    finally:
        edge.stop()
