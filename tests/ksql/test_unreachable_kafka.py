"""An unreachable Kafka gives one clear line, not librdkafka's retry log (unless --verbose)."""

from __future__ import annotations

import json

import pytest

from socksort.net import free_port


@pytest.fixture
def nowhere() -> str:
    """A bootstrap address where nothing listens."""
    return f"127.0.0.1:{free_port()}"


@pytest.fixture
def recording(tmp_path):
    path = tmp_path / "frames.jsonl"
    path.write_text(json.dumps({"image": "Mongo", "probability": 90.0, "ts": 1_700_000_000_000,
                                "device": "cam", "seq": 1}) + "\n")
    return path


def test_replay_to_an_unreachable_kafka_prints_only_the_clear_line(run_cli, recording, nowhere):
    result = run_cli("replay", recording, "--via", "kafka", "--bootstrap", nowhere, "--timeout", 5)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"socksort: error: Kafka at {nowhere} did not answer within 10s: Failed to get metadata: "
        "Local: Broker transport failure"]


def test_replay_verbose_also_prints_the_kafka_clients_own_log(run_cli, recording, nowhere):
    result = run_cli("replay", recording, "--via", "kafka", "--bootstrap", nowhere, "--verbose")
    assert result.returncode == 2
    assert f"Connect to ipv4#{nowhere} failed" in result.stderr
    assert result.stderr.count("\n") > 2


def test_ksql_server_on_an_unreachable_kafka_says_so_in_two_lines(run_cli, nowhere):
    result = run_cli("ksql-server", "--bootstrap", nowhere, "--listen", f"127.0.0.1:{free_port()}")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"==> ksql server: connecting to Kafka at {nowhere}",
        "socksort: error: Kafka did not answer within 10s: Failed to get metadata: Local: Broker transport failure"]


def test_kafka_client_errors_reach_the_log_once_per_kind_a_minute(caplog):
    from confluent_kafka import KafkaError

    from socksort.ksql.kafka_io import _ErrorLog

    errors = _ErrorLog(every_s=60)
    with caplog.at_level("WARNING", logger="socksort.kafka"):
        for _ in range(200):
            errors(KafkaError(KafkaError._TRANSPORT, "127.0.0.1:9092/bootstrap: Connect failed"))
        errors(KafkaError(KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down"))
    assert [r.getMessage() for r in caplog.records] == [
        "Kafka: 127.0.0.1:9092/bootstrap: Connect failed", "Kafka: 1/1 brokers are down"]
