"""The DeepLens FIFO: whole JPEG frames for a viewer that may come and go, never a stall."""

import os
import threading

import numpy as np

from socksort.edge_lambda.annotate import encode_jpeg
from socksort.edge_lambda.fifo import FifoWriter
from socksort.edge_lambda.http import JpegHub

from edge_fixtures import wait_until


def jpeg(value):
    return encode_jpeg(np.full((24, 32, 3), value, np.uint8))


def test_frames_reach_a_viewer_that_opens_the_fifo_later(tmp_path):
    hub, path = JpegHub(), tmp_path / "results.mjpeg"
    writer = FifoWriter(path, hub, retry_seconds=0.05).start()
    received = bytearray()
    try:
        hub.publish(jpeg(10))   # nobody reads yet: the writer must not block on it
        assert wait_until(lambda: writer._fd is None and writer.written == 0, timeout=2)
        reader_fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        stop = threading.Event()

        def feed():
            value = 20
            while not stop.is_set():
                hub.publish(jpeg(value))
                value = (value + 10) % 250
                stop.wait(0.02)

        feeder = threading.Thread(target=feed)
        feeder.start()

        def read_some():
            try:
                received.extend(os.read(reader_fd, 65536))
            except BlockingIOError:
                pass
            return received.count(b"\xff\xd9") >= 3

        assert wait_until(read_some, timeout=10)
        stop.set()
        feeder.join()
        os.close(reader_fd)
    finally:
        writer.stop()
    assert received.startswith(b"\xff\xd8") and writer.written >= 3
