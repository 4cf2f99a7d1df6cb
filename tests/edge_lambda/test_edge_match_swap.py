"""``--match`` across a model swap: the edge loop with the small colour model (no Blank class,
so the empty scene is learned) on frames made here: a dark room, and a white card held up."""

from __future__ import annotations

import json

import numpy as np

from socksort.edge_lambda.loop import EdgeConfig, run_edge
from socksort.edge_lambda.sources import Source

EMPTY, CARD = "empty", "card"
# 1.5 s of empty room (the first second teaches it), a showing, a gap, a second showing, a gap.
SCRIPT = [EMPTY] * 15 + [CARD] * 20 + [EMPTY] * 10 + [CARD] * 20 + [EMPTY] * 10
FIRST, SECOND = range(15, 35), range(45, 65)
SWAP_AT = 25   # read while the model works a few frames behind: both sessions see several card frames


def frame(kind: str) -> np.ndarray:
    image = np.full((64, 96, 3), 40, np.uint8)
    if kind == CARD:
        image[16:48, 30:66] = 235
    return image


class Scripted(Source):
    """SCRIPT's frames at 10 FPS; ``on_frame(i)`` is called as frame ``i`` is read."""

    recording = True
    fps = 10.0

    def __init__(self, on_frame=lambda i: None):
        self.position = 0
        self.on_frame = on_frame

    def read(self):
        if self.position >= len(SCRIPT):
            return None
        self.on_frame(self.position)
        self.position += 1
        return frame(SCRIPT[self.position - 1])


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


def run_script(colour_model, swap_at: int | None = None) -> list[dict]:
    kept, edges = Kept(), []

    def on_frame(i: int) -> None:
        if i == swap_at:
            edge = edges[0]
            edge._use(edge._load_model(colour_model))   # as the store follower hands a new model over

    source = Scripted(on_frame)

    def start(config):
        from socksort.edge_lambda.loop import EdgeLoop
        edge = EdgeLoop(config, publishers=[kept], source=source, log=lambda text: None)
        edges.append(edge)
        return edge

    config = EdgeConfig(model=colour_model, source="scripted", unthrottled=True, match=True, greengrass=False)
    edge = start(config)
    edge.start()
    try:
        edge.run()
    finally:
        edge.stop(0)
    return sorted(kept.payloads, key=lambda p: p["seq"])


def labels_of(payloads, frames: range) -> set[str]:
    return {p["image"] for p in payloads[frames.start:frames.stop]}


def test_two_showings_of_one_card_share_a_label(colour_model):
    payloads = run_script(colour_model)
    assert labels_of(payloads, FIRST) == labels_of(payloads, SECOND) == {"sock-1"}
    empty = [p["image"] for p in payloads if p["seq"] not in FIRST and p["seq"] not in SECOND]
    assert set(empty) == {"Blank"}


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
