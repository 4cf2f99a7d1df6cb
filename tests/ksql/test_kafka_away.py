"""The ksql engine rides out a Kafka restart: it neither stops nor loses a record.

Found by the chaos round: after a SIGKILL of Kafka the engine's consumer thread died on
the first metadata request that failed, so the engine stayed unhealthy until it was
restarted itself, and `stack up` gave up waiting for it.
"""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
import uuid

import pytest
from confluent_kafka import Producer

from socksort.ksql.client import rest_client

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def produce(bootstrap: str, topic: str, colors: list[str]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for color in colors:
        producer.produce(topic, value=json.dumps({"COLOR": color}).encode())
    assert producer.flush(60) == 0


def counts(url: str, table: str) -> dict[str, int]:
    rows = rest_client.pull(url, f"SELECT COLOR, SEEN FROM {table};").rows
    return {color: seen for color, seen in rows}


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthcheck", timeout=5) as response:
            return json.loads(response.read())["isHealthy"]
    except OSError:
        return False


def wait_for(check, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return value


def test_the_engine_keeps_running_through_a_kafka_restart_and_counts_every_record(stack):
    run = uuid.uuid4().hex[:8]
    topic, table = f"colors_{run}", f"COLOR_COUNTS_{run}"
    rest_client.run(stack.ksql_url, f"""
        CREATE STREAM COLORS_{run} (COLOR VARCHAR) WITH (KAFKA_TOPIC='{topic}', VALUE_FORMAT='JSON', PARTITIONS=1);
        CREATE TABLE {table} WITH (KAFKA_TOPIC='color_counts_{run}', VALUE_FORMAT='JSON') AS
          SELECT COLOR, COUNT(*) AS SEEN FROM COLORS_{run} GROUP BY COLOR EMIT CHANGES;""")
    produce(stack.bootstrap_servers, topic, ["red"] * 3 + ["blue"])
    assert wait_for(lambda: counts(stack.ksql_url, table) == {"red": 3, "blue": 1})
    engine_pid = stack.ksql.pid

    os.kill(stack.kafka.pid, signal.SIGKILL)
    time.sleep(3)                       # the engine meets a Kafka that is gone
    stack.up()                          # brings Kafka back; waits for the engine to be healthy

    assert stack.ksql.pid == engine_pid, "the engine was restarted instead of riding it out"
    produce(stack.bootstrap_servers, topic, ["red", "blue", "green"])
    assert wait_for(lambda: counts(stack.ksql_url, table) == {"red": 4, "blue": 2, "green": 1})
    assert healthy(stack.ksql_url)
