"""Training, models, deploy, classify, capture and the state zip, through the real API.

One quick model is trained once for the module (3 colours x 3 small photos, a few seconds
with the real ``socksort train`` subprocess); tests that need a job of their own (409,
cancel, auto-train) start one on a server of their own.
"""

import base64
import json
import re
import subprocess
import sys
import time
import urllib.request
from types import SimpleNamespace

import pytest
import teach_photos
from teach_api import Api, photo, sse_events, teach_colours, teach_server, wait_job

from socksort.examples import ExampleStore
from socksort.modelstore import ModelStore
from socksort.net import free_port, wait_for_port


@pytest.fixture(scope="module")
def taught(tmp_path_factory):
    root = tmp_path_factory.mktemp("taught")
    with teach_server(root / "images", root / "models") as api:
        teach_colours(api)
        started = api.post("/api/train", {"mode": "quick"})
        assert started.status == 202, started.body
        job = wait_job(api, started.json()["job"])
        assert job["state"] == "done", job
        yield SimpleNamespace(api=api, root=root, job=job, started=started.json(),
                              store=ModelStore(root / "models"))


def first_event(api: Api, job: str, kind: str = "step", timeout: float = 300) -> dict:
    """Read a job's event stream until its first ``kind`` event."""
    request = urllib.request.Request(f"{api.base}/api/train/{job}/events")
    current = None
    with urllib.request.urlopen(request, timeout=timeout) as response:
        for raw in response:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                current = line[len("event: "):]
            elif line.startswith("data: ") and current in (kind, "end"):
                return {"event": current, **json.loads(line[len("data: "):])}
    raise AssertionError(f"the stream ended without a {kind} event")


# --- training ----------------------------------------------------------------------------

def test_train_answers_202_with_a_job(taught):
    assert re.fullmatch(r"[0-9a-f]{12}", taught.started["job"])


def test_a_finished_job_reports_done_with_its_model(taught):
    job = taught.api.get(f"/api/train/{taught.job['job']}").json()
    assert job["state"] == "done" and job["progress"] == 1.0 and job["error"] is None
    assert re.fullmatch(r"[0-9a-f]{12}", job["model"]) and taught.store.has(job["model"])


def test_a_late_event_stream_replays_steps_and_epochs_then_ends(taught):
    events = sse_events(taught.api, f"/api/train/{taught.job['job']}/events")
    kinds = [kind for kind, _ in events]
    assert "step" in kinds and "epoch" in kinds
    assert kinds[-2:] == ["done", "end"]
    steps = [data["progress"] for kind, data in events if kind == "step"]
    assert steps == sorted(steps) and all(0 <= p <= 1 for p in steps)
    epoch = next(data for kind, data in events if kind == "epoch")
    assert {"phase", "epoch", "train_loss", "train_acc", "val_loss", "val_acc"} <= set(epoch)
    assert events[-2][1]["model"] == taught.job["model"]
    assert events[-1][1]["state"] == "done"


def test_an_unknown_job_answers_404(taught):
    assert taught.api.get("/api/train/000000000000").status == 404
    assert taught.api.post("/api/train/000000000000/cancel").status == 404


def test_a_bad_mode_answers_400_naming_it(taught):
    answer = taught.api.post("/api/train", {"mode": "fast"})
    assert answer.status == 400 and "'fast'" in answer.json()["error"]


def test_training_with_one_class_answers_400_naming_it(tmp_path):
    with teach_server(tmp_path / "images", tmp_path / "models") as api:
        teach_colours(api, colours=("red",))
        answer = api.post("/api/train", {"mode": "quick"})
        assert answer.status == 400
        assert "two classes" in answer.json()["error"] and "'red'" in answer.json()["error"]


def test_training_with_a_class_of_one_photo_answers_400_naming_it(tmp_path):
    with teach_server(tmp_path / "images", tmp_path / "models") as api:
        teach_colours(api, colours=("red",))
        api.teach("blue", photo("blue", 1))
        answer = api.post("/api/train", {"mode": "quick"})
        assert answer.status == 400 and "'blue' has 1 photo" in answer.json()["error"]
        assert api.get("/api/train").json()["jobs"] == []


@pytest.fixture
def running_job(tmp_path):
    """A full training job on a server of its own, seen running (its first step came)."""
    with teach_server(tmp_path / "images", tmp_path / "models") as api:
        teach_colours(api, per_class=2, colours=("red", "blue"))
        job = api.post("/api/train", {"mode": "full"}).json()["job"]
        first = first_event(api, job, "step")
        assert first["event"] == "step", first.get("error")
        yield SimpleNamespace(api=api, job=job, models=tmp_path / "models")
        if api.get(f"/api/train/{job}").json()["state"] in ("queued", "running"):
            api.post(f"/api/train/{job}/cancel")
            wait_job(api, job)


def test_a_second_job_while_one_runs_answers_409(running_job):
    answer = running_job.api.post("/api/train", {"mode": "quick"})
    assert answer.status == 409 and running_job.job in answer.json()["error"]


def test_cancel_stops_the_job_and_leaves_no_model_folder(running_job):
    answer = running_job.api.post(f"/api/train/{running_job.job}/cancel")
    assert answer.status == 200
    job = wait_job(running_job.api, running_job.job)
    assert job["state"] == "cancelled" and job["model"] is None
    left = [p.name for p in running_job.models.iterdir() if p.name != ".cache"] if running_job.models.exists() else []
    assert left == []


def test_a_cancelled_job_cannot_be_cancelled_again(running_job):
    running_job.api.post(f"/api/train/{running_job.job}/cancel")
    wait_job(running_job.api, running_job.job)
    answer = running_job.api.post(f"/api/train/{running_job.job}/cancel")
    assert answer.status == 409 and "cancelled" in answer.json()["error"]


def test_the_http_server_answers_while_a_job_runs(running_job):
    # The job runs in its own process: the API and the page keep answering meanwhile.
    assert running_job.api.get("/api/examples").status == 200
    assert running_job.api.get("/healthz").status == 200
    assert running_job.api.get(f"/api/train/{running_job.job}").json()["state"] == "running"


# --- models and deploy ---------------------------------------------------------------------

def test_models_lists_the_trained_model_with_its_lineage(taught):
    listed = taught.api.get("/api/models").json()["models"]
    model = next(m for m in listed if m["id"] == taught.job["model"])
    assert {"id", "created", "mode", "backbone", "params", "dataset_version", "parent", "code_version",
            "val_accuracy", "per_class", "deployed"} <= set(model)
    assert model["mode"] == "quick"
    assert model["dataset_version"] == ExampleStore(taught.root / "images").version()
    assert set(model["per_class"]) == {"red", "green", "blue"}


def test_one_model_shows_its_confusion_matrix_and_history(taught):
    model = taught.api.get(f"/api/models/{taught.job['model']}").json()
    assert model["id"] == taught.job["model"]
    confusion = model["confusion"]
    assert sorted(confusion["classes"]) == ["blue", "green", "red"]
    assert len(confusion["matrix"]) == 3 and all(len(row) == 3 for row in confusion["matrix"])
    assert sum(map(sum, confusion["matrix"])) >= 3
    assert model["history"] and {"epoch", "val_acc"} <= set(model["history"][0])


def test_an_unknown_model_answers_404(taught):
    assert taught.api.get("/api/models/000000000000").status == 404
    assert taught.api.get("/api/models/not-an-id").status == 404
    assert taught.api.post("/api/models/000000000000/deploy").status == 404


def test_deploy_makes_the_model_the_deployed_one(taught):
    answer = taught.api.post(f"/api/models/{taught.job['model']}/deploy")
    assert answer.status == 200 and answer.json()["deployed"] is True
    assert taught.store.deployed() == taught.job["model"]
    listed = taught.api.get("/api/models").json()
    assert listed["deployed"] == taught.job["model"]
    assert [m["deployed"] for m in listed["models"] if m["id"] == taught.job["model"]] == [True]


# --- classify ------------------------------------------------------------------------------

def predicted_by_the_cli(model_folder, image_path) -> list[dict]:
    done = subprocess.run([sys.executable, "-m", "socksort", "predict", "--model", str(model_folder), "--json",
                           "--top", "3", str(image_path)], capture_output=True, text=True, timeout=300, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])["top"]


def assert_same_top(api_top, cli_top):
    assert [t["label"] for t in api_top] == [t["label"] for t in cli_top]
    for ours, theirs in zip(api_top, cli_top):
        assert ours["probability"] == pytest.approx(theirs["probability"], abs=0.5)


def test_classify_a_multipart_photo_agrees_with_socksort_predict(taught, tmp_path):
    data = photo("red", 42)
    answer = taught.api.upload("/api/classify", {}, data)
    assert answer.status == 200
    body = answer.json()
    assert body["success"] is True and body["model"] == taught.store.current().id
    assert body["label"] == body["top"][0]["label"] and body["probability"] == body["top"][0]["probability"]
    (tmp_path / "photo.jpg").write_bytes(data)
    assert_same_top(body["top"], predicted_by_the_cli(taught.store.current().folder, tmp_path / "photo.jpg"))


def test_classify_returns_the_objects_socksort_predict_boxes_finds_in_the_photos_pixels(taught, tmp_path):
    # Twice the training photos' size: the boxes must be in this photo's pixels, not the model's.
    data = teach_photos.jpeg(teach_photos.photo(teach_photos.COLOURS["blue"], 46, size=(320, 240)))
    body = taught.api.upload("/api/classify", {}, data).json()
    (tmp_path / "photo.jpg").write_bytes(data)
    done = subprocess.run([sys.executable, "-m", "socksort", "predict", "--model", str(taught.store.current().folder),
                           "--boxes", "--json", str(tmp_path / "photo.jpg")],
                          capture_output=True, text=True, timeout=300, check=True)
    by_the_cli = json.loads(done.stdout.strip().splitlines()[-1])["objects"]
    assert body["objects"] and body["objects"] == by_the_cli
    assert all(o["box"]["left"] + o["box"]["width"] <= 320 and o["box"]["top"] + o["box"]["height"] <= 240
               for o in body["objects"])


def test_classify_base64_gives_the_same_answer_as_multipart(taught):
    data = photo("green", 43)
    by_form = taught.api.upload("/api/classify", {}, data).json()
    by_json = taught.api.post("/api/classify", {"base64": base64.b64encode(data).decode()}).json()
    assert by_json == by_form


def test_classify_a_url_fetches_the_photo(taught):
    example = taught.api.get("/api/examples?label=blue").json()["examples"][0]
    url = f"{taught.api.base}/api/examples/{example['id']}/image"
    by_url = taught.api.post("/api/classify", {"url": url}).json()
    by_form = taught.api.upload("/api/classify", {}, taught.api.get(url[len(taught.api.base):]).body).json()
    assert by_url == by_form and by_url["success"] is True


def test_classify_with_a_chosen_model(taught):
    answer = taught.api.upload(f"/api/classify?model={taught.job['model']}", {}, photo("red", 44))
    assert answer.status == 200 and answer.json()["model"] == taught.job["model"]


def test_classify_with_an_unknown_model_answers_404(taught):
    answer = taught.api.upload("/api/classify?model=000000000000", {}, photo("red", 44))
    assert answer.status == 404 and answer.json() == {"success": False, "error": answer.json()["error"]}


def test_classify_a_non_image_answers_400(taught):
    answer = taught.api.upload("/api/classify", {}, b"%PDF-1.4 not a photo", "photo.jpg")
    assert answer.status == 400 and answer.json()["success"] is False
    assert "not a readable image" in answer.json()["error"]


def test_classify_over_10_mb_answers_400(taught):
    answer = taught.api.upload("/api/classify", {}, b"\xff\xd8" + bytes(10 * 1024 * 1024 + 1))
    assert answer.status == 400 and "10 MB" in answer.json()["error"]


def test_classify_an_unreachable_url_answers_400_naming_it(taught):
    url = f"http://127.0.0.1:{free_port()}/photo.jpg"
    answer = taught.api.post("/api/classify", {"url": url})
    assert answer.status == 400 and url in answer.json()["error"] and answer.json()["success"] is False


def test_classify_a_url_that_is_not_http_answers_400(taught):
    answer = taught.api.post("/api/classify", {"url": "file:///etc/passwd"})
    assert answer.status == 400 and "http://" in answer.json()["error"]


def test_classify_without_an_image_answers_400(taught):
    answer = taught.api.post("/api/classify", {})
    assert answer.status == 400 and "base64" in answer.json()["error"]


def test_classify_before_any_model_answers_404(tmp_path):
    with teach_server(tmp_path / "images", tmp_path / "models") as api:
        answer = api.upload("/api/classify", {}, photo("red", 1))
        assert answer.status == 404 and answer.json()["success"] is False
        assert "no model" in answer.json()["error"]


# --- the state zip -------------------------------------------------------------------------

def test_state_export_then_import_into_an_empty_server_gives_the_same_dataset_and_predictions(taught, tmp_path):
    exported = taught.api.get("/api/state", headers={"Accept": "application/zip"})
    assert exported.status == 200 and exported.headers["Content-Type"] == "application/zip"
    probe = photo("blue", 77)
    before = taught.api.upload("/api/classify", {}, probe).json()
    with teach_server(tmp_path / "images", tmp_path / "models") as empty:
        imported = empty.call("POST", "/api/state", data=exported.body, headers={"Content-Type": "application/zip"})
        assert imported.status == 200, imported.body
        assert imported.json()["examples_added"] == 9
        assert empty.get("/api/examples").json()["dataset"] == taught.api.get("/api/examples").json()["dataset"]
        assert empty.upload("/api/classify", {}, probe).json() == before
        assert empty.get("/api/models").json()["deployed"] == taught.store.deployed()


def test_state_import_as_a_form_upload_works_too(taught, tmp_path):
    exported = taught.api.get("/api/state").body
    with teach_server(tmp_path / "images", tmp_path / "models") as empty:
        answer = empty.upload("/api/state", {}, exported, "state.zip", "application/zip")
        assert answer.status == 200 and answer.json()["dataset"]["classes"] == {"blue": 3, "green": 3, "red": 3}


def test_importing_the_same_state_again_changes_nothing(taught):
    exported = taught.api.get("/api/state").body
    version = taught.api.get("/api/examples").json()["dataset"]["version"]
    answer = taught.api.call("POST", "/api/state", data=exported, headers={"Content-Type": "application/zip"})
    assert answer.status == 200 and answer.json()["examples_added"] == 0
    assert answer.json()["models_added"] == [] and answer.json()["dataset"]["version"] == version


# --- capture from a real edge --------------------------------------------------------------

@pytest.fixture
def edge(taught, tmp_path):
    """``socksort edge`` on the trained model, looping over one photo."""
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "only.jpg").write_bytes(photo("green", 50))
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "socksort", "edge", "--model",
                                str(taught.store.get(taught.job["model"]).folder), "--source", str(frames),
                                "--loop", "yes", "--fps", "5", "--mqtt-url", "none", "--http", f"127.0.0.1:{port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for_port("127.0.0.1", port, timeout=120), "the edge did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_capture_stores_a_frame_then_skips_the_same_view(taught, edge):
    first = taught.api.post("/api/examples/capture", {"label": "edge-view", "edge_url": edge})
    assert first.status == 201, first.body
    assert first.json()["label"] == "edge-view" and first.json()["skipped"] is False
    again = taught.api.post("/api/examples/capture", {"label": "edge-view", "edge_url": edge})
    assert again.status == 200 and again.json()["skipped"] is True
    assert again.json()["duplicate_of"] == first.json()["id"]
    assert taught.api.get("/api/examples").json()["dataset"]["classes"]["edge-view"] == 1
    taught.api.call("DELETE", "/api/labels/edge-view")


# --- auto-train ----------------------------------------------------------------------------

def test_auto_train_trains_quick_once_uploads_pause_and_does_not_deploy(tmp_path):
    with teach_server(tmp_path / "images", tmp_path / "models", auto_train=True) as api:
        teach_colours(api, per_class=2, colours=("red", "blue"))
        version = api.get("/api/examples").json()["dataset"]["version"]
        deadline = time.monotonic() + 120
        jobs = []
        while not jobs and time.monotonic() < deadline:
            jobs = api.get("/api/train").json()["jobs"]
            time.sleep(0.5)
        assert len(jobs) == 1 and jobs[0]["mode"] == "quick"
        job = wait_job(api, jobs[0]["job"])
        assert job["state"] == "done" and job["dataset_version"] == version
        assert ModelStore(tmp_path / "models").get(job["model"]).card.dataset_version == version
        assert api.get("/api/models").json()["deployed"] is None


def test_a_training_that_fails_reports_failed_with_the_commands_one_line_error(tmp_path):
    (tmp_path / "models").write_text("a file where the model store should be\n")
    with teach_server(tmp_path / "images", tmp_path / "models") as api:
        teach_colours(api, per_class=2, colours=("red", "blue"))
        job = wait_job(api, api.post("/api/train", {"mode": "quick"}).json()["job"])
        assert job["state"] == "failed" and job["model"] is None
        assert job["error"] and "\n" not in job["error"] and not job["error"].startswith("socksort: error:")


def test_an_event_stream_resumed_with_last_event_id_gets_only_what_came_after(taught):
    total = taught.api.get(f"/api/train/{taught.job['job']}").json()["events"]
    request = urllib.request.Request(f"{taught.api.base}/api/train/{taught.job['job']}/events",
                                     headers={"Last-Event-ID": str(total - 2)})
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read().decode()
    ids = [int(line[4:]) for line in text.splitlines() if line.startswith("id: ")]
    kinds = [line[7:] for line in text.splitlines() if line.startswith("event: ")]
    assert ids == [total - 1, total] and kinds == ["done", "end"]
