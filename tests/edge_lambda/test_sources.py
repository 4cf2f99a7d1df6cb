"""Frame sources: the latest frame only, deterministic replays, clear errors for bad sources."""

import json
import threading

import numpy as np
import pytest

from socksort.edge_lambda.sources import Capture, Frame, LatestFrame, open_source
from socksort.errors import UserError


def frame(i):
    return Frame(np.zeros((2, 2, 3), np.uint8), i, i, 0.0)


def test_latest_frame_keeps_only_the_newest_and_counts_the_overwritten():
    slot = LatestFrame()
    for i in range(5):
        slot.put(frame(i))
    assert slot.take(timeout=0).index == 4
    assert slot.dropped == 4


def test_latest_frame_take_returns_none_once_closed_and_empty():
    slot = LatestFrame()
    slot.put(frame(0))
    slot.close()
    assert slot.take(timeout=1).index == 0
    assert slot.take(timeout=1) is None


def test_waiting_put_hands_over_every_frame_without_drops():
    slot, seen = LatestFrame(), []

    def consume():
        while (f := slot.take(timeout=5)) is not None:
            seen.append(f.index)

    reader = threading.Thread(target=consume)
    reader.start()
    for i in range(50):
        slot.put(frame(i), wait=True)
    slot.close()
    reader.join(5)
    assert seen == list(range(50)) and slot.dropped == 0


def collect(source, limit=70, **kwargs):
    slot = LatestFrame()
    capture = Capture(source, slot, unthrottled=True, clock=lambda: 1000.0, **kwargs)
    capture.start()
    frames = []
    while (f := slot.take(timeout=5)) is not None:
        frames.append(f)
        if len(frames) >= limit:
            break
    capture.stop()
    return capture, frames


def test_video_file_replay_stamps_frames_with_start_plus_position(rgb_video):
    capture, frames = collect(open_source(str(rgb_video)))
    assert [f.index for f in frames] == list(range(30))
    # 10 fps from a start of 1000 s: frame i is 1000 s + i * 100 ms, however slow we were.
    assert [f.ts_ms for f in frames] == [1_000_000 + 100 * i for i in range(30)]
    assert capture.state == "ended"


def test_looping_a_video_keeps_timestamps_increasing(rgb_video):
    capture, frames = collect(open_source(str(rgb_video)), loop=True)
    assert len(frames) == 70
    assert all(b.ts_ms - a.ts_ms == 100 for a, b in zip(frames, frames[1:]))


def test_image_folder_plays_in_name_order_at_the_given_rate(tmp_path):
    import cv2
    for name, value in (("b.png", 20), ("a.png", 10), ("c.jpg", 30)):
        cv2.imwrite(str(tmp_path / name), np.full((8, 8, 3), value, np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    _, frames = collect(open_source(str(tmp_path), fps=4))
    assert [int(f.image[0, 0, 0]) for f in frames] == [10, 20, 30]
    assert [f.ts_ms for f in frames] == [1_000_000, 1_000_250, 1_000_500]


def test_image_folder_skips_a_truncated_jpeg_and_names_it_once(tmp_path, truncated_jpeg, capsys):
    import cv2
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.full((8, 8, 3), 10, np.uint8))
    (folder / "b.jpg").write_bytes(truncated_jpeg.read_bytes())
    cv2.imwrite(str(folder / "c.png"), np.full((8, 8, 3), 30, np.uint8))
    _, frames = collect(open_source(str(folder)), limit=6, loop=True)
    assert [int(f.image[0, 0, 0]) for f in frames] == [10, 30, 10, 30, 10, 30]
    assert capsys.readouterr().err.count(f"skipping {folder / 'b.jpg'} is not a readable image "
                                         "(a truncated JPEG") == 1


def test_missing_source_is_a_one_line_error(tmp_path):
    with pytest.raises(UserError, match="is not a camera index, URL, video file"):
        open_source(str(tmp_path / "nope.mp4"))


def test_unreadable_video_file_is_a_one_line_error(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"this is not a video")
    with pytest.raises(UserError, match="cannot open video source"):
        open_source(str(bad))


def test_empty_image_folder_is_a_one_line_error(tmp_path):
    with pytest.raises(UserError, match="holds no"):
        open_source(str(tmp_path))


def test_a_synthetic_show_replays_at_its_own_frame_rate(run_cli, tmp_path):
    run_cli("synth", "dataset", "--out", tmp_path / "ds", "--classes", "2", "--per-class", "1",
            "--size", "160x120", check=True)
    run_cli("synth", "show", "--out", tmp_path / "show.avi", "--classes-from", tmp_path / "ds",
            "--seconds", "6", "--fps", "12.5", "--size", "160x120", check=True)
    truth = json.loads((tmp_path / "show.truth.json").read_text())
    capture, frames = collect(open_source(str(tmp_path / "show.avi")), limit=truth["frames"] + 1)
    assert len(frames) == truth["frames"] == 75
    # 12.5 fps: frame i is at start + i * 80 ms.
    assert [f.ts_ms - 1_000_000 for f in frames] == [80 * i for i in range(75)]
