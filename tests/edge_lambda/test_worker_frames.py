"""The camera_frames record as the worker reads it: key = device, value = JPEG, headers ts/seq."""

from __future__ import annotations

import pytest
from fleet_fixtures import colour_jpeg

from socksort.edge_lambda import framewire
from socksort.edge_lambda.framewire import BadFrame

JPEG = colour_jpeg("red")


def test_a_well_formed_record_becomes_a_frame_with_device_seq_and_ts():
    frame = framewire.parse(b"left", JPEG, framewire.headers(1_700_000_000_123, 42), partition=3, offset=9)
    assert (frame.device, frame.seq, frame.ts, frame.jpeg, frame.partition, frame.offset) == \
        ("left", 42, 1_700_000_000_123, JPEG, 3, 9)


def test_the_camera_sends_ts_seq_and_content_type_as_ascii():
    assert framewire.headers(5, 7) == [("ts", b"5"), ("seq", b"7"), ("content-type", b"image/jpeg")]


@pytest.mark.parametrize("missing", ["ts", "seq"])
def test_a_record_without_ts_or_seq_is_refused_naming_the_header(missing):
    headers = [(k, v) for k, v in framewire.headers(5, 7) if k != missing]
    with pytest.raises(BadFrame, match=f"no {missing} header"):
        framewire.parse(b"left", JPEG, headers)


def test_a_header_that_is_not_a_decimal_is_refused():
    with pytest.raises(BadFrame, match="header seq is '-1', not an ASCII decimal"):
        framewire.parse(b"left", JPEG, [("ts", b"5"), ("seq", b"-1")])


def test_a_value_that_is_not_a_jpeg_is_refused():
    with pytest.raises(BadFrame, match="not a JPEG"):
        framewire.parse(b"left", b"\x89PNG\r\n\x1a\n....", framewire.headers(5, 7))


def test_a_truncated_jpeg_is_refused():
    with pytest.raises(BadFrame, match="truncated JPEG"):
        framewire.parse(b"left", JPEG[: len(JPEG) // 2], framewire.headers(5, 7))


def test_a_frame_over_max_bytes_is_refused_naming_the_limit():
    with pytest.raises(BadFrame, match=f"{len(JPEG)} bytes, over --max-bytes 100"):
        framewire.parse(b"left", JPEG, framewire.headers(5, 7), max_bytes=100)


def test_a_record_without_a_key_is_refused():
    with pytest.raises(BadFrame, match="no key"):
        framewire.parse(None, JPEG, framewire.headers(5, 7))


def test_another_content_type_is_refused():
    with pytest.raises(BadFrame, match="content-type is 'image/png'"):
        framewire.parse(b"left", JPEG, [("ts", b"5"), ("seq", b"7"), ("content-type", b"image/png")])
