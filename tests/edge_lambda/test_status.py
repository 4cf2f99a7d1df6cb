"""The edge's status snapshot: the /status.json shape the page and scripts read, and what
counts as a problem (/healthz answers 503 for those)."""

from socksort.edge_lambda.status import CameraStatus, EdgeStatus, OutputStatus
from socksort.schema import Guess, Prediction


def snapshot(camera_state="live", camera_error="", output_state="connected", output_error=""):
    camera = CameraStatus(state=camera_state, source="0", frames=120, dropped=3, reopens=1, error=camera_error,
                          up=camera_state in ("starting", "live"))
    output = OutputStatus(name="mqtt", state=output_state, published=100, pending=2, dropped=0, errors=1,
                          error=output_error)
    return EdgeStatus(device="cam-1", backbone="efficientnet_lite0", runtime="onnx", camera=camera,
                      fps=14.23456, uptime_seconds=61.27, classified=102,
                      latest=Prediction("argyle", 97.5, 1700000000000, "cam-1", 101,
                                        (Guess("argyle", 97.5), Guess("plain", 2.5))),
                      outputs=(output,))


def test_status_json_has_the_shape_the_page_reads():
    assert snapshot().to_dict() == {
        "status": "ok",
        "problems": [],
        "device": "cam-1",
        "model": {"id": None, "folder": "", "backbone": "efficientnet_lite0", "runtime": "onnx", "classes": [],
                  "store": "", "error": "", "waiting": "", "loading": None},
        "camera": {"state": "live", "source": "0", "frames": 120, "dropped": 3, "reopens": 1, "error": ""},
        "fps": 14.23,
        "uptime_seconds": 61.3,
        "classified": 102,
        "latest": {"image": "argyle", "probability": 97.5, "ts": 1700000000000, "device": "cam-1", "seq": 101,
                   "top": [{"label": "argyle", "probability": 97.5}, {"label": "plain", "probability": 2.5}]},
        "outputs": [{"name": "mqtt", "state": "connected", "published": 100, "pending": 2, "dropped": 0,
                     "errors": 1, "error": ""}],
    }


def test_a_lost_camera_and_an_output_that_cannot_deliver_are_problems():
    status = snapshot(camera_state="lost", camera_error="no frame for 5 s",
                      output_state="offline", output_error="cannot reach the broker")
    assert not status.ok
    assert status.problems == ["camera lost: no frame for 5 s", "mqtt offline: cannot reach the broker"]
    assert status.to_dict()["status"] == "degraded"


def test_a_camera_or_output_still_starting_is_no_problem():
    status = snapshot(camera_state="starting", output_state="starting")
    assert status.ok and status.problems == []
