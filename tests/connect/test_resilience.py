"""A Connect worker killed with SIGKILL mid-stream and restarted loses no message.

Each case runs its own worker (its own Connect group, MQTT topic and Kafka topic) on the
shared Kafka and Mosquitto, so killing it disturbs no other test. Duplicates are counted
and reported (``-rA`` / the junit property ``duplicates``); with exactly-once source
support there must be none.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from socksort.connect import connector
from socksort.connect.traffic import KafkaTail, publish, seqs_of
from socksort.connect.worker import ConnectWorker, put_connector, wait_running
from socksort.net import free_port

pytestmark = [pytest.mark.broker, pytest.mark.slow]

MESSAGES = 4000
RATE = 400  # per second: the stream is still flowing when the worker dies and while it is down


@pytest.mark.parametrize("exactly_once", [True, False], ids=["exactly-once", "at-least-once"])
def test_worker_killed_mid_stream_loses_no_message(stack, tmp_path, exactly_once, record_property):
    run = uuid.uuid4().hex[:8]
    device, mqtt_topic, kafka_topic = f"crash-{run}", f"crash/{run}", f"crash_{run}"
    m = stack.mosquitto
    config = connector.mqtt_source_config(m.host, m.port, m.username, m.password,
                                          mqtt_topic=mqtt_topic, kafka_topic=kafka_topic)
    worker = ConnectWorker(tmp_path / "worker", stack.bootstrap_servers, port=free_port(),
                           exactly_once=exactly_once, group_id=f"crash-{run}")
    marker = f'"device":"{device}"'.encode()
    try:
        worker.start()
        put_connector(worker.url, "crash-test", config)
        wait_running(worker.url, "crash-test")
        with KafkaTail(stack.bootstrap_servers, kafka_topic) as tail:
            publisher = threading.Thread(target=publish, args=(stack.mqtt_url, device, MESSAGES),
                                         kwargs={"topic": mqtt_topic, "rate": RATE})
            publisher.start()
            assert len(tail.wait_for(marker, MESSAGES // 5, timeout=120)) >= MESSAGES // 5
            worker.kill()
            worker.start()
            wait_running(worker.url, "crash-test")
            publisher.join(120)
            tail.wait_for(marker, MESSAGES, timeout=180)
            time.sleep(2)  # let any late duplicate arrive before counting
            seqs = seqs_of(tail.matching(marker))
    finally:
        worker.stop()

    duplicates = len(seqs) - len(set(seqs))
    record_property("duplicates", duplicates)
    print(f"\n{'exactly-once' if exactly_once else 'at-least-once'}: {len(seqs)} records for "
          f"{MESSAGES} messages after a SIGKILL, {duplicates} duplicates")
    assert sorted(set(seqs)) == list(range(MESSAGES)), "messages were lost"
    if exactly_once:
        assert duplicates == 0
