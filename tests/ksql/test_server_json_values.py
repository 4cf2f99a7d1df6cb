"""The ksql server on real Kafka reads JSON values as ksqlDB's JSON deserializer does: what
it coerces is counted, what it rejects lands in the processing-log topic (ENGINE.md,
"JSON values"; every JSON type x column type is in test_json_coercion.py)."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from socksort.contract import PROCESSING_LOG_TOPIC
from socksort.ksql.client import rest_client
from socksort.ksql.kafka_io import read_topic

pytestmark = pytest.mark.broker


def _produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap})
    for value in values:
        producer.produce(topic, value=value, key=b"sockfound")
    assert producer.flush(30) == 0


def _poll(check, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(0.3)
    return value


def test_the_server_counts_what_ksqldb_coerces_and_logs_what_it_rejects(stack):
    tag = uuid.uuid4().hex[:8]
    topic = f"json_values_{tag}"
    rest_client.run(stack.ksql_url,
                    f"CREATE STREAM FRAMES_{tag} (IMAGE VARCHAR, PROBABILITY DOUBLE) WITH "
                    f"(KAFKA_TOPIC='{topic}', VALUE_FORMAT='JSON', PARTITIONS=1);"
                    f"CREATE TABLE SEEN_{tag} AS SELECT IMAGE, COUNT(*) AS N FROM FRAMES_{tag} GROUP BY IMAGE;")
    try:
        _produce(stack.bootstrap_servers, topic, [
            b'{"image": "Mongo", "probability": "97.3"}',     # Double.parseDouble: 97.3
            b'{"image": 5, "probability": 97.3}',             # a number's text: "5"
            b'{"image": "Mongo", "probability": NaN}',        # not JSON
            b'{"image": "Mongo", "probability": "inf"}',      # Java cannot parse it
            b'{"image": "Mongo", "probability": true}',       # a boolean is no number
        ])
        seen = _poll(lambda: (rows := rest_client.pull(stack.ksql_url, f"SELECT * FROM SEEN_{tag};").rows)
                     and len(rows) == 2 and sorted(map(tuple, rows)))
        assert seen == [("5", 1), ("Mongo", 1)]

        def logged():
            return [e["message"]["deserializationError"]["errorMessage"]
                    for e in map(json.loads, (m.value for m in read_topic(stack.bootstrap_servers,
                                                                           PROCESSING_LOG_TOPIC)))
                    if (e["message"].get("deserializationError") or {}).get("topic") == topic]
        messages = _poll(lambda: len(logged()) >= 3 and logged())
        assert len(messages) == 3
        assert "not JSON" in messages[0]
        assert messages[1:] == [
            "Failed to deserialize value: Can't coerce string to type. targetType: DOUBLE, path: $.PROBABILITY",
            "Failed to deserialize value: Can't convert type. sourceType: BooleanNode, requiredType: DOUBLE, "
            "path: $.PROBABILITY"]
    finally:
        rest_client.run(stack.ksql_url, f"DROP TABLE IF EXISTS SEEN_{tag}; DROP STREAM IF EXISTS FRAMES_{tag};")
