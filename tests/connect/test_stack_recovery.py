"""`stack up` after a Connect worker crash: it waits for the recovering worker, says what it
waits for, and never stops it.

A worker killed inside a transaction leaves that transaction open, and its successor reads
the offsets topic (read_committed) only up to it, until Kafka aborts it after
``transaction.timeout.ms`` — about a minute in which the new worker's REST API answers but
cannot register a connector. Whether a SIGKILL lands inside a transaction is chance, so
these tests also leave one open themselves, as the dead worker would have, with Connect's
producers' timeout. They kill and restart the shared stack's worker, and leave it running.

The test that waits until Kafka aborts the transactions gives them a shorter timeout than
the minute (its own, and the killed worker's producers', which it restarts with
``ConnectWorker.transaction_timeout_ms`` first): long enough that `stack up` finds the new
worker held back, short enough not to sit out the minute. What `stack up` does while it
waits does not depend on how long that lasts.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid

import pytest

from socksort.connect import connector
from socksort.connect.registration import connector_status
from socksort.stack import load, processes, worker
from socksort.stack.traffic import KafkaTail, publish, seqs_of
from socksort.stack.worker import worker_health

pytestmark = [pytest.mark.broker, pytest.mark.slow]

CONNECT_TRANSACTION_TIMEOUT_MS = 60_000  # the producer default, which Connect's task producers keep
# `stack up` finds the restarted worker held back about 15 s after the kill (the CLI and the
# JVM start, then /health answers "starting" after 10 s); Kafka aborts a transaction up to
# 10 s after its timeout (the broker's sweep).
WAITED_OUT_TRANSACTION_TIMEOUT_MS = 30_000


@contextlib.contextmanager
def _transaction_left_open(stack, timeout_ms: int = CONNECT_TRANSACTION_TIMEOUT_MS):
    """A transaction on the worker's offsets topic that nobody commits, which Kafka aborts
    after ``timeout_ms``; yields the producer (abort_transaction() ends it early)."""
    from confluent_kafka import KafkaException, Producer

    producer = Producer({"bootstrap.servers": stack.bootstrap_servers,
                         "transactional.id": f"crashed-worker-{uuid.uuid4().hex[:8]}",
                         "transaction.timeout.ms": timeout_ms})
    producer.init_transactions(30)
    producer.begin_transaction()
    producer.produce(stack.connect.properties()["offset.storage.topic"],
                     key=b'["crashed-worker",{"device":"none"}]', value=b'{"seq":0,"ts":0}')
    producer.flush(30)
    try:
        yield producer
    finally:
        with contextlib.suppress(KafkaException):
            producer.abort_transaction(10)  # already aborted by Kafka if the test took long


def _restart_connect(stack, transaction_timeout_ms: int) -> None:
    """Stop the stack's Connect worker cleanly and start it again, its task producers'
    transactions aborted by Kafka after ``transaction_timeout_ms``."""
    recorded = processes.read_pid_file(stack.home / "connect" / "pid.json")
    assert recorded is not None and recorded.alive(), "the stack's Connect worker is not running"
    processes.stop(recorded.pid, timeout=30)
    restarted = load(stack.home)
    restarted.connect.transaction_timeout_ms = transaction_timeout_ms
    restarted.connect.die_with_parent = True
    restarted.up()


def _kill_connect(stack) -> None:
    recorded = processes.read_pid_file(stack.home / "connect" / "pid.json")
    assert recorded is not None and recorded.alive(), "the stack's Connect worker is not running"
    processes.kill(recorded.pid)


def test_stack_up_after_a_connect_crash_waits_for_the_recovering_worker_and_says_why(stack, run_cli):
    device = f"recovery-{uuid.uuid4().hex[:8]}"
    marker, count = f'"device":"{device}"'.encode(), 1500
    _restart_connect(stack, WAITED_OUT_TRANSACTION_TIMEOUT_MS)
    with KafkaTail(stack.bootstrap_servers) as tail:
        publisher = threading.Thread(target=publish, args=(stack.mqtt_url, device, count), kwargs={"rate": 50})
        publisher.start()
        assert len(tail.wait_for(marker, 100, timeout=60)) >= 100
        with _transaction_left_open(stack, WAITED_OUT_TRANSACTION_TIMEOUT_MS):
            _kill_connect(stack)
            up = run_cli("stack", "up", env={"SOCKSORT_HOME": str(stack.home)}, timeout=600)
        publisher.join(120)
        tail.wait_for(marker, count, timeout=180)
        time.sleep(2)  # a late duplicate would show now
        seqs = seqs_of(tail.matching(marker))

    assert up.returncode == 0, up.stderr
    assert "Traceback" not in up.stderr
    assert ("waiting for the Connect worker to finish starting: it is initializing and reading to the "
            "end of internal topics") in up.stderr, up.stderr
    status = connector_status(stack.connect_url, connector.NAME)
    assert [task["state"] for task in status["tasks"]] == ["RUNNING"]
    assert sorted(seqs) == list(range(count)), "messages were lost or written twice"


def test_stack_up_leaves_a_worker_that_is_still_recovering_running(stack, monkeypatch):
    monkeypatch.setattr(worker, "STALL_LIMIT", 5.0)  # give up waiting long before Kafka aborts
    with _transaction_left_open(stack) as transaction:
        _kill_connect(stack)
        with pytest.raises(processes.StillStarting, match="keeps running and may yet recover"):
            load(stack.home).up()
        recorded = processes.read_pid_file(stack.home / "connect" / "pid.json")
        assert recorded is not None and recorded.alive()
        assert worker_health(stack.connect_url).status == "starting"
        assert load(stack.home).running() == [service.name for service in stack.services()]
        transaction.abort_transaction(10)
    monkeypatch.undo()
    report = load(stack.home).up()
    assert report["connect"]["pid"] == recorded.pid
    assert report["connect"]["connector"]["tasks"] == ["RUNNING"]
