"""ksql/pipeline.ksql on the embedded engine: showings and pairs from the camera's frames.

One behaviour per test, each a phenomenon real cameras show (ksql/PIPELINE.md names the rule
that handles it). Frames are built by hand with :class:`Camera`, exactly as the connector
writes them to ``data_mqtt``: the camera's JSON, the record time (the payload's ``ts``, or
the arrival time when there is none) and the record key (the MQTT topic).
"""

from __future__ import annotations

import pytest

from socksort.contract import DEFAULT_DEVICE, MQTT_TOPIC
from socksort.ksql.pipeline import PIPELINE_SQL
from socksort.ksql.pipeline.accuracy import pipeline_pairs, run_pipeline
from socksort.ksql.pipeline.rows import PairRow
from socksort.ksql.pipeline.seed_method import seed_pairs
from socksort.ksql.pipeline.simulate import Delivery, SessionSpec, sessions
from socksort.schema import Box, DetectedObject, Prediction

T0 = 1_732_186_800_000


class Camera:
    """Builds the records one camera's frames become: one frame every 1/fps s.

    ``payload="seed"`` sends only ``image`` and ``probability``, as the seed's DeepLens does;
    the record time is then the arrival time (a few ms after the frame).
    """

    def __init__(self, fps: float, device: str = "deeplens-1", start: int = T0,
                 payload: str = "ours", topic: str = MQTT_TOPIC):
        self.interval = 1000 / fps
        self.device = device
        self.t = float(start)
        self.payload = payload
        self.topic = topic
        self.seq = 0
        self.deliveries: list[Delivery] = []

    def show(self, image: str, seconds: float, probability: float = 92.0) -> "Camera":
        return self.frames_of(image, round(seconds * 1000 / self.interval), probability)

    def blank(self, seconds: float, probability: float = 95.0) -> "Camera":
        return self.show("Blank", seconds, probability)

    def frames_of(self, image: str, count: int, probability: float) -> "Camera":
        for _ in range(count):
            ts = round(self.t)
            if self.payload == "seed":
                prediction, record_time = Prediction(image=image, probability=probability), ts + 3
            else:
                prediction = Prediction(image=image, probability=probability, ts=ts,
                                        device=self.device, seq=self.seq)
                record_time = ts
            self.deliveries.append(Delivery(prediction, record_time, self.topic))
            self.seq += 1
            self.t += self.interval
        return self

    def objects(self, found: list, seconds: float) -> "Camera":
        """Frames of a camera that finds objects: ``found`` is [(label, probability)], most
        probable first; the message's image and probability are the first object, or
        ``Blank`` when nothing is found."""
        image, probability = found[0] if found else ("Blank", 90.0)
        boxes = tuple(DetectedObject(label, p, Box(20 + 220 * n, 40, 180, 300))
                      for n, (label, p) in enumerate(found))
        for _ in range(round(seconds * 1000 / self.interval)):
            ts = round(self.t)
            prediction = Prediction(image=image, probability=probability, ts=ts,
                                    device=self.device, seq=self.seq, objects=boxes)
            self.deliveries.append(Delivery(prediction, ts, self.topic))
            self.seq += 1
            self.t += self.interval
        return self

    def wall(self, seconds: float) -> "Camera":
        """The bare wall as a camera that finds objects sends it: nothing found."""
        return self.objects([], seconds)

    def lose(self, count: int) -> "Camera":
        """Frames the camera made that never arrived (a gap in ``seq``)."""
        self.seq += count
        self.t += count * self.interval
        return self

    def redeliver(self, frames_back: int) -> "Camera":
        """The frame ``frames_back`` frames ago arrives again now, as a QoS 1 redelivery does;
        without ``ts`` its record time is the new arrival."""
        original = self.deliveries[-frames_back]
        record_time = original.timestamp if self.payload == "ours" else round(self.t)
        self.deliveries.append(Delivery(original.prediction, record_time, self.topic))
        return self


def pairs(**counts: int) -> dict[str, PairRow]:
    return {image: PairRow(image, "Pair" if k % 2 == 0 else "Un-matched", k)
            for image, k in sorted(counts.items())}


def interleave(*cameras: Camera) -> list[Delivery]:
    return sorted((d for camera in cameras for d in camera.deliveries), key=lambda d: d.timestamp)


# --- the statements ----------------------------------------------------------------------

def test_every_statement_is_a_setting_a_source_or_a_persistent_query():
    from socksort.ksql.engine import Engine, PropertySet, QueryCreated, SourceCreated

    kinds = {type(result) for result in Engine().execute(PIPELINE_SQL.read_text())}
    assert kinds == {PropertySet, SourceCreated, QueryCreated}


def test_the_record_cache_is_switched_off_so_every_frame_reaches_the_next_step():
    from socksort.ksql.engine import Engine

    engine = Engine()
    engine.execute(PIPELINE_SQL.read_text())
    assert engine.properties.get("cache.max.bytes.buffering") == "0"


# --- showings ----------------------------------------------------------------------------

def test_one_sock_held_eight_seconds_at_30_fps_is_one_sock():
    camera = Camera(30).blank(2).show("Mongo", 8).blank(2)
    assert pipeline_pairs(camera.deliveries) == pairs(Mongo=1)


def test_one_second_hold_at_4_fps_counts():
    camera = Camera(4).blank(2).show("Mongo", 1).blank(2)
    assert pipeline_pairs(camera.deliveries) == pairs(Mongo=1)


def test_blank_wall_alone_gives_no_rows():
    assert pipeline_pairs(Camera(30).blank(5).deliveries) == {}


def test_a_wall_read_as_blank_at_low_probability_still_separates_showings():
    camera = (Camera(4).blank(1, 37.0).show("Mongo", 2).blank(1, 38.0).show("Mongo", 2)
              .blank(1, 41.0))
    assert pipeline_pairs(camera.deliveries) == pairs(Mongo=2)


def test_the_same_design_shown_twice_with_a_second_of_wall_between_is_a_pair():
    for fps in (4, 30):
        camera = Camera(fps).blank(1).show("Mongo", 3).blank(1).show("Mongo", 3).blank(1)
        assert pipeline_pairs(camera.deliveries) == pairs(Mongo=2), f"{fps} FPS"


def test_designs_shown_an_odd_number_of_times_are_unmatched():
    camera = (Camera(4).blank(1).show("Mongo", 2).blank(1.5).show("Streamset", 2).blank(1.5)
              .show("Mongo", 2).blank(1))
    assert pipeline_pairs(camera.deliveries) == pairs(Mongo=2, Streamset=1)


# --- ghosts inside a showing ---------------------------------------------------------------

def test_ghost_bursts_inside_a_showing_do_not_create_socks():
    camera = Camera(30).blank(2).show("Mongo", 2)
    for _ in range(3):
        camera.frames_of("Kafka", 5, 65.0).show("Mongo", 1)
    camera.frames_of("Kafka", 1, 79.0).show("Mongo", 1).blank(2)
    assert pipeline_pairs(camera.deliveries) == pairs(Mongo=1)


def test_a_ghost_burst_at_4_fps_as_long_as_the_shortest_wall_does_not_split_a_showing():
    camera = Camera(4).blank(2).show("Mongo", 2).frames_of("Kafka", 5, 60.0).show("Mongo", 2).blank(2)
    assert pipeline_pairs(camera.deliveries) == pairs(Mongo=1)


def test_a_showing_led_by_ghosts_at_first_ends_up_counted_for_the_held_design():
    camera = Camera(4).blank(2).frames_of("Kafka", 3, 78.0).show("Mongo", 2).blank(2)
    assert pipeline_pairs(camera.deliveries) == pairs(Mongo=1)


def test_a_showing_never_read_with_confidence_is_not_counted():
    camera = Camera(4).blank(1).frames_of("Mongo", 8, 55.0).blank(2)
    assert pipeline_pairs(camera.deliveries) == {}


def test_a_single_blank_frame_inside_a_showing_does_not_split_it():
    camera = Camera(30).blank(1).show("Mongo", 2).frames_of("Blank", 1, 60.0).show("Mongo", 2)
    camera.frames_of("Kafka", 2, 50.0).frames_of("Blank", 1, 45.0).show("Mongo", 2).blank(1)
    assert pipeline_pairs(camera.deliveries) == pairs(Mongo=1)


# --- ghosts on the wall and transitions ----------------------------------------------------

def test_a_misread_frame_on_the_wall_is_not_a_sock():
    camera = Camera(30).blank(2).frames_of("Kafka", 1, 70.0).blank(2).show("Mongo", 2).blank(1)
    assert pipeline_pairs(camera.deliveries) == pairs(Mongo=1)


def test_a_burst_of_wall_ghosts_between_two_showings_of_one_design_does_not_merge_them():
    for fps in (4, 30):
        camera = Camera(fps).blank(1).show("Mongo", 2).blank(0.5)
        camera.frames_of("Kafka", 2, 65.0).blank(0.5).show("Mongo", 2).blank(1)
        assert pipeline_pairs(camera.deliveries) == pairs(Mongo=2), f"{fps} FPS"


def test_a_wall_ghost_right_after_a_showing_does_not_merge_it_with_the_next():
    camera = Camera(4).blank(1).show("Mongo", 2).frames_of("Polka", 1, 68.0).blank(0.75)
    camera.show("Mongo", 2).blank(1)
    assert pipeline_pairs(camera.deliveries) == pairs(Mongo=2)


def test_blurred_frames_as_a_sock_comes_and_goes_do_not_merge_showings_a_second_apart():
    camera = Camera(4).blank(1)
    for _ in range(2):
        camera.frames_of("Argyle", 2, 74.0).show("Mongo", 2).frames_of("Polka", 3, 75.0).blank(1)
    assert pipeline_pairs(camera.deliveries) == pairs(Mongo=2)


def test_at_2_fps_one_wall_frame_a_second_after_the_sock_separates_showings():
    camera = Camera(2).blank(1).show("Mongo", 2).frames_of("Polka", 1, 74.0).blank(0.5).lose(1)
    camera.show("Mongo", 2).blank(1)
    assert pipeline_pairs(camera.deliveries) == pairs(Mongo=2)


# --- timing --------------------------------------------------------------------------------

def test_lost_frames_inside_a_showing_do_not_split_it():
    camera = Camera(4).blank(1).show("Mongo", 1).lose(3).show("Mongo", 1).blank(1)
    assert pipeline_pairs(camera.deliveries) == pairs(Mongo=1)


@pytest.mark.parametrize("fps", [4, 10, 30])
def test_simulated_sessions_with_every_phenomenon_are_exactly_right(fps):
    for session in sessions(2, SessionSpec(fps=fps)):
        assert pipeline_pairs(session.deliveries) == session.pairs, f"seed {session.seed}"


# --- the seed's payload --------------------------------------------------------------------

def test_the_seeds_payload_with_only_image_and_probability_is_counted():
    for fps in (4, 30):
        camera = (Camera(fps, payload="seed").blank(1).show("Mongo", 2).blank(1)
                  .show("Mongo", 2).blank(1).show("Kafka", 2).blank(1))
        assert pipeline_pairs(camera.deliveries) == pairs(Mongo=2, Kafka=1), f"{fps} FPS"


def test_a_camera_that_names_no_device_is_named_by_its_mqtt_topic():
    camera = Camera(4, payload="seed").blank(1).show("Mongo", 2).blank(1)
    [showing] = run_pipeline(camera.deliveries).showings
    assert showing.device == MQTT_TOPIC


def test_a_frame_with_no_device_and_no_key_comes_from_one_default_camera():
    camera = Camera(4, payload="seed", topic=None).blank(1).show("Mongo", 2).blank(1)
    [showing] = run_pipeline(camera.deliveries).showings
    assert showing.device == DEFAULT_DEVICE


def test_seed_cameras_on_topics_of_their_own_are_kept_apart():
    left = Camera(4, payload="seed", topic="sockfound/left").blank(1).show("Mongo", 3).blank(1)
    right = Camera(4, payload="seed", topic="sockfound/right", start=T0 + 125)
    right.blank(2).show("Mongo", 1).blank(2)
    assert pipeline_pairs(interleave(left, right)) == pairs(Mongo=2)


def test_payloads_with_ts_use_event_time_whatever_their_arrival_order_across_cameras():
    first = Camera(4, device="left").blank(1).show("Mongo", 2).blank(1)
    second = Camera(4, device="right").blank(1).show("Kafka", 2).blank(1)
    # One camera's whole session arrives after the other's (a replay, a reconnect).
    assert pipeline_pairs(first.deliveries + second.deliveries) == pairs(Mongo=1, Kafka=1)


# --- several cameras -----------------------------------------------------------------------

def test_showings_are_found_per_camera_and_pairs_count_across_cameras():
    left = Camera(4, device="left").blank(1).show("Mongo", 3).blank(1)
    right = Camera(4, device="right", start=T0 + 125).blank(1).show("Mongo", 3).blank(1)
    result = run_pipeline(interleave(left, right))
    assert result.pairs == pairs(Mongo=2)
    assert sorted(s.device for s in result.showings) == ["left", "right"]


def test_one_cameras_wall_does_not_end_another_cameras_showing():
    holding = Camera(30, device="holding").blank(1).show("Mongo", 6).blank(1)
    idle = Camera(30, device="idle", start=T0 + 10).blank(8)
    assert pipeline_pairs(interleave(holding, idle)) == pairs(Mongo=1)


# --- redelivery ----------------------------------------------------------------------------

def test_a_frame_delivered_twice_right_away_is_counted_once():
    camera = Camera(4).blank(1).show("Mongo", 2).redeliver(1).blank(1)
    [showing] = run_pipeline(camera.deliveries).showings
    assert showing.frames == 8


def test_a_sock_frame_redelivered_onto_the_wall_adds_no_showing():
    camera = Camera(4).blank(1).show("Mongo", 2).blank(1).redeliver(6).blank(1)
    assert pipeline_pairs(camera.deliveries) == pairs(Mongo=1)


def test_a_wall_frame_redelivered_into_a_showing_does_not_split_it():
    camera = Camera(30).blank(1).show("Mongo", 1)
    for back in (35, 34, 33):
        camera.redeliver(back)
    camera.show("Mongo", 1).blank(1)
    assert pipeline_pairs(camera.deliveries) == pairs(Mongo=1)


def test_frames_without_seq_are_never_deduplicated():
    camera = Camera(4, payload="seed").blank(1).show("Mongo", 2).redeliver(1).blank(1)
    [showing] = run_pipeline(camera.deliveries).showings
    assert showing.frames == 9


def test_a_single_frame_without_seq_on_the_wall_is_not_a_showing():
    camera = Camera(4, payload="seed").blank(2).frames_of("Mongo", 1, 95.0).blank(2)
    assert pipeline_pairs(camera.deliveries) == {}


def test_a_single_numbered_frame_between_walls_is_a_showing():
    camera = Camera(4).blank(2).frames_of("Mongo", 1, 95.0).blank(2)
    assert pipeline_pairs(camera.deliveries) == pairs(Mongo=1)


# --- socks held up together (frames with objects) -------------------------------------------

def test_two_socks_of_one_design_held_up_together_are_a_pair_at_once():
    for fps in (4, 30):
        camera = Camera(fps).wall(1).objects([("Mongo", 95.0), ("Mongo", 91.0)], 3).wall(1)
        assert pipeline_pairs(camera.deliveries) == pairs(Mongo=2), f"{fps} FPS"


def test_two_designs_held_up_together_count_one_showing_each():
    camera = Camera(10).wall(1).objects([("Polka", 93.0), ("Argyle", 88.0)], 3).wall(1)
    assert pipeline_pairs(camera.deliveries) == pairs(Argyle=1, Polka=1)


def test_a_pair_held_together_is_still_a_pair_when_some_frames_see_only_one_sock():
    camera = Camera(10).wall(1)
    for _ in range(6):
        camera.objects([("Mongo", 95.0), ("Mongo", 91.0)], 0.4).objects([("Mongo", 93.0)], 0.1)
    camera.wall(1)
    assert pipeline_pairs(camera.deliveries) == pairs(Mongo=2)


def test_a_ghost_object_at_low_probability_next_to_the_held_sock_adds_no_sock():
    camera = Camera(10).wall(1).objects([("Mongo", 95.0), ("Kafka", 55.0)], 3).wall(1)
    assert pipeline_pairs(camera.deliveries) == pairs(Mongo=1)


def test_a_frame_with_no_objects_is_the_wall_between_two_showings():
    camera = (Camera(4).wall(1).objects([("Mongo", 95.0)], 2).wall(1.5)
              .objects([("Mongo", 95.0)], 2).wall(1))
    assert pipeline_pairs(camera.deliveries) == pairs(Mongo=2)


def test_a_pair_held_together_and_a_sock_shown_alone_make_three():
    camera = (Camera(10).wall(1).objects([("Mongo", 95.0), ("Mongo", 90.0)], 2).wall(1.5)
              .objects([("Mongo", 92.0)], 2).wall(1))
    assert pipeline_pairs(camera.deliveries) == pairs(Mongo=3)


def test_a_showing_that_turns_out_to_hold_two_socks_replaces_its_count():
    # The first frames see one sock, then both: the showing counts 1, then 2, never 3.
    camera = (Camera(10).wall(1).objects([("Mongo", 95.0)], 0.5)
              .objects([("Mongo", 95.0), ("Mongo", 92.0)], 3).wall(1))
    assert pipeline_pairs(camera.deliveries) == pairs(Mongo=2)


def test_frames_without_objects_and_frames_with_them_pair_across_cameras():
    seed = Camera(4, device="old-edge").blank(1).show("Mongo", 2).blank(1)
    boxes = Camera(4, device="box-edge").wall(1).objects([("Mongo", 94.0)], 2).wall(1)
    assert pipeline_pairs(interleave(seed, boxes)) == pairs(Mongo=2)


@pytest.mark.parametrize("fps", [4, 30])
def test_simulated_sessions_with_socks_held_together_are_exactly_right(fps):
    from dataclasses import replace

    from socksort.ksql.pipeline.simulate import TOGETHER_SESSIONS

    batch = sessions(3, replace(TOGETHER_SESSIONS, fps=fps), first_seed=100)
    assert any(len(s.designs) == 2 for session in batch for s in session.showings)
    for session in batch:
        assert pipeline_pairs(session.deliveries) == session.pairs, f"seed {session.seed}"


# --- the output ----------------------------------------------------------------------------

def test_the_pair_table_is_keyed_by_image_with_pair_seen_and_number_socks_seen():
    from socksort.ksql.engine import Engine

    engine = Engine()
    engine.execute(PIPELINE_SQL.read_text())
    fields = {f["name"]: f.get("type") for f in engine.describe("SOCK_PAIRS")["fields"]}
    assert fields == {"IMAGE": "KEY", "PAIR_SEEN": None, "NUMBER_SOCKS_SEEN": None}


def test_the_pair_table_never_has_a_blank_row():
    camera = Camera(4).blank(5, 99.0).show("Mongo", 2).blank(5, 99.0)
    assert "Blank" not in pipeline_pairs(camera.deliveries)


def test_showings_table_gives_each_showing_its_design_span_and_voting_frames():
    camera = Camera(4).blank(1)
    first = len(camera.deliveries)
    camera.show("Mongo", 2)
    last = len(camera.deliveries) - 1
    camera.frames_of("Kafka", 1, 60.0).blank(2)
    [showing] = run_pipeline(camera.deliveries).showings
    assert (showing.device, showing.image) == ("deeplens-1", "Mongo")
    assert (showing.start, showing.end) == (camera.deliveries[first].timestamp,
                                            camera.deliveries[last].timestamp)
    assert showing.frames == last - first + 1


def test_frames_missing_image_or_probability_are_skipped():
    from socksort.ksql.engine import Engine, Record

    engine = Engine()
    engine.execute(PIPELINE_SQL.read_text())
    out = engine.process(Record("data_mqtt", b"sockfound", b'{"image": "Mongo"}', T0))
    assert out == []


# --- the seed's method, for comparison -----------------------------------------------------

def test_the_seeds_method_counts_an_eight_second_hold_as_two_socks():
    camera = Camera(30, start=T0 + 1000).show("Mongo", 8).blank(2)
    assert seed_pairs(camera.deliveries) == pairs(Mongo=2)


def test_the_seeds_method_counts_four_ghost_frames_as_a_sock():
    camera = Camera(30, start=T0 + 1000).show("Mongo", 1.5)
    for _ in range(4):
        camera.frames_of("Kafka", 1, 60.0).show("Mongo", 0.5)
    assert seed_pairs(camera.blank(1).deliveries) == pairs(Mongo=1, Kafka=1)


@pytest.mark.parametrize("fps", [30, 4])
def test_the_pipeline_beats_the_seeds_method_on_simulated_sessions(fps):
    batch = sessions(3, SessionSpec(fps=fps))
    new = sum(pipeline_pairs(s.deliveries) == s.pairs for s in batch)
    old = sum(seed_pairs(s.deliveries) == s.pairs for s in batch)
    assert new > old


def test_blurred_frames_cut_from_their_hold_by_one_blank_frame_are_no_sock_of_their_own():
    camera = Camera(30).blank(1).show("Mongo", 2).blank(1)
    camera.frames_of("Mongo", 2, 75.0).frames_of("Blank", 1, 97.0).show("Mongo", 2).blank(1)
    assert pipeline_pairs(camera.deliveries) == pairs(Mongo=2)
