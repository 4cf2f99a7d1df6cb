"""``socksort edge --match`` end to end: a rendered show, the real ImageNet backbone (no sock
trained), the real command, its predictions through the real Mosquitto.

The show (designs seed 2017, show seed 3, 10 FPS) holds up grey-stripes twice back to back,
then navy-chevrons, then grey-emblem: a pair, and a sock of the pair's base colour with
another pattern.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from edge_fixtures import Subscriber

from socksort.net import free_port
from socksort.schema import Prediction

pytestmark = pytest.mark.broker


def socksort(*args, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "socksort", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def show(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("match-show")
    made = socksort("synth", "dataset", "--out", folder / "designs", "--classes", 4, "--per-class", 1, "--seed", 3)
    assert made.returncode == 0, made.stderr
    made = socksort("synth", "show", "--out", folder / "show.avi", "--truth", folder / "truth.json",
                    "--classes-from", folder / "designs", "--seed", 3, "--fps", 10, "--seconds", 25,
                    "--size", "320x240")
    assert made.returncode == 0, made.stderr
    return folder


@pytest.fixture(scope="module")
def truth(show) -> dict:
    return json.loads((show / "truth.json").read_text())


@pytest.fixture(scope="module")
def edge_run(show, truth, efficientnet, tmp_path_factory) -> tuple[list[Prediction], dict]:
    """Every prediction ``socksort edge --match`` published for the show, in frame order, and
    the final status it printed."""
    from socksort.stack.mosquitto import Mosquitto

    broker = Mosquitto(tmp_path_factory.mktemp("match-mosquitto"), port=free_port())
    broker.die_with_parent = True
    broker.start()
    try:
        subscriber = Subscriber(broker.url, "sockfound", client_id="match-test")
        state = tmp_path_factory.mktemp("match-state") / "match-cam.json"
        ran = socksort("edge", "--model", efficientnet, "--source", show / "show.avi", "--unthrottled",
                       "--match", "--mqtt-url", broker.url, "--device", "match-cam", "--json",
                       "--match-state", state)
        assert ran.returncode == 0, ran.stderr
        payloads = subscriber.wait_for(truth["frames"], timeout=30)
        subscriber.close()
    finally:
        broker.stop()
    predictions = sorted((Prediction.from_json(p) for p in payloads), key=lambda p: p.seq)
    assert [p.seq for p in predictions] == list(range(truth["frames"]))
    return predictions, json.loads(ran.stdout), json.loads(state.read_text())


@pytest.fixture(scope="module")
def published(edge_run) -> list[Prediction]:
    return edge_run[0]


def held_labels(published, showing) -> set[str]:
    return {p.image for p in published[showing["held_start_frame"]:showing["held_end_frame"]]}


def test_the_show_is_the_one_this_module_describes(truth):
    assert [s["design"] for s in truth["showings"]] == ["grey-stripes", "grey-stripes", "navy-chevrons",
                                                        "grey-emblem"]


def test_every_frame_a_sock_is_held_up_in_carries_its_showings_one_label(published, truth):
    for showing in truth["showings"]:
        labels = held_labels(published, showing)
        assert len(labels) == 1 and labels.pop().startswith("sock-"), showing


def test_the_two_showings_of_a_pair_are_published_under_one_label(published, truth):
    first, second = truth["showings"][:2]
    assert held_labels(published, first) == held_labels(published, second)


def test_socks_unlike_every_earlier_one_get_labels_of_their_own(published, truth):
    labels = [held_labels(published, s).pop() for s in truth["showings"]]
    assert labels == ["sock-1", "sock-1", "sock-2", "sock-3"]


def test_frames_with_no_sock_in_view_are_published_as_blank(published, truth):
    in_view = set()
    for s in truth["showings"]:
        in_view.update(range(s["enter_frame"], s["leave_frame"]))
    empty = [p for p in published if p.seq not in in_view]
    assert empty and all(p.image == "Blank" for p in empty)


def test_each_frame_says_its_label_alone_in_its_top_list(published):
    assert all([(g.label, g.probability) for g in p.top] == [(p.image, p.probability)] for p in published)


def test_the_final_status_counts_the_sessions_showings_and_pairs(edge_run):
    assert edge_run[1]["match"] == {"showings": 4, "pairs": 1, "ghosts": 0, "holding": 0, "learning": False,
                                    "threshold": "calibrated"}


def test_the_next_sock_number_is_kept_for_a_restarted_edge(edge_run):
    assert edge_run[2] == {"next_sock": 4}   # sock-1 to sock-3 were given


def test_matching_on_the_mxnet_runtime_is_refused_in_one_line(efficientnet, show):
    ran = socksort("edge", "--model", efficientnet, "--source", show / "show.avi", "--runtime", "mxnet",
                   "--match", "--frames", 1)
    assert ran.returncode == 2
    assert ran.stderr.strip().splitlines()[-1].startswith("socksort: error: matching by look needs ONNX Runtime")
