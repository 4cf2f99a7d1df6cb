"""POST /api/state refuses what a zip nobody vouches for may hold, naming it, before writing."""

import io
import json
import zipfile

import pytest
from teach_api import photo, teach_server

from socksort.dashboard.teach import state

MANIFEST = json.dumps({"format": state.FORMAT, "deployed": None})


def a_zip(members: dict, manifest: str | None = MANIFEST, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        if manifest is not None:
            archive.writestr("manifest.json", manifest)
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def api(tmp_path):
    with teach_server(tmp_path / "images", tmp_path / "models") as running:
        yield running


def post_zip(api, data: bytes):
    return api.call("POST", "/api/state", data=data, headers={"Content-Type": "application/zip"})


def test_a_hand_made_zip_of_photos_is_imported(api):
    answer = post_zip(api, a_zip({"images/red/a.jpg": photo("red", 1), "images/blue/b.png": photo("blue", 1, ".png")}))
    assert answer.status == 200 and answer.json()["examples_added"] == 2
    assert api.get("/api/examples").json()["dataset"]["classes"] == {"blue": 1, "red": 1}


@pytest.mark.parametrize("name", ["images/../../evil.jpg", "/etc/evil.jpg", "images/red/../../../x.jpg",
                                  "images\\red\\x.jpg", "C:/x.jpg"])
def test_a_path_traversal_is_refused_naming_the_member(api, tmp_path, name):
    answer = post_zip(api, a_zip({"images/red/ok.jpg": photo("red", 1), name: photo("red", 2)}))
    assert answer.status == 400 and name in answer.json()["error"]
    assert not (tmp_path / "images").exists()   # nothing written, not even the good photo


def test_a_member_outside_the_layout_is_refused(api):
    answer = post_zip(api, a_zip({"notes/readme.txt": b"hello"}))
    assert answer.status == 400 and "notes/readme.txt" in answer.json()["error"]


def test_a_zip_bomb_is_refused_at_its_headers(api, tmp_path):
    answer = post_zip(api, a_zip({"images/red/bomb.jpg": bytes(50 * 1024 * 1024)}))
    assert answer.status == 400
    assert "images/red/bomb.jpg" in answer.json()["error"] and "zip bomb" in answer.json()["error"]
    assert not (tmp_path / "images").exists()


def test_a_member_larger_than_its_header_says_is_refused_naming_it():
    archive = zipfile.ZipFile(io.BytesIO(a_zip({"images/red/a.jpg": photo("red", 1)})))
    member = archive.getinfo("images/red/a.jpg")
    member.file_size -= 100   # a header that understates what the member holds
    with pytest.raises(state.BadState, match="images/red/a.jpg"):
        state._read(archive, member)


def test_a_non_image_is_refused_naming_it(api, tmp_path):
    answer = post_zip(api, a_zip({"images/red/a.jpg": photo("red", 1), "images/red/fake.jpg": b"not a photo"}))
    assert answer.status == 400
    assert "images/red/fake.jpg" in answer.json()["error"] and "not a readable image" in answer.json()["error"]
    assert not (tmp_path / "images").exists()


def test_a_bad_label_folder_is_refused_naming_it(api):
    answer = post_zip(api, a_zip({"images/.hidden/a.jpg": photo("red", 1)}))
    assert answer.status == 400 and "'.hidden'" in answer.json()["error"]


def test_a_zip_without_a_manifest_is_refused(api):
    answer = post_zip(api, a_zip({"images/red/a.jpg": photo("red", 1)}, manifest=None))
    assert answer.status == 400 and "manifest.json" in answer.json()["error"]


def test_a_manifest_of_another_format_is_refused(api):
    answer = post_zip(api, a_zip({}, manifest=json.dumps({"format": "other/1"})))
    assert answer.status == 400 and state.FORMAT in answer.json()["error"]


def test_an_upload_that_is_no_zip_is_refused(api):
    answer = post_zip(api, b"this is not a zip")
    assert answer.status == 400 and "not a zip" in answer.json()["error"]


def test_a_model_folder_with_a_damaged_card_is_refused_before_anything_is_written(api, tmp_path):
    model = {name: b"x" for name in ("model-symbol.json", "model-0000.params", "model.onnx", "labels.txt")}
    model["model.json"] = b"{not json"
    members = {"images/red/a.jpg": photo("red", 1), **{f"models/0123456789ab/{k}": v for k, v in model.items()}}
    answer = post_zip(api, a_zip(members))
    assert answer.status == 400 and "models/0123456789ab/model.json" in answer.json()["error"]
    assert not (tmp_path / "images").exists() and not (tmp_path / "models").exists()


def test_an_empty_server_exports_an_importable_zip(api, tmp_path):
    exported = api.get("/api/state")
    assert exported.status == 200
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(exported.body)).read("manifest.json"))
    assert manifest["examples"] == [] and manifest["deployed"] is None
    assert post_zip(api, exported.body).status == 200
