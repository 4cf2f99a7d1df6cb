"""ksql/pipeline.ksql on the embedded engine: showings and pairs from the camera's frames."""

from __future__ import annotations

import pytest

from socksort.ksql.accuracy import PIPELINE_SQL, pipeline_pairs, run_pipeline
from socksort.ksql.seed_method import seed_pairs
from socksort.ksql.rows import PairRow
from socksort.ksql.simulate import SessionSpec, sessions
from socksort.schema import Prediction

T0 = 1_732_186_800_000


class Camera:
    """Builds a frame sequence the way a camera publishes it: one frame every 1/fps s."""

    def __init__(self, fps: float, device: str = "deeplens-1", start: int = T0):
        self.interval = 1000 / fps
        self.device = device
        self.t = float(start)
        self.frames: list[Prediction] = []

    def show(self, image: str, seconds: float, probability: float = 92.0) -> "Camera":
        return self.frames_of(image, round(seconds * 1000 / self.interval), probability)

    def frames_of(self, image: str, count: int, probability: float) -> "Camera":
        for _ in range(count):
            self.frames.append(Prediction(image=image, probability=probability, ts=round(self.t),
                                          device=self.device, seq=len(self.frames)))
            self.t += self.interval
        return self

    def blank(self, seconds: float) -> "Camera":
        return self.show("Blank", seconds, 95.0)


def pairs(**counts: int) -> dict[str, PairRow]:
    return {image: PairRow(image, "Pair" if k % 2 == 0 else "Un-matched", k)
            for image, k in sorted(counts.items())}


def test_every_statement_is_a_source_or_a_persistent_query():
    from socksort.ksql.engine import Engine

    kinds = {result.kind for result in Engine().execute(PIPELINE_SQL.read_text())}
    assert kinds == {"source_created", "query_created"}


def test_one_sock_held_eight_seconds_at_30_fps_is_one_sock():
    frames = Camera(30).blank(2).show("Mongo", 8).blank(2).frames
    assert pipeline_pairs(frames) == pairs(Mongo=1)


def test_one_second_hold_at_4_fps_counts():
    frames = Camera(4).blank(2).show("Mongo", 1).blank(2).frames
    assert pipeline_pairs(frames) == pairs(Mongo=1)


def test_ghost_bursts_inside_a_showing_do_not_create_socks():
    camera = Camera(30).blank(2).show("Mongo", 2)
    for _ in range(3):
        camera.frames_of("Kafka", 5, 65.0).show("Mongo", 1)
    frames = camera.frames_of("Kafka", 1, 79.0).show("Mongo", 1).blank(2).frames
    assert pipeline_pairs(frames) == pairs(Mongo=1)


def test_a_ghost_burst_at_4_fps_does_not_split_a_showing():
    frames = (Camera(4).blank(2).show("Mongo", 2).frames_of("Kafka", 5, 60.0)
              .show("Mongo", 2).blank(2).frames)
    assert pipeline_pairs(frames) == pairs(Mongo=1)


def test_a_showing_led_by_ghosts_at_first_ends_up_counted_for_the_held_design():
    frames = (Camera(4).blank(2).frames_of("Kafka", 3, 78.0).show("Mongo", 2)
              .blank(2).frames)
    assert pipeline_pairs(frames) == pairs(Mongo=1)


def test_the_same_design_shown_twice_with_blank_wall_between_is_a_pair():
    frames = Camera(30).blank(1).show("Mongo", 3).blank(1).show("Mongo", 3).blank(1).frames
    assert pipeline_pairs(frames) == pairs(Mongo=2)


def test_designs_shown_an_odd_number_of_times_are_unmatched():
    frames = (Camera(4).blank(1).show("Mongo", 2).blank(1.5).show("Streamset", 2).blank(1.5)
              .show("Mongo", 2).blank(1).frames)
    assert pipeline_pairs(frames) == pairs(Mongo=2, Streamset=1)


def test_blank_wall_alone_gives_no_rows():
    assert pipeline_pairs(Camera(30).blank(5).frames) == {}


def test_a_misread_frame_on_the_blank_wall_is_not_a_sock():
    frames = Camera(30).blank(2).frames_of("Kafka", 1, 75.0).blank(2).show("Mongo", 2).blank(1).frames
    assert pipeline_pairs(frames) == pairs(Mongo=1)


def test_a_showing_never_read_with_confidence_is_not_counted():
    frames = Camera(4).blank(1).frames_of("Mongo", 8, 55.0).blank(2).frames
    assert pipeline_pairs(frames) == {}


def test_showings_from_two_cameras_are_kept_apart():
    left = Camera(4, device="left").blank(1).show("Mongo", 3).blank(1).frames
    right = Camera(4, device="right", start=T0 + 125).blank(1).show("Kafka", 3).blank(1).frames
    interleaved = sorted(left + right, key=lambda f: f.ts)
    assert pipeline_pairs(interleaved) == pairs(Mongo=1, Kafka=1)


def test_showings_table_gives_each_showing_its_design_span_and_frame_count():
    camera = Camera(4).blank(1)
    first = len(camera.frames)
    camera.show("Mongo", 2).frames_of("Kafka", 1, 60.0)
    last = len(camera.frames) - 1
    frames = camera.blank(2).frames
    [showing] = run_pipeline(frames).showings
    assert (showing.device, showing.image) == ("deeplens-1", "Mongo")
    assert (showing.start, showing.end) == (frames[first].ts, frames[last].ts)
    assert showing.frames == last - first + 1


def test_simulated_sessions_at_30_fps_are_exactly_right():
    for session in sessions(3, SessionSpec(fps=30)):
        assert pipeline_pairs(session.frames) == session.pairs, f"seed {session.seed}"


def test_simulated_sessions_at_4_fps_are_nearly_all_exactly_right():
    batch = sessions(12, SessionSpec(fps=4))
    right = sum(pipeline_pairs(s.frames) == s.pairs for s in batch)
    assert right >= 11


def test_the_seeds_method_counts_an_eight_second_hold_as_two_socks():
    frames = Camera(30, start=T0 + 1000).show("Mongo", 8).blank(2).frames
    assert seed_pairs(frames) == pairs(Mongo=2)


def test_the_seeds_method_counts_four_ghost_frames_as_a_sock():
    camera = Camera(30, start=T0 + 1000).show("Mongo", 1.5)
    for _ in range(4):
        camera.frames_of("Kafka", 1, 60.0).show("Mongo", 0.5)
    assert seed_pairs(camera.blank(1).frames) == pairs(Mongo=1, Kafka=1)


@pytest.mark.parametrize("fps", [30, 4])
def test_the_pipeline_beats_the_seeds_method_on_simulated_sessions(fps):
    batch = sessions(3, SessionSpec(fps=fps))
    new = sum(pipeline_pairs(s.frames) == s.pairs for s in batch)
    old = sum(seed_pairs(s.frames) == s.pairs for s in batch)
    assert new > old
