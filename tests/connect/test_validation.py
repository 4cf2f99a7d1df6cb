"""Bad connector configs fail Connect's validation with a message on the key at fault."""

from __future__ import annotations

import pytest

from socksort.connect import connector
from socksort.connect.registration import put_connector, validate
from socksort.net import HttpError, free_port

pytestmark = pytest.mark.broker


def _config(stack, **overrides) -> dict[str, str]:
    m = stack.mosquitto
    config = connector.mqtt_source_config(m.host, m.port, m.username, m.password, kafka_topic="validation")
    config.update(overrides)
    return {k: v for k, v in config.items() if v is not None}


def _errors(stack, **overrides) -> dict[str, list[str]]:
    return validate(stack.connect_url, connector.CLASS, _config(stack, **overrides))


def test_a_good_config_validates_cleanly(stack):
    assert _errors(stack) == {}


def test_missing_kafka_topic_is_named(stack):
    errors = _errors(stack, **{"kafka.topic": None})
    assert list(errors) == ["kafka.topic"]


def test_unreachable_broker_uri_is_named(stack):
    errors = _errors(stack, **{"mqtt.server.uri": f"tcp://127.0.0.1:{free_port()}"})
    assert list(errors) == ["mqtt.server.uri"]
    assert "cannot reach" in errors["mqtt.server.uri"][0]


def test_malformed_broker_uri_is_named(stack):
    errors = _errors(stack, **{"mqtt.server.uri": "http://127.0.0.1"})
    assert list(errors) == ["mqtt.server.uri"]


def test_wrong_password_is_named(stack):
    errors = _errors(stack, **{"mqtt.password": "wrong"})
    assert list(errors) == ["mqtt.password"]
    assert "refused" in errors["mqtt.password"][0]


def test_qos_out_of_range_is_named(stack):
    assert list(_errors(stack, **{"mqtt.qos": "3"})) == ["mqtt.qos"]


def test_creating_a_connector_with_a_bad_config_is_refused(stack):
    with pytest.raises(HttpError, match="kafka.topic") as refused:
        put_connector(stack.connect_url, "refused-by-validation", _config(stack, **{"kafka.topic": None}))
    assert refused.value.status == 400


def test_confluent_connectors_extra_keys_from_the_seed_statement_are_accepted(stack):
    # The seed's statement carried the commercial connector's licence-topic settings;
    # they mean nothing here and must not make the statement fail.
    assert _errors(stack, **{"confluent.topic.bootstrap.servers": "broker:29092",
                             "confluent.topic.replication.factor": "1"}) == {}


def test_a_password_read_through_the_file_config_provider_is_checked(stack, tmp_path):
    right = connector.write_secrets(tmp_path / "right.properties", stack.mosquitto.password)
    wrong = connector.write_secrets(tmp_path / "wrong.properties", "not-the-password")
    assert _errors(stack, **{"mqtt.password": right}) == {}
    assert list(_errors(stack, **{"mqtt.password": wrong})) == ["mqtt.password"]
