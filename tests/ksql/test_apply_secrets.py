"""`socksort ksql-apply` never shows or stores the MQTT password (issue 11, item 4).

On the real stack (Connect worker, ksql server, Kafka): ksql-apply creates the MQTT source
(the stack's own is deleted first), and then the password is in none of: ksql-apply's
stdout and stderr, the ksql server's log, the Connect worker's log, Connect's
``GET /connectors/socksort-mqtt/config``, and the records of the ``socksort-connect-configs``
topic read back from Kafka. The connector still runs: the ${file:...} reference resolves
to the right password.
"""

from __future__ import annotations

import json
import os
import stat
import time

import pytest

from socksort.connect import connector
from socksort.connect.registration import wait_running
from socksort.net import json_request as request
from socksort.ksql.kafka_io import read_topic
from socksort.ksql.pipeline import CONNECTOR_SQL
from socksort.net import HttpError

pytestmark = pytest.mark.broker



def _delete_connector(stack) -> None:
    try:
        request(f"{stack.connect_url}/connectors/{connector.NAME}", "DELETE")
    except HttpError as exc:
        if exc.status != 404:
            raise
    deadline = time.monotonic() + 60
    while connector.NAME in request(f"{stack.connect_url}/connectors"):
        assert time.monotonic() < deadline, f"connector {connector.NAME} was not deleted"
        time.sleep(0.2)


@pytest.fixture
def without_the_stacks_connector(stack):
    """No socksort-mqtt on the worker, so ksql-apply registers it; the stack's own config is
    put back afterwards for the other tests."""
    _delete_connector(stack)
    yield
    _delete_connector(stack)
    stack.register_connector()


def _everything_written(stack, result) -> dict[str, str]:
    """Every place the password could have reached, as text."""
    config = request(f"{stack.connect_url}/connectors/{connector.NAME}/config")
    configs_topic = read_topic(stack.bootstrap_servers, f"{stack.connect.group_id}-configs")
    return {
        "ksql-apply stdout": result.stdout,
        "ksql-apply stderr": result.stderr,
        "ksql server log": (stack.ksql.workdir / "ksql.log").read_text(errors="replace"),
        "Connect worker log": stack.connect.log_path.read_text(errors="replace"),
        "GET /connectors/socksort-mqtt/config": json.dumps(config),
        "socksort-connect-configs topic": "\n".join(
            (m.key or b"").decode("utf-8", "replace") + " " + (m.value or b"").decode("utf-8", "replace")
            for m in configs_topic),
    }


@pytest.mark.parametrize("output", [[], ["--json"]], ids=["plain", "json"])
def test_ksql_apply_creates_the_connector_without_the_password_anywhere(
        stack, run_cli, tmp_path, without_the_stacks_connector, output):
    password = stack.mosquitto.password
    result = run_cli("ksql-apply", "--url", stack.ksql_url, "--mqtt-url", stack.mqtt_url, *output,
                     CONNECTOR_SQL, env={"SOCKSORT_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert connector.NAME in result.stdout

    config = request(f"{stack.connect_url}/connectors/{connector.NAME}/config")
    secrets = tmp_path / "connect" / "secrets" / (
        f"mqtt-{stack.mosquitto.username}@{stack.mosquitto.host}-{stack.mosquitto.port}.properties")
    assert config["mqtt.password"] == f"${{file:{secrets}:mqtt.password}}"
    assert stat.S_IMODE(os.stat(secrets).st_mode) == 0o600
    wait_running(stack.connect_url, connector.NAME)      # the reference gives the right password

    written = _everything_written(stack, result)
    assert [where for where, text in written.items() if password in text] == []
    assert "mqtt.password" in written["socksort-connect-configs topic"]    # the record is there


def test_ksql_apply_refers_to_a_secrets_file_on_connects_side_without_a_password(
        stack, run_cli, tmp_path, without_the_stacks_connector):
    """As with docker compose: the file exists where Connect runs; ksql-apply only names it."""
    secrets = tmp_path / "on-connects-machine.properties"
    connector.write_secrets(secrets, stack.mosquitto.password)
    m = stack.mosquitto
    result = run_cli("ksql-apply", "--url", stack.ksql_url, "--mqtt-url", f"mqtt://{m.username}@{m.host}:{m.port}",
                     "--secrets-file", secrets, CONNECTOR_SQL, env={"SOCKSORT_HOME": str(tmp_path / "home")})
    assert result.returncode == 0, result.stderr
    config = request(f"{stack.connect_url}/connectors/{connector.NAME}/config")
    assert config["mqtt.password"] == f"${{file:{secrets}:mqtt.password}}"
    assert not (tmp_path / "home").exists()
    wait_running(stack.connect_url, connector.NAME)


def test_a_bad_mqtt_url_is_refused_without_echoing_its_password(run_cli):
    result = run_cli("ksql-apply", "--mqtt-url", "mqtt://socksort:hunter2@127.0.0.1:18x3")
    assert result.returncode == 2
    assert "hunter2" not in result.stderr
    assert "'mqtt://socksort:***@127.0.0.1:18x3'" in result.stderr
