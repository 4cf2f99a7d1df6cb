"""Registering the connector waits for it to run, restarting parts that failed for reasons
that have since gone away (a broker that was down, a config from an earlier stack)."""

from __future__ import annotations

import time
import uuid

import pytest

from socksort.connect import connector
from socksort.connect.registration import connector_status, put_connector, wait_running
from socksort.errors import UserError
from socksort.net import json_request as request

pytestmark = pytest.mark.broker


def _task_states(stack, name: str) -> list[str]:
    return [task["state"] for task in connector_status(stack.connect_url, name)["tasks"]]


def _wait_task_state(stack, name: str, state: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _task_states(stack, name) != [state]:
        time.sleep(0.5)
    assert _task_states(stack, name) == [state]


@pytest.fixture
def registered(stack, mosquitto):
    """A connector of this test's own, on its own broker, RUNNING; deleted afterwards."""
    name = f"registration-{uuid.uuid4().hex[:8]}"
    m = mosquitto
    put_connector(stack.connect_url, name, connector.mqtt_source_config(
        m.host, m.port, m.username, m.password, mqtt_topic=f"{name}/in", kafka_topic=name))
    wait_running(stack.connect_url, name)
    yield name
    request(f"{stack.connect_url}/connectors/{name}", "DELETE")


def _fail_task(stack, name: str) -> None:
    """Restart the task while its broker is down: its start() cannot connect, so it FAILS."""
    request(f"{stack.connect_url}/connectors/{name}/restart?includeTasks=true", "POST")
    _wait_task_state(stack, name, "FAILED")


def test_a_task_that_failed_while_the_broker_was_down_is_restarted(stack, mosquitto, registered):
    mosquitto.stop()
    _fail_task(stack, registered)
    mosquitto.start()
    status = wait_running(stack.connect_url, registered)
    assert [task["state"] for task in status["tasks"]] == ["RUNNING"]


def test_a_task_that_keeps_failing_is_reported_with_its_cause(stack, mosquitto, registered):
    mosquitto.stop()
    _fail_task(stack, registered)
    with pytest.raises(UserError, match="cannot connect to MQTT"):
        wait_running(stack.connect_url, registered, timeout=60, restarts=1)


def _config_updates(stack, name: str) -> int:
    """How often the worker took a new config for ``name`` (each one restarts the connector)."""
    return stack.connect.log_path.read_text().count(f"Connector {name} config updated")


def test_registering_an_unchanged_config_leaves_the_running_connector_alone(stack, mosquitto, registered):
    m = mosquitto
    config = connector.mqtt_source_config(m.host, m.port, m.username, m.password,
                                          mqtt_topic=f"{registered}/in", kafka_topic=registered)
    before = _config_updates(stack, registered)
    assert put_connector(stack.connect_url, registered, config) is False
    assert _config_updates(stack, registered) == before


def test_registering_a_changed_config_updates_the_connector(stack, mosquitto, registered):
    m = mosquitto
    config = connector.mqtt_source_config(m.host, m.port, m.username, m.password,
                                          mqtt_topic=f"{registered}/other", kafka_topic=registered)
    assert put_connector(stack.connect_url, registered, config) is True
    assert request(f"{stack.connect_url}/connectors/{registered}/config")["mqtt.topics"] == f"{registered}/other"
    wait_running(stack.connect_url, registered)
