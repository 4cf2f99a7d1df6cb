"""PRINT 'topic': the raw records of a Kafka topic, in ksqlDB's PRINT line format.

    Key format: KAFKA_STRING
    Value format: JSON or KAFKA_STRING
    rowtime: 2024/11/21 11:00:00.266 Z, key: deeplens-1, value: {"image":"Blank"}, partition: 0
"""

from __future__ import annotations

import json
import struct
from datetime import datetime, timezone
from typing import Callable, Iterator

from socksort.ksql.kafka_io import Message


def rowtime(timestamp: int | None) -> str:
    if timestamp is None or timestamp < 0:
        return "N/A"
    moment = datetime.fromtimestamp(timestamp / 1000, timezone.utc)
    return moment.strftime("%Y/%m/%d %H:%M:%S.") + f"{timestamp % 1000:03d} Z"


def guess_format(data: bytes | None) -> str:
    """The formats a payload could be, as ksqlDB names them."""
    if data is None:
        return "<null>"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _number_format(data) or "KAFKA_BYTES"
    try:
        json.loads(text)
    except ValueError:
        return "KAFKA_STRING"
    return "JSON or KAFKA_STRING"


def _number_format(data: bytes) -> str | None:
    if len(data) == 4:
        return "KAFKA_INT"
    if len(data) == 8:
        return "KAFKA_BIGINT or KAFKA_DOUBLE"
    return None


def show(data: bytes | None) -> str:
    if data is None:
        return "<null>"
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        if len(data) == 4:
            return str(struct.unpack(">i", data)[0])
        if len(data) == 8:
            return str(struct.unpack(">q", data)[0])
        return data.hex()


def line(msg: Message) -> str:
    return (f"rowtime: {rowtime(msg.timestamp)}, key: {show(msg.key)}, value: {show(msg.value)}, "
            f"partition: {msg.partition}")


def lines(messages: Iterator[Message], interval: int | None, limit: int | None,
          stopped: Callable[[], bool]) -> Iterator[str]:
    """The two format lines, then every ``interval``-th record until ``limit`` lines."""
    every = max(interval or 1, 1)
    printed = seen = 0
    header_done = False
    for msg in messages:
        if stopped():
            return
        if msg is None:
            continue
        if not header_done:
            yield f"Key format: {guess_format(msg.key)}"
            yield f"Value format: {guess_format(msg.value)}"
            header_done = True
        seen += 1
        if (seen - 1) % every:
            continue
        yield line(msg)
        printed += 1
        if limit is not None and printed >= limit:
            return
