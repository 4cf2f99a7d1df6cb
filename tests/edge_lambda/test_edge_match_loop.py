"""``--match`` in the edge loop, on frames made here (a dark room, a white card held up): with
the small colour model (no Blank class, so the empty scene is learned), across a model swap,
and with a model that has a Blank class."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from edge_fixtures import build_colour_model

from socksort.edge_lambda.loop import EdgeConfig, EdgeLoop
from socksort.edge_lambda.sources import Source

EMPTY, CARD = "empty", "card"
# 1.5 s of empty room (the first second teaches it), a showing, a gap, a second showing, a gap.
SCRIPT = [EMPTY] * 15 + [CARD] * 20 + [EMPTY] * 10 + [CARD] * 20 + [EMPTY] * 10
FIRST, SECOND = range(15, 35), range(45, 65)
SWAP_AT = 25   # read while the model works a few frames behind: both sessions see several card frames


def frame(kind: str, room=(40, 40, 40), card=(235, 235, 235)) -> np.ndarray:
    image = np.full((64, 96, 3), room, np.uint8)
    if kind == CARD:
        image[8:56, 20:76] = card
    return image


class Scripted(Source):
    """SCRIPT's frames at 10 FPS; ``on_frame(i)`` is called as frame ``i`` is read."""

    recording = True
    fps = 10.0

    def __init__(self, on_frame=lambda i: None, draw=frame, script=SCRIPT):
        self.position = 0
        self.on_frame = on_frame
        self.draw = draw
        self.script = script

    def read(self):
        if self.position >= len(self.script):
            return None
        self.on_frame(self.position)
        self.position += 1
        return self.draw(self.script[self.position - 1])


class Kept:
    """A publisher that keeps every payload."""

    name, state, pending, dropped, errors, last_error, log = "kept", "up", 0, 0, 0, "", None

    def __init__(self):
        self.payloads: list[dict] = []

    @property
    def published(self) -> int:
        return len(self.payloads)

    def publish(self, payload: bytes, captured=None) -> None:
        self.payloads.append(json.loads(payload))

    def start(self):
        return self

    def stop(self, flush_timeout=0):
        pass


def scripted_edge(colour_model, swap_at: int | None = None, draw=frame, script=SCRIPT,
                  **config) -> tuple[EdgeLoop, Kept]:
    """The edge run over ``script``, stopped: the loop (its album) and what it published."""
    kept = Kept()

    def on_frame(i: int) -> None:
        if i == swap_at:
            edge._use(edge._load_model(colour_model))   # as the store follower hands a new model over

    config = EdgeConfig(model=colour_model, source="scripted", unthrottled=True, match=True, greengrass=False,
                        **config)
    edge = EdgeLoop(config, publishers=[kept], source=Scripted(on_frame, draw, script), log=lambda text: None)
    edge.start()
    try:
        edge.run()
    finally:
        edge.stop(0)
    return edge, kept


def run_script(colour_model, swap_at: int | None = None, draw=frame) -> list[dict]:
    _, kept = scripted_edge(colour_model, swap_at, draw)
    return sorted(kept.payloads, key=lambda p: p["seq"])


def labels_of(payloads, frames: range) -> set[str]:
    return {p["image"] for p in payloads[frames.start:frames.stop]}


def test_two_showings_of_one_card_share_a_label(colour_model):
    payloads = run_script(colour_model)
    assert labels_of(payloads, FIRST) == labels_of(payloads, SECOND) == {"sock-1"}
    empty = [p["image"] for p in payloads if p["seq"] not in FIRST and p["seq"] not in SECOND]
    assert set(empty) == {"Blank"}


def test_the_album_keeps_crops_of_the_card_from_both_showings(colour_model):
    edge, _ = scripted_edge(colour_model)
    entries = edge.album.entries()
    assert [(e.label, e.crops > 0) for e in entries] == [("sock-1", True), ("sock-1", True)]
    crop = cv2.imdecode(np.frombuffer(edge.album.crop(entries[1].number, 0), np.uint8), cv2.IMREAD_COLOR)
    # The crop is the card and a margin of room, not the whole frame.
    assert crop.shape[0] < 64 and crop.shape[1] < 96 and crop.mean() > 180


def test_the_album_keeps_both_sessions_showings_across_a_model_swap(colour_model):
    edge, _ = scripted_edge(colour_model, swap_at=SWAP_AT)
    assert [(e.number, e.label) for e in edge.album.entries()] == [(1, "sock-1"), (2, "sock-2"), (3, "sock-2")]


def test_a_model_swap_mid_showing_publishes_every_held_frame(colour_model):
    payloads = run_script(colour_model, swap_at=SWAP_AT)
    assert [p["seq"] for p in payloads] == list(range(len(SCRIPT)))
    assert "Blank" not in labels_of(payloads, FIRST)


def test_labels_after_a_model_swap_go_on_from_the_earlier_sessions(colour_model):
    payloads = run_script(colour_model, swap_at=SWAP_AT)
    # The swap lands a few frames before SWAP_AT reaches the model (capture reads ahead): the
    # showing's start is the old session's sock-1, its end the new session's first sock.
    assert payloads[FIRST[0]]["image"] == "sock-1"
    assert payloads[FIRST[-1]]["image"] == "sock-2"
    assert labels_of(payloads, SECOND) == {"sock-2"}


@pytest.fixture(scope="module")
def blank_class_model(tmp_path_factory) -> Path:
    """The colour model with classes red, green and Blank: a blue room is Blank."""
    return build_colour_model(tmp_path_factory.mktemp("blank-model") / "colour", classes=("red", "green", "Blank"))


def blue_room_red_card(kind: str) -> np.ndarray:
    """A blue room, and a red card held close: it fills the frame, as the model needs to see it."""
    return np.full((64, 96, 3), (0, 0, 230) if kind == CARD else (230, 0, 0), np.uint8)


def test_with_a_blank_class_the_model_says_when_a_sock_is_in_view(blank_class_model):
    payloads = run_script(blank_class_model, draw=blue_room_red_card)
    assert labels_of(payloads, FIRST) == labels_of(payloads, SECOND) == {"sock-1"}
    # No second of learning: the model knows the empty room from the first frame.
    assert [p["image"] for p in payloads[:FIRST.start]] == ["Blank"] * FIRST.start


def test_with_a_blank_class_a_frames_probability_is_how_sure_the_model_is_of_its_label(blank_class_model):
    payloads = run_script(blank_class_model, draw=blue_room_red_card)
    empty, held = payloads[0], payloads[FIRST.start + 5]
    assert 50 < empty["probability"] < 100 and empty["top"] == [{"label": "Blank", "probability": empty["probability"]}]
    assert 50 < held["probability"] < 100


ONE_SHOWING = SCRIPT[:45]   # the empty room, the card once, a gap
RED_CARD = "red card"
# Another camera: a red card, then the white card the first camera saw.
RED_THEN_WHITE = [EMPTY] * 15 + [RED_CARD] * 20 + [EMPTY] * 10 + [CARD] * 20 + [EMPTY] * 10


def white_or_red_card(kind: str) -> np.ndarray:
    return frame(CARD, card=(30, 30, 220)) if kind == RED_CARD else frame(kind)


def labels_in_order(kept: Kept) -> list[str]:
    """The labels of its showings, in order (Blank left out)."""
    images = [p["image"] for p in sorted(kept.payloads, key=lambda p: p["seq"])]
    return [x for i, x in enumerate(images) if x != "Blank" and (i == 0 or images[i - 1] != x)]


def test_with_a_match_service_a_card_seen_by_two_cameras_gets_one_label(colour_model):
    from socksort.config import HostPort
    from socksort.edge_lambda.match_service import MatchService, MatchServiceServer
    from socksort.edge_lambda.showings import Threshold
    from socksort.net import free_port

    # A fixed threshold: with two showings so unlike (white and red cards, similarity -0.33) the
    # calibrated one, mean + 2 sigma of what the pool has seen, would rise above 1.
    service = MatchServiceServer(HostPort("127.0.0.1", free_port()), MatchService(Threshold(fixed=0.9))).start()
    try:
        _, left = scripted_edge(colour_model, script=ONE_SHOWING, device="left", match_service=service.url)
        _, right = scripted_edge(colour_model, script=RED_THEN_WHITE, draw=white_or_red_card, device="right",
                                 match_service=service.url)
        assert labels_in_order(left) == ["sock-1"]
        assert labels_in_order(right) == ["sock-2", "sock-1"]   # the red card is new; the white one is left's
        assert [(e.device, e.label) for e in service.service.album.entries()] == [
            ("left", "sock-1"), ("right", "sock-2"), ("right", "sock-1")]
    finally:
        service.stop()


def test_when_the_match_service_is_away_a_camera_labels_its_socks_with_its_own_name(colour_model):
    from socksort.net import free_port

    _, kept = scripted_edge(colour_model, device="left", match_service=f"http://127.0.0.1:{free_port()}")
    assert labels_in_order(kept) == ["sock-left-1", "sock-left-1"]
