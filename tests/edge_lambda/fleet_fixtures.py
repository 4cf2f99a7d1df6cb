"""Builders for the thin camera and worker tests: a colour model whose ONNX input takes a
batch of any size (as training exports), colour frames as JPEG, and Kafka helpers."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from edge_fixtures import COLOURS, build_colour_model


def batch_colour_model(folder: Path) -> Path:
    """The edge tests' colour model, its model.onnx exported with a dynamic batch dimension."""
    import mxnet as mx

    build_colour_model(folder)
    from socksort import modelcard
    card = modelcard.load(folder)
    side = card.preprocess.input_size
    sym, args, aux = mx.model.load_checkpoint(str(folder / "model"), 0)
    mx.onnx.export_model(sym, {**args, **aux}, in_shapes=[(1, 3, side, side)], in_types=[np.float32],
                         onnx_file_path=str(folder / "model.onnx"), dynamic=True,
                         dynamic_input_shapes=[(None, 3, side, side)])
    return folder


def with_id(model: Path, folder: Path, model_id: str) -> Path:
    """A copy of ``model`` whose model.json carries ``model_id``."""
    import dataclasses

    from socksort import modelcard
    shutil.copytree(model, folder)
    card = modelcard.load(folder)
    dataclasses.replace(card, id=model_id).save(folder)
    return folder


def colour_jpeg(name: str, size=(64, 48), quality: int = 85) -> bytes:
    import cv2
    width, height = size
    image = np.zeros((height, width, 3), dtype=np.uint8)
    image[:] = COLOURS[name]
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()


# --- processes and Kafka, for the real-broker tests -------------------------------------------

def socksort_process(args, log_path: Path):
    """``socksort ARGS`` as its own process, output to ``log_path``."""
    import subprocess
    import sys
    out = open(log_path, "wb")
    process = subprocess.Popen([sys.executable, "-m", "socksort", *map(str, args)], stdout=out,
                               stderr=subprocess.STDOUT)
    out.close()
    process.log_path = log_path
    return process


def health_url(process, timeout: float = 60.0) -> str:
    """The worker's health base URL, from the line it prints at start."""
    import re
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = process.log_path.read_text(errors="replace")
        found = re.search(r"health on (http://[0-9.]+:[0-9]+)/healthz", text)
        if found:
            return found.group(1)
        if process.poll() is not None:
            raise AssertionError(f"the worker exited ({process.returncode}):\n{text[-3000:]}")
        time.sleep(0.1)
    raise AssertionError(f"the worker printed no health URL:\n{process.log_path.read_text()[-3000:]}")


def health(url: str) -> dict:
    import json
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())


def read_topic(bootstrap: str, topic: str, keep, enough, timeout: float = 90.0, settle: float = 2.0,
               isolation: str = "read_committed") -> list:
    """Records of ``topic`` from its beginning for which ``keep(msg)`` holds, read until
    ``enough(kept)`` and then ``settle`` seconds more (so a duplicate would show), or ``timeout``."""
    import time
    import uuid

    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"test-reader-{uuid.uuid4().hex}",
                         "enable.auto.commit": False, "isolation.level": isolation,
                         "topic.metadata.refresh.interval.ms": 1000})
    try:
        deadline = time.monotonic() + timeout
        partitions = None
        while partitions is None and time.monotonic() < deadline:
            meta = consumer.list_topics(topic, timeout=5).topics.get(topic)
            if meta is not None and meta.error is None and meta.partitions:
                partitions = list(meta.partitions)
            else:
                time.sleep(0.2)
        assert partitions is not None, f"topic {topic} did not appear"
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        kept, settle_until = [], None
        while time.monotonic() < (settle_until or deadline):
            for msg in consumer.consume(500, 0.2):
                if msg.error() is None and keep(msg):
                    kept.append(msg)
            if settle_until is None and enough(kept):
                settle_until = time.monotonic() + settle
        return kept
    finally:
        consumer.close()
