"""The match service (``edge_lambda/match_service.py``) and its client (``match_client.py``):
showings of several cameras matched with each other, numbered once, kept for corrections."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from edge_album import jpeg, post
from edge_fixtures import get

from socksort.config import HostPort
from socksort.edge_lambda import match_client
from socksort.edge_lambda.match_client import RemotePool
from socksort.edge_lambda.match_service import Decide, MatchService, MatchServiceServer
from socksort.edge_lambda.showings import Threshold
from socksort.net import free_port

RED, BLUE, GREEN = np.eye(3)


def asked(device: str, look, model: str = "m1", crops=()) -> Decide:
    return Decide(device, model, np.asarray(look, dtype=np.float64), tuple(crops), 0)


@pytest.fixture
def service() -> MatchService:
    return MatchService(Threshold(fixed=0.9))


@pytest.fixture
def server(service):
    running = MatchServiceServer(HostPort("127.0.0.1", free_port()), service).start()
    yield running
    running.stop()


def test_a_sock_shown_to_one_camera_pairs_with_its_twin_shown_to_another(service):
    first = service.decide(asked("left", RED))
    second = service.decide(asked("right", RED))
    assert (first.label, second.label) == ("sock-1", "sock-1")
    assert (first.partner, second.partner) == (second.number, first.number)


def test_socks_are_numbered_once_for_every_camera(service):
    labels = [service.decide(asked(device, look)).label for device, look in (("left", RED), ("right", BLUE))]
    assert labels == ["sock-1", "sock-2"]


def test_looks_of_different_models_are_never_compared(service):
    service.decide(asked("left", RED, model="m1"))
    assert service.decide(asked("right", RED, model="m2")).label == "sock-2"
    assert service.pools == 2


def test_a_look_of_another_size_than_its_models_is_refused(service):
    service.decide(asked("left", RED))
    with pytest.raises(ValueError, match="the look has 2 values; model 'm1'"):
        service.decide(asked("right", [1.0, 0.0]))


def test_the_album_keeps_which_camera_saw_each_showing(service):
    service.decide(asked("left", RED, crops=[b"a"]))
    service.decide(asked("right", RED, crops=[b"b"]))
    assert [(e.device, e.label, e.crops) for e in service.album.entries()] == [
        ("left", "sock-1", 1), ("right", "sock-1", 1)]


@pytest.mark.parametrize("body, message", [
    (b"[]", "the body must be a JSON object"),
    ({"device": "left", "model": "m1", "look": []}, '"look" must be a list of 1 to'),
    ({"device": "left", "model": "m1", "look": [0, 0]}, '"look" is all zeros'),
    ({"device": "left", "model": "m1", "look": [1, "x"]}, '"look" must be a list of 1 to'),
    ({"device": "", "model": "m1", "look": [1]}, '"device" must be a non-empty string'),
    ({"device": "left", "model": "m1", "look": [1], "crops": ["***"]}, "is not valid base64"),
])
def test_a_bad_decide_is_400_naming_what_is_wrong(server, body, message):
    status, answer = post(server.url + "/decide", body)
    assert status == 400 and message in answer["error"]


def test_decide_over_http_answers_the_label_and_keeps_the_crops(server):
    crop = jpeg(90)
    body = {"device": "left", "model": "m1", "look": [3, 0, 0], "crops": [base64.b64encode(crop).decode()],
            "started_ms": 1234}
    assert post(server.url + "/decide", body) == (200, {"id": 1, "label": "sock-1", "partner": None})
    listed = json.loads(get(server.url + "/showings.json")[1])
    assert listed["showings"] == [{"id": 1, "label": "sock-1", "partner": None, "started_ms": 1234, "crops": 1,
                                   "device": "left"}]
    assert get(server.url + "/showings/1/0.jpg") == (200, crop)


def test_a_pair_across_cameras_can_be_split_at_the_service(server, service):
    service.decide(asked("left", RED))
    service.decide(asked("right", RED))
    assert post(server.url + "/showings/split", {"label": "sock-1"}) == (
        200, {"label": "sock-1", "new_label": "sock-2", "showing": 2})


def test_the_client_takes_the_services_label(server):
    pool = RemotePool(server.url, "left", "m1", crops=lambda samples: [jpeg(s) for s in samples])
    other = RemotePool(server.url, "right", "m1", crops=lambda samples: [])
    assert pool.decide(RED, [10, 20], 0).label == "sock-1"
    assert other.decide(RED, [], 0).label == "sock-1"
    assert pool.fallbacks == other.fallbacks == 0
    assert [e.crops for e in server.service.album.entries()] == [2, 0]


def test_without_the_service_the_camera_decides_with_labels_of_its_own(monkeypatch):
    logged: list[str] = []
    pool = RemotePool(f"http://127.0.0.1:{free_port()}", "left", "m1", crops=lambda samples: [],
                      threshold=Threshold(fixed=0.9), log=logged.append)
    labels = [pool.decide(look, [], 0).label for look in (RED, RED, BLUE)]
    assert labels == ["sock-left-1", "sock-left-1", "sock-left-2"]
    assert pool.fallbacks == 3
    assert len(logged) == 1 and "did not decide a showing" in logged[0]   # then quiet until RETRY_AFTER


def test_after_a_failure_the_service_is_asked_again_once_the_pause_is_over(server, monkeypatch):
    monkeypatch.setattr(match_client, "RETRY_AFTER", 0.0)
    pool = RemotePool(server.url, "left", "m1", crops=lambda samples: [])
    server_url, pool.url = pool.url, f"http://127.0.0.1:{free_port()}"
    assert pool.decide(RED, [], 0).label == "sock-left-1"
    pool.url = server_url
    assert pool.decide(BLUE, [], 0).label == "sock-1"


def test_the_command_serves_until_sigterm_and_then_says_what_it_decided(tmp_path):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "socksort", "match-service", "--listen", f"127.0.0.1:{port}",
                                "--state", str(tmp_path / "state.json"), "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                status, body = get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        assert status == 200 and json.loads(body) == {"status": "ok", "showings": 0, "pools": 0}
        assert post(f"http://127.0.0.1:{port}/decide", {"device": "left", "model": "m1", "look": [1, 0]})[0] == 200
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert json.loads(out) == {"showings": 1, "pools": 1, "pairs": 0}
    assert json.loads((tmp_path / "state.json").read_text()) == {"next_sock": 2}
