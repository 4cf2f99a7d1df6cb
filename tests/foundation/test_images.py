"""One rule for image files in every stage (socksort.images): a JPEG cut short is unreadable."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from socksort import images


def _jpeg(seed: int = 0) -> bytes:
    photo = np.random.default_rng(seed).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    return cv2.imencode(".jpg", photo)[1].tobytes()


def test_a_whole_jpeg_reads_as_opencv_reads_the_file(tmp_path):
    path = tmp_path / "whole.jpg"
    path.write_bytes(_jpeg())
    assert np.array_equal(images.read(path), cv2.imread(str(path)))


def test_a_truncated_jpeg_is_unreadable_and_named(truncated_jpeg):
    with pytest.raises(images.UnreadableImage) as caught:
        images.read(truncated_jpeg)
    assert str(caught.value) == (f"{truncated_jpeg} is not a readable image "
                                 "(a truncated JPEG: it ends before its end-of-image marker)")


def test_an_end_marker_in_an_exif_thumbnail_does_not_hide_a_cut_image():
    whole = _jpeg()
    thumbnail = _jpeg(1)
    # An APP1 segment right after SOI that carries a complete small JPEG (as EXIF does).
    app1 = b"\xff\xe1" + (len(thumbnail) + 2).to_bytes(2, "big") + thumbnail
    with_thumbnail = whole[:2] + app1 + whole[2:]
    assert images.problem(with_thumbnail) is None
    assert "truncated JPEG" in images.problem(with_thumbnail[: len(with_thumbnail) - 200])


def test_bytes_opencv_cannot_decode_are_unreadable():
    with pytest.raises(images.UnreadableImage, match=r"x\.png is not a readable image \(OpenCV cannot decode it\)"):
        images.decode(b"\x89PNG\r\n\x1a\n garbage", "x.png")


def test_an_empty_file_is_unreadable(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(images.UnreadableImage, match="the file is empty"):
        images.read(tmp_path / "empty.jpg")
