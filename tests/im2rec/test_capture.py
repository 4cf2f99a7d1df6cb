"""`socksort capture`: photos of one thing, spaced in time, without near-duplicates."""

from __future__ import annotations

import cv2
import numpy as np
import pytest


def _video(path, levels, fps=10):
    """A tiny video whose frame i is flat grey at levels[i], so a photo tells its frame."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (64, 48))
    for level in levels:
        writer.write(np.full((48, 64, 3), level, np.uint8))
    writer.release()
    return path


def _levels(folder):
    return [int(round(cv2.imread(str(p)).mean())) for p in sorted(folder.glob("*.jpg"))]


def test_photos_from_a_video_are_spaced_by_the_video_clock(cli, tmp_path):
    video = _video(tmp_path / "v.mp4", [10 * i for i in range(25)])
    cli("capture", "--label", "grey", "--count", "5", "--every", "0.5", "--source", video, "--out", tmp_path / "out")
    levels = _levels(tmp_path / "out" / "grey")
    assert [round(level / 10) for level in levels] == [0, 5, 10, 15, 20]


def test_near_duplicate_frames_are_skipped_and_a_short_source_says_so(cli, tmp_path):
    video = _video(tmp_path / "v.mp4", [100] * 20 + [200] * 20)
    status, out, err = cli("capture", "--label", "flat", "--count", "5", "--every", "0.1", "--source", video,
                           "--out", tmp_path / "out", check=False)
    assert status == 1
    assert [round(level / 10) for level in _levels(tmp_path / "out" / "flat")] == [10, 20]
    assert "saved 2 of 5" in out and "near-duplicates" in out and "ended" in err


def test_a_folder_source_keeps_distinct_images_and_counts_unreadable_ones(cli, socks, tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    photos = sorted((socks / "Blank").glob("*.jpg"))[:3]
    for i, photo in enumerate(photos):
        (source / f"{i}.jpg").write_bytes(photo.read_bytes())
    (source / "3.jpg").write_bytes(photos[0].read_bytes())  # the same view again
    (source / "4.jpg").write_bytes(b"not an image")
    status, out, _ = cli("capture", "--label", "Blank", "--count", "5", "--source", source,
                         "--out", tmp_path / "out", check=False)
    saved = sorted((tmp_path / "out" / "Blank").glob("*.jpg"))
    assert [p.read_bytes()[:3] for p in saved] == [b"\xff\xd8\xff"] * 3
    assert status == 1 and "skipped 1 near-duplicates, 1 unreadable" in out


def test_a_folder_source_names_a_truncated_jpeg_and_does_not_save_it(cli, socks, tmp_path, truncated_jpeg):
    source = tmp_path / "in"
    source.mkdir()
    (source / "0.jpg").write_bytes(sorted((socks / "Blank").glob("*.jpg"))[0].read_bytes())
    (source / "1.jpg").write_bytes(truncated_jpeg.read_bytes())
    status, out, err = cli("capture", "--label", "Blank", "--count", "2", "--source", source,
                           "--out", tmp_path / "out", check=False)
    assert len(list((tmp_path / "out" / "Blank").glob("*.jpg"))) == 1
    assert status == 1 and "1 unreadable" in out
    assert f"skipped {source / '1.jpg'}: unreadable (a truncated JPEG" in err


@pytest.fixture
def mjpeg_stream():
    """A live MJPEG-over-HTTP camera, as IP cameras serve it: frame i is flat grey 2*i."""
    import http.server
    import threading
    import time

    class Camera(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.end_headers()
            for i in range(120):
                ok, data = cv2.imencode(".jpg", np.full((48, 64, 3), 2 * i, np.uint8))
                self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
                                 % len(data) + data.tobytes() + b"\r\n")
                time.sleep(0.025)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Camera)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/video.mjpg"
    server.shutdown()
    server.server_close()


def test_photos_come_from_a_live_http_stream(cli, mjpeg_stream, tmp_path):
    cli("capture", "--label", "live", "--count", "3", "--every", "0.05", "--source", mjpeg_stream,
        "--out", tmp_path / "out")
    levels = _levels(tmp_path / "out" / "live")
    assert len(levels) == 3 and levels == sorted(set(levels))


@pytest.fixture
def snapshot_url():
    """A network camera's still-image URL: each request returns the next grey level (+20)."""
    import http.server
    import threading

    served = []

    class Snapshot(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            ok, data = cv2.imencode(".jpg", np.full((48, 64, 3), 20 * len(served), np.uint8))
            served.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data.tobytes())

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Snapshot)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/snapshot.jpg", served
    server.shutdown()
    server.server_close()


def test_a_still_image_url_is_fetched_once_per_photo(cli, snapshot_url, tmp_path):
    url, served = snapshot_url
    cli("capture", "--label", "cam", "--count", "3", "--every", "0.05", "--source", url, "--out", tmp_path / "out")
    assert [round(level / 20) for level in _levels(tmp_path / "out" / "cam")] == [0, 1, 2]
    assert len(served) == 3


def test_a_still_image_url_that_cannot_be_fetched_is_named(cli, tmp_path):
    from socksort.net import free_port

    url = f"http://127.0.0.1:{free_port()}/snapshot.jpg"
    status, _, err = cli("capture", "--label", "cam", "--source", url, "--out", tmp_path / "out", check=False)
    assert status == 2 and f"--source {url}: cannot fetch it" in err
    assert not (tmp_path / "out").exists()


def test_new_photos_are_numbered_after_those_already_there(cli, tmp_path):
    video = _video(tmp_path / "v.mp4", [10 * i for i in range(20)])
    folder = tmp_path / "out" / "sock"
    folder.mkdir(parents=True)
    (folder / "sock-0007.jpg").write_bytes(b"kept")
    cli("capture", "--label", "sock", "--count", "2", "--source", video, "--out", tmp_path / "out")
    assert sorted(p.name for p in folder.iterdir()) == ["sock-0007.jpg", "sock-0008.jpg", "sock-0009.jpg"]
    assert (folder / "sock-0007.jpg").read_bytes() == b"kept"


@pytest.mark.parametrize("source", ["missing.mp4", "99", "rtsp://127.0.0.1:9/none", "notes.txt"])
def test_a_source_that_cannot_be_opened_is_named_and_nothing_is_created(cli, tmp_path, source, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    status, _, err = cli("capture", "--label", "x", "--source", source, "--out", tmp_path / "out", check=False)
    assert status == 2
    assert f"--source {source}" in err.strip().splitlines()[-1]
    assert not (tmp_path / "out").exists()


def test_a_label_that_is_not_a_safe_folder_name_is_refused(run_cli, tmp_path):
    result = run_cli("capture", "--label", "../escape", "--source", tmp_path, "--out", tmp_path / "out")
    assert result.returncode == 2
    assert "--label" in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "out").exists()
