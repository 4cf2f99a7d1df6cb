"""Thin cameras and inference workers on a real Kafka (issue 17): every frame gets exactly one
prediction, in seq order per camera, through workers that join, leave and die.

One Kafka of this module's own (the project's launcher, KRaft), so the shared stack's ksql
pipeline never sees these colour frames. Cameras and workers are the real commands, each its
own process; predictions are read back from data_mqtt as a read_committed consumer reads them.
"""

from __future__ import annotations

import json
import signal
import time
import uuid
from collections import defaultdict

import pytest
from edge_fixtures import CLASSES, COLOURS, write_video
from fleet_fixtures import (batch_colour_model, colour_jpeg, health, health_url, read_topic, socksort_process,
                            with_id)

from socksort import contract
from socksort.edge_lambda import framewire
from socksort.schema import Prediction

pytestmark = pytest.mark.broker

MODEL_ID = "c0ffee000017"
FRAMES_EACH = 20   # frames per colour in each camera's video


@pytest.fixture(scope="module")
def kafka(tmp_path_factory):
    from socksort.net import free_port
    from socksort.stack.kafka import Kafka

    broker = Kafka(tmp_path_factory.mktemp("fleet-kafka"), port=free_port(), controller_port=free_port())
    broker.die_with_parent = True
    broker.start()
    try:
        yield broker.bootstrap_servers
    finally:
        broker.stop()


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fleet-model")
    return with_id(batch_colour_model(folder / "plain"), folder / "with-id", MODEL_ID)


@pytest.fixture(scope="module")
def shows(tmp_path_factory):
    """Four cameras' videos at 30 fps, each its own order of colours: camera -> (video, labels by seq)."""
    folder = tmp_path_factory.mktemp("fleet-shows")
    orders = [CLASSES, CLASSES[::-1], CLASSES[1:] + CLASSES[:1], CLASSES[2:] + CLASSES[:2]]
    made = {}
    for n, order in enumerate(orders):
        video = write_video(folder / f"cam{n}.avi", [COLOURS[c] for c in order], frames_each=FRAMES_EACH,
                            fps=30.0)
        made[n] = (video, [c for c in order for _ in range(FRAMES_EACH)])
    return made


def partitions(kafka, topic=contract.CAMERA_FRAMES) -> int:
    from confluent_kafka.admin import AdminClient
    return len(AdminClient({"bootstrap.servers": kafka}).list_topics(topic, timeout=10).topics[topic].partitions)


def start_worker(kafka, model, logs, name, *extra):
    process = socksort_process(["worker", "--model", model, "--bootstrap", kafka, "--threads", "1", *extra],
                               logs / f"{name}.log")
    process.url = health_url(process)
    return process


def start_camera(kafka, video, device, logs, *extra):
    return socksort_process(["camera", "--source", video, "--fps", 30, "--device", device, "--bootstrap", kafka,
                             "--json", *extra], logs / f"{device}.log")


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def stop(process, sig=signal.SIGTERM, timeout: float = 30) -> int:
    if process.poll() is None:
        process.send_signal(sig)
    return process.wait(timeout)


def camera_finished(process) -> dict:
    assert process.wait(120) == 0, process.log_path.read_text()[-3000:]
    text = process.log_path.read_text()
    return json.loads(text[text.index("{"):])


def predictions_of(kafka, devices, count, isolation="read_committed"):
    """device -> the predictions read from data_mqtt for it, in the order Kafka holds them."""
    wanted = {d.encode() for d in devices}
    records = read_topic(kafka, contract.KAFKA_TOPIC, keep=lambda m: m.key() in wanted,
                         enough=lambda kept: len(kept) >= count, isolation=isolation)
    found = defaultdict(list)
    for record in records:
        prediction = Prediction.from_json(record.value())
        assert prediction.device == record.key().decode()
        found[prediction.device].append(prediction)
    return found


@pytest.fixture
def logs(tmp_path):
    return tmp_path


@pytest.fixture
def processes():
    started = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_four_cameras_and_two_workers_give_every_frame_one_prediction_in_seq_order(
        kafka, model, shows, logs, processes):
    run = uuid.uuid4().hex[:6]
    workers = [start_worker(kafka, model, logs, f"worker-{i}") for i in range(2)]
    processes.extend(workers)
    wait_for(lambda: sum(len(health(w.url)["partitions"]) for w in workers) == partitions(kafka),
             60, "the two workers to share the frame partitions")
    devices = {n: f"four-{run}-{n}" for n in shows}
    # Two cameras in each half of the topic: the range assignor gives each worker a half.
    cameras = [start_camera(kafka, shows[n][0], devices[n], logs, "--partition", place)
               for n, place in zip(shows, (0, 1, 3, 4))]
    processes.extend(cameras)
    sent = {devices[n]: camera_finished(camera) for n, camera in zip(shows, cameras)}
    assert all(counts["sent"] == counts["queued"] == 3 * FRAMES_EACH for counts in sent.values()), sent

    found = predictions_of(kafka, devices.values(), 4 * 3 * FRAMES_EACH)
    for n, device in devices.items():
        got = found[device]
        assert [p.seq for p in got] == list(range(3 * FRAMES_EACH)), device
        assert [p.image for p in got] == shows[n][1], device
        assert {p.model for p in got} == {MODEL_ID}
    classified = [health(w.url)["frames"] for w in workers]
    assert sum(classified) == 4 * 3 * FRAMES_EACH
    # how the frames split depends on when the second worker's rebalance lands
    assert all(count > 0 for count in classified), classified
    assert [stop(w) for w in workers] == [0, 0]


def test_a_worker_killed_mid_stream_and_a_new_one_lose_and_double_nothing(kafka, model, shows, logs, processes):
    run = uuid.uuid4().hex[:6]
    first = start_worker(kafka, model, logs, "doomed")
    processes.append(first)
    wait_for(lambda: len(health(first.url)["partitions"]) == partitions(kafka), 60,
             "the worker to own every partition")
    devices = {n: f"kill-{run}-{n}" for n in shows}
    # Looped: each camera keeps sending while the worker dies and its successor takes over.
    frames = 6 * FRAMES_EACH * 3
    cameras = [start_camera(kafka, shows[n][0], devices[n], logs, "--loop", "--frames", frames) for n in shows]
    processes.extend(cameras)
    wait_for(lambda: health(first.url)["frames"] >= 100, 60, "the first worker to classify frames")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    second = start_worker(kafka, model, logs, "successor")
    processes.append(second)
    sent = {device: camera_finished(camera) for device, camera in zip(devices.values(), cameras)}
    assert all(c["sent"] == c["queued"] == frames for c in sent.values()), sent

    found = predictions_of(kafka, devices.values(), 4 * frames, isolation="read_committed")
    for device in devices.values():
        seqs = [p.seq for p in found[device]]
        lost = set(range(frames)) - set(seqs)
        doubled = len(seqs) - len(set(seqs))
        assert (len(lost), doubled) == (0, 0), f"{device}: {len(lost)} lost, {doubled} duplicated"
        assert seqs == sorted(seqs)
    assert health(second.url)["frames"] > 0
    assert stop(second) == 0


def test_workers_joining_and_leaving_mid_stream_lose_and_double_nothing(kafka, model, shows, logs, processes):
    run = uuid.uuid4().hex[:6]
    first = start_worker(kafka, model, logs, "early")
    processes.append(first)
    wait_for(lambda: len(health(first.url)["partitions"]) == partitions(kafka), 60,
             "the worker to own every partition")
    devices = {n: f"join-{run}-{n}" for n in shows}
    frames = 4 * FRAMES_EACH * 3
    cameras = [start_camera(kafka, shows[n][0], devices[n], logs, "--loop", "--frames", frames,
                            "--partition", place) for n, place in zip(shows, (0, 1, 3, 4))]
    processes.extend(cameras)
    wait_for(lambda: health(first.url)["frames"] >= 60, 60, "the first worker to classify frames")
    joiner = start_worker(kafka, model, logs, "joiner")       # a rebalance while frames flow
    processes.append(joiner)
    wait_for(lambda: health(joiner.url)["frames"] > 0, 60, "the joining worker to classify frames")
    assert stop(first) == 0                                    # and another as the first leaves
    sent = {device: camera_finished(camera) for device, camera in zip(devices.values(), cameras)}
    assert all(c["sent"] == c["queued"] == frames for c in sent.values()), sent

    found = predictions_of(kafka, devices.values(), 4 * frames)
    for device in devices.values():
        seqs = [p.seq for p in found[device]]
        assert seqs == list(range(frames)), f"{device}: {len(set(range(frames)) - set(seqs))} lost, " \
                                            f"{len(seqs) - len(set(seqs))} duplicated"
    assert stop(joiner) == 0


def test_bad_frames_are_skipped_with_a_line_on_the_error_topic_and_the_worker_keeps_going(
        kafka, model, logs, processes):
    from confluent_kafka import Producer

    device = f"bad-{uuid.uuid4().hex[:6]}"
    worker = start_worker(kafka, model, logs, "strict", "--max-bytes", 20000)
    processes.append(worker)
    import numpy as np
    noise = np.random.default_rng(0).integers(0, 256, (400, 400, 3), dtype=np.uint8)
    import cv2
    huge = cv2.imencode(".jpg", noise, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
    assert len(huge) > 20000
    now = int(time.time() * 1000)
    good = colour_jpeg("green")
    sends = [
        (good, framewire.headers(now, 0)),
        (b"this is not a picture", framewire.headers(now, 1)),
        (good, [("seq", b"2"), ("content-type", b"image/jpeg")]),          # no ts
        (good, [("ts", str(now).encode()), ("content-type", b"image/jpeg")]),  # no seq
        (huge, framewire.headers(now, 4)),
        (good, framewire.headers(now, 5)),
    ]
    producer = Producer({"bootstrap.servers": kafka})
    for value, headers in sends:
        producer.produce(contract.CAMERA_FRAMES, key=device.encode(), value=value, headers=headers)
    assert producer.flush(30) == 0

    found = predictions_of(kafka, [device], 2)
    assert [(p.seq, p.image) for p in found[device]] == [(0, "green"), (5, "green")]
    lines = [json.loads(m.value()) for m in read_topic(
        kafka, contract.WORKER_ERRORS_TOPIC, keep=lambda m: m.key() == device.encode(),
        enough=lambda kept: len(kept) >= 4)]
    reasons = sorted(line["error"] for line in lines)
    assert len(reasons) == 4, reasons
    assert any("not a JPEG" in r for r in reasons)
    assert any("no ts header" in r for r in reasons)
    assert any("no seq header" in r for r in reasons)
    assert any("over --max-bytes 20000" in r for r in reasons)
    assert all(line["device"] == device and line["topic"] == contract.CAMERA_FRAMES for line in lines)
    assert worker.poll() is None
    assert health(worker.url)["state"] == "running" and health(worker.url)["bad"] == 4
    assert stop(worker) == 0


def listed(kafka) -> list[dict]:
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-m", "socksort", "workers", "--json", "--bootstrap", kafka],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_socksort_workers_lists_a_running_worker_with_its_cameras_until_it_stops(kafka, model, shows, logs,
                                                                                processes):
    worker = start_worker(kafka, model, logs, "listed")
    processes.append(worker)
    wait_for(lambda: len(health(worker.url)["partitions"]) == partitions(kafka), 60, "the worker's partitions")
    device = f"listed-{uuid.uuid4().hex[:6]}"
    camera_finished(start_camera(kafka, shows[0][0], device, logs))
    wait_for(lambda: health(worker.url)["cameras"].get(device, {}).get("frames") == 3 * FRAMES_EACH, 60,
             "the camera's frames")
    # The snapshot is published on a timer, so one taken mid-stream can name the camera with fewer frames.
    wait_for(lambda: any(s["http"] == worker.url and s["cameras"].get(device, {}).get("frames") == 3 * FRAMES_EACH
                         for s in listed(kafka)), 30, "the worker's snapshot to list the camera's frames")
    [mine] = [s for s in listed(kafka) if s["http"] == worker.url]
    assert mine["partitions"] == list(range(partitions(kafka)))
    assert mine["cameras"][device]["frames"] == 3 * FRAMES_EACH
    assert stop(worker) == 0
    assert all(s["http"] != worker.url for s in listed(kafka))


def test_a_worker_on_a_bare_kafka_creates_the_frames_topic_with_six_partitions(kafka, model, logs, processes):
    worker = start_worker(kafka, model, logs, "first-on-kafka")
    processes.append(worker)
    assert partitions(kafka) == contract.FRAME_PARTITIONS
    assert partitions(kafka, contract.WORKER_ERRORS_TOPIC) == 1
    assert stop(worker) == 0


def test_stack_up_with_more_frame_partitions_grows_the_frames_topic(kafka, tmp_path):
    from socksort.stack import Ports, Stack

    port = int(kafka.rpartition(":")[2])
    Stack(tmp_path / "stack", Ports(kafka=port), with_ksql=False, frame_partitions=8).create_topics()
    assert partitions(kafka) == 8


def test_a_localising_models_predictions_on_data_mqtt_carry_each_frames_objects(
        kafka, colour_box_model, logs, processes, tmp_path):
    from edge_fixtures import patches_frame, write_frames_video

    from socksort.localise import iou
    from socksort.schema import Box

    patches = [("red", (30, 70, 100, 120)), ("blue", (200, 60, 80, 100))]
    video = write_frames_video(tmp_path / "two.avi", [patches_frame(patches)] * 10, fps=30.0)
    worker = start_worker(kafka, colour_box_model, logs, "boxes")
    processes.append(worker)
    wait_for(lambda: len(health(worker.url)["partitions"]) == partitions(kafka), 60, "the worker's partitions")
    device = f"boxes-{uuid.uuid4().hex[:6]}"
    camera = start_camera(kafka, video, device, logs)
    processes.append(camera)
    camera_finished(camera)
    got = predictions_of(kafka, [device], 10)[device]
    truth = {colour: Box(*box) for colour, box in patches}
    assert len(got) == 10
    assert all(sorted(o.label for o in p.objects) == ["blue", "red"]
               and all(iou(o.box, truth[o.label]) >= 0.5 for o in p.objects) for p in got)
    assert stop(worker) == 0
