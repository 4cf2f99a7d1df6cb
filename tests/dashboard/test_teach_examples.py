"""The teach API's examples: teach, list, fetch, relabel, rename, delete, and every refusal.

A real dashboard with nothing upstream (no stack, edge or ksql engine) serves the API.
"""

import base64
import hashlib

import pytest
from teach_api import photo, teach_server

from socksort.examples import ExampleStore


@pytest.fixture
def api(tmp_path):
    with teach_server(tmp_path / "images", tmp_path / "models") as running:
        yield running


def test_a_multipart_upload_is_stored_under_its_label_by_content(api, tmp_path):
    data = photo("red", 1)
    answer = api.upload("/api/examples", {"label": "red"}, data)
    assert answer.status == 201
    body = answer.json()
    sha = hashlib.sha256(data).hexdigest()
    assert body["label"] == "red" and body["sha256"] == sha and body["id"] == sha[:16]
    assert (tmp_path / "images" / "red" / f"{sha[:16]}.jpg").read_bytes() == data


def test_a_json_base64_upload_is_stored(api):
    answer = api.teach("blue", photo("blue", 1))
    assert answer.status == 201 and answer.json()["label"] == "blue"


def test_the_same_photo_again_answers_200_with_the_existing_id(api):
    first = api.teach("red", photo("red", 1)).json()
    again = api.upload("/api/examples", {"label": "red"}, photo("red", 1))
    assert again.status == 200 and again.json()["id"] == first["id"]


def test_a_png_is_decoded_and_stored_as_jpeg(api, tmp_path):
    answer = api.upload("/api/examples", {"label": "green"}, photo("green", 1, fmt=".png"), "sock.png", "image/png")
    assert answer.status == 201
    stored = tmp_path / "images" / "green" / f"{answer.json()['id']}.jpg"
    assert stored.read_bytes()[:2] == b"\xff\xd8"


def test_the_declared_content_type_is_ignored_and_a_non_image_is_refused(api, tmp_path):
    answer = api.upload("/api/examples", {"label": "red"}, b"GIF89a but not really", "sock.jpg", "image/jpeg")
    assert answer.status == 400
    assert answer.json() == {"success": False, "error": answer.json()["error"]}
    assert "not a readable image" in answer.json()["error"]
    assert not (tmp_path / "images" / "red").exists()


def test_an_image_sent_as_text_plain_is_still_taken(api):
    answer = api.upload("/api/examples", {"label": "red"}, photo("red", 2), "notes.txt", "text/plain")
    assert answer.status == 201


def test_a_truncated_jpeg_is_refused(api):
    data = photo("red", 3)
    answer = api.upload("/api/examples", {"label": "red"}, data[: len(data) // 2])
    assert answer.status == 400 and "truncated" in answer.json()["error"]


def test_an_upload_over_10_mb_answers_400(api):
    answer = api.upload("/api/examples", {"label": "red"}, b"\xff\xd8" + bytes(10 * 1024 * 1024 + 10))
    assert answer.status == 400 and "10 MB" in answer.json()["error"]


def test_a_base64_image_over_10_mb_answers_400(api):
    encoded = base64.b64encode(bytes(10 * 1024 * 1024 + 3)).decode()
    answer = api.post("/api/examples", {"label": "red", "base64": encoded})
    assert answer.status == 400 and "10 MB" in answer.json()["error"]


@pytest.mark.parametrize("label", ["../etc", "a/b", "a\\b", "x" * 65, "tab\there", ".hidden"])
def test_a_bad_label_answers_400_naming_it(api, label):
    answer = api.teach(label, photo("red", 1))
    assert answer.status == 400
    assert repr(label[:64]) in answer.json()["error"]


def test_a_label_of_64_printable_characters_is_taken(api):
    assert api.teach("é" * 64, photo("red", 1)).status == 201


def test_a_missing_label_answers_400(api):
    answer = api.upload("/api/examples", {}, photo("red", 1))
    assert answer.status == 400 and "label" in answer.json()["error"]


def test_a_form_without_a_file_answers_400(api):
    body = b'--b\r\nContent-Disposition: form-data; name="label"\r\n\r\nred\r\n--b--\r\n'
    answer = api.call("POST", "/api/examples", data=body, headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert answer.status == 400 and "'file'" in answer.json()["error"]


def test_a_bad_json_body_answers_400_in_one_line(api):
    answer = api.call("POST", "/api/examples", data=b'{"label": "red", ',
                      headers={"Content-Type": "application/json"})
    assert answer.status == 400
    error = answer.json()["error"]
    assert "not valid JSON" in error and "\n" not in error


def test_bad_base64_answers_400(api):
    answer = api.post("/api/examples", {"label": "red", "base64": "not base64!"})
    assert answer.status == 400 and "base64" in answer.json()["error"]


def test_the_list_gives_every_example_and_the_dataset(api, tmp_path):
    for colour, seed in (("red", 1), ("red", 2), ("blue", 1)):
        api.teach(colour, photo(colour, seed))
    listed = api.get("/api/examples").json()
    assert {(e["label"], e["id"]) for e in listed["examples"]} == \
        {(e.label, e.id) for e in ExampleStore(tmp_path / "images").examples()}
    assert set(listed["examples"][0]) == {"id", "label", "sha256", "added"}
    assert listed["dataset"] == {"version": ExampleStore(tmp_path / "images").version(),
                                 "classes": {"blue": 1, "red": 2}}


def test_the_list_of_one_label_gives_its_examples_only(api):
    api.teach("red", photo("red", 1))
    api.teach("blue", photo("blue", 1))
    listed = api.get("/api/examples?label=blue").json()
    assert [e["label"] for e in listed["examples"]] == ["blue"]
    assert listed["dataset"]["classes"] == {"blue": 1, "red": 1}


def test_the_dataset_version_is_the_hash_of_the_sorted_label_sha_lines(api):
    shas = {}
    for colour in ("red", "blue"):
        shas[colour] = api.teach(colour, photo(colour, 1)).json()["sha256"]
    lines = "".join(f"{label}\t{sha}\n" for label, sha in sorted(shas.items()))
    expected = "sha256:" + hashlib.sha256(lines.encode()).hexdigest()
    assert api.get("/api/examples").json()["dataset"]["version"] == expected


def test_an_example_image_is_served_as_stored(api):
    data = photo("red", 1)
    example = api.teach("red", data).json()
    answer = api.get(f"/api/examples/{example['id']}/image")
    assert answer.status == 200 and answer.headers["Content-Type"] == "image/jpeg" and answer.body == data


def test_an_unknown_example_answers_404(api):
    assert api.get("/api/examples/0123456789abcdef/image").status == 404
    assert api.call("DELETE", "/api/examples/0123456789abcdef").status == 404
    assert api.call("PATCH", "/api/examples/0123456789abcdef", json_body={"label": "red"}).status == 404


def test_delete_answers_204_and_the_photo_is_gone(api, tmp_path):
    example = api.teach("red", photo("red", 1)).json()
    answer = api.call("DELETE", f"/api/examples/{example['id']}")
    assert answer.status == 204 and answer.body == b""
    assert api.get("/api/examples").json()["examples"] == []
    assert not list((tmp_path / "images").rglob("*.jpg"))


def test_relabel_moves_one_photo_to_another_class(api, tmp_path):
    example = api.teach("red", photo("red", 1)).json()
    answer = api.call("PATCH", f"/api/examples/{example['id']}", json_body={"label": "crimson"})
    assert answer.status == 200 and answer.json()["label"] == "crimson" and answer.json()["id"] == example["id"]
    assert api.get("/api/examples").json()["dataset"]["classes"] == {"crimson": 1}
    assert (tmp_path / "images" / "crimson" / f"{example['id']}.jpg").is_file()


def test_relabel_to_a_bad_label_answers_400_naming_it(api):
    example = api.teach("red", photo("red", 1)).json()
    answer = api.call("PATCH", f"/api/examples/{example['id']}", json_body={"label": "../up"})
    assert answer.status == 400 and "'../up'" in answer.json()["error"]


def test_rename_moves_a_whole_class(api):
    for seed in (1, 2):
        api.teach("red", photo("red", seed))
    answer = api.post("/api/labels/rename", {"from": "red", "to": "scarlet"})
    assert answer.status == 200 and answer.json()["moved"] == 2
    assert api.get("/api/examples").json()["dataset"]["classes"] == {"scarlet": 2}


def test_rename_of_an_unknown_class_answers_404(api):
    answer = api.post("/api/labels/rename", {"from": "nothing", "to": "else"})
    assert answer.status == 404 and "'nothing'" in answer.json()["error"]


def test_rename_without_to_answers_400(api):
    answer = api.post("/api/labels/rename", {"from": "red"})
    assert answer.status == 400 and "'to'" in answer.json()["error"]


def test_deleting_a_label_removes_the_whole_class(api, tmp_path):
    for seed in (1, 2):
        api.teach("red", photo("red", seed))
    api.teach("blue", photo("blue", 1))
    answer = api.call("DELETE", "/api/labels/red")
    assert answer.status == 200 and answer.json()["deleted"] == 2
    assert api.get("/api/examples").json()["dataset"]["classes"] == {"blue": 1}
    assert not (tmp_path / "images" / "red").exists()


def test_a_label_with_a_space_is_deleted_by_its_url_encoded_name(api):
    api.teach("odd sock", photo("red", 1))
    assert api.call("DELETE", "/api/labels/odd%20sock").status == 200


def test_deleting_an_encoded_traversal_label_answers_400(api):
    answer = api.call("DELETE", "/api/labels/..%2F..%2Fetc")
    assert answer.status == 400 and "'../../etc'" in answer.json()["error"]


def test_a_wrong_method_answers_405_with_allow(api):
    answer = api.call("DELETE", "/api/examples")
    assert answer.status == 405 and "GET" in answer.headers["Allow"] and "POST" in answer.headers["Allow"]


def test_an_unknown_api_path_answers_404_json(api):
    answer = api.get("/api/nothing")
    assert answer.status == 404 and answer.json()["success"] is False


def test_capture_from_an_unreachable_edge_answers_502_naming_it(api):
    edge = "http://127.0.0.1:9"
    answer = api.post("/api/examples/capture", {"label": "red", "edge_url": edge})
    assert answer.status == 502 and edge in answer.json()["error"]


def test_capture_with_a_bad_label_answers_400(api):
    answer = api.post("/api/examples/capture", {"label": "a/b"})
    assert answer.status == 400 and "'a/b'" in answer.json()["error"]
