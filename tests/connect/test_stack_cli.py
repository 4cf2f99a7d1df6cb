"""`socksort stack up|down|status`: starts, reports and stops only its own services."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
import uuid

import pytest

from socksort import contract
from socksort.config import mqtt_url
from socksort.connect import connector
from socksort.connect.registration import connector_status, failures, wait_running
from socksort.net import free_port, json_request as request
from socksort.stack.mosquitto import connack
from socksort.stack.processes import identify, write_pid_file
from socksort.stack.traffic import create_topic, publish

pytestmark = pytest.mark.broker


def _ports() -> list[str]:
    chosen: list[int] = []
    while len(chosen) < 5:
        port = free_port()
        if port not in chosen:
            chosen.append(port)
    flags = ["--mqtt-port", "--kafka-port", "--controller-port", "--connect-port", "--ksql-port"]
    return [str(x) for pair in zip(flags, chosen) for x in pair]


def test_status_of_a_stack_never_started_reports_every_service_stopped(run_cli, tmp_path):
    result = run_cli("stack", "status", "--json", env={"SOCKSORT_HOME": str(tmp_path / "home")})
    assert result.returncode == 3
    report = json.loads(result.stdout)
    assert {"mosquitto", "kafka", "connect"} <= set(report)
    assert {entry["state"] for entry in report.values()} == {"stopped"}
    assert {"mqtt_url", "bootstrap_servers", "connect_url"} <= {k for e in report.values() for k in e}


def test_up_refuses_a_port_held_by_another_process_and_names_it(run_cli, tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        args = _ports()
        args[1] = str(port)  # --mqtt-port
        result = run_cli("stack", "up", *args, env={"SOCKSORT_HOME": str(tmp_path / "home")})
    assert result.returncode == 2
    assert f"port {port}" in result.stderr
    assert "pid " in result.stderr and "python" in result.stderr


def test_a_failed_up_stops_what_it_had_started(run_cli, tmp_path):
    home = tmp_path / "home"
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        args = _ports()
        args[3] = str(squatter.getsockname()[1])  # --kafka-port: fails after Mosquitto started
        result = run_cli("stack", "up", *args, env={"SOCKSORT_HOME": str(home)})
    assert result.returncode == 2
    assert "starting Mosquitto" in result.stderr
    assert not (home / "mosquitto" / "pid.json").exists()
    status = json.loads(run_cli("stack", "status", "--json", env={"SOCKSORT_HOME": str(home)}).stdout)
    assert status["mosquitto"]["state"] == "stopped"


def test_a_bad_port_in_the_environment_is_named(run_cli, tmp_path):
    result = run_cli("stack", "up", env={"SOCKSORT_HOME": str(tmp_path), "SOCKSORT_KAFKA_PORT": "99999"})
    assert result.returncode == 2
    assert "SOCKSORT_KAFKA_PORT='99999'" in result.stderr


def test_status_names_a_bad_port_in_the_environment(run_cli, tmp_path):
    result = run_cli("stack", "status", env={"SOCKSORT_HOME": str(tmp_path), "SOCKSORT_CONNECT_PORT": "8x"})
    assert result.returncode == 2
    assert result.stderr.strip() == "socksort: error: SOCKSORT_CONNECT_PORT='8x': not a port number (1-65535)"


def test_status_of_a_stack_never_started_looks_at_the_ports_asked_for(run_cli, tmp_path):
    port = free_port()
    result = run_cli("stack", "status", "--json", env={"SOCKSORT_HOME": str(tmp_path), "SOCKSORT_CONNECT_PORT": str(port)})
    assert json.loads(result.stdout)["connect"]["connect_url"] == f"http://127.0.0.1:{port}"


def test_status_says_when_the_started_stack_has_other_ports_than_those_asked_for(run_cli, tmp_path):
    from socksort.stack import Ports, Stack
    recorded = Stack(tmp_path, Ports(*(free_port() for _ in range(5))), with_ksql=False)
    recorded._save_state()
    result = run_cli("stack", "status", "--json", "--connect-port", free_port(), env={"SOCKSORT_HOME": str(tmp_path)})
    assert json.loads(result.stdout)["connect"]["connect_url"] == recorded.connect_url
    assert "socksort: note: showing the stack started in" in result.stderr
    assert f"'connect': {recorded.ports.connect}" in result.stderr


def test_down_leaves_a_process_that_merely_reused_a_recorded_pid_alone(run_cli, tmp_path):
    home = tmp_path / "home"
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        identity = write_pid_file(home / "mosquitto" / "pid.json", stranger.pid)
        # Same pid, different start time: what a pid file looks like after the pid was reused.
        (home / "mosquitto" / "pid.json").write_text(json.dumps(
            {"pid": identity.pid, "start_ticks": identity.start_ticks - 1, "command": identity.command}))
        run_cli("stack", "down", env={"SOCKSORT_HOME": str(home)}, check=True)
        assert identify(stranger.pid) is not None
    finally:
        stranger.kill()
        stranger.wait()


@pytest.mark.slow
def test_up_status_down_round_trip(run_cli, tmp_path):
    env = {"SOCKSORT_HOME": str(tmp_path / "home")}
    try:
        up = run_cli("stack", "up", *_ports(), "--json", env=env, timeout=600)
        assert up.returncode == 0, up.stderr
        status = run_cli("stack", "status", "--json", env=env)
        assert status.returncode == 0
        report = json.loads(status.stdout)
        assert all(entry["state"] == "running" and entry["pid"] for entry in report.values())
        assert report["connect"]["connector"] == {"name": "socksort-mqtt", "state": "RUNNING", "tasks": ["RUNNING"]}
        broker = mqtt_url(report["mosquitto"]["mqtt_url"])
        assert connack(broker.host, broker.port, broker.username, broker.password) == 0
        pids = [entry["pid"] for entry in report.values()]
        again = run_cli("stack", "up", *_ports(), "--json", env=env)  # other ports: what runs wins
        assert again.returncode == 0 and "already running" in again.stderr
        assert [entry["pid"] for entry in json.loads(again.stdout).values()] == pids
    finally:
        down = run_cli("stack", "down", env=env)
    assert down.returncode == 0
    assert all(identify(pid) is None for pid in pids)
    assert json.loads(run_cli("stack", "status", "--json", env=env).stdout)["kafka"]["state"] == "stopped"


@contextlib.contextmanager
def _bridge_failing_on_kafkas_side(stack):
    """The shared stack's bridge with its task FAILED in a way no payload check prevents:
    Kafka's data topic takes no record over 100 bytes (max.message.bytes), a prediction is
    larger, and with exactly-once support the refused record fails the task. Yields the
    failures as Connect reports them; restores the topic and the bridge afterwards."""
    from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

    admin = AdminClient({"bootstrap.servers": stack.bootstrap_servers})
    create_topic(stack.bootstrap_servers, contract.KAFKA_TOPIC)

    def topic_limit(operation, value=None):
        resource = ConfigResource("topic", contract.KAFKA_TOPIC, incremental_configs=[
            ConfigEntry("max.message.bytes", value, incremental_operation=operation)])
        admin.incremental_alter_configs([resource])[resource].result(30)

    topic_limit(AlterConfigOpType.SET, "100")
    try:
        publish(stack.mqtt_url, f"refused-{uuid.uuid4().hex[:8]}", 1)
        deadline = time.monotonic() + 60
        while not (failed := failures(connector_status(stack.connect_url, connector.NAME))):
            assert time.monotonic() < deadline, "the task did not fail"
            time.sleep(0.5)
        yield failed
    finally:
        topic_limit(AlterConfigOpType.DELETE)
        request(f"{stack.connect_url}/connectors/{connector.NAME}/restart?includeTasks=true&onlyFailed=true", "POST")
        wait_running(stack.connect_url, connector.NAME)


def test_status_reports_a_failed_task_with_its_traces_first_line(stack, run_cli):
    env = {"SOCKSORT_HOME": str(stack.home)}
    with _bridge_failing_on_kafkas_side(stack) as failed:
        as_json = run_cli("stack", "status", "--json", env=env)
        as_text = run_cli("stack", "status", env=env)
    assert (as_json.returncode, as_text.returncode) == (3, 3)
    reported = json.loads(as_json.stdout)["connect"]
    assert reported["state"] == "running" and reported["connector"]["tasks"] == ["FAILED"]
    assert reported["connector"]["failures"] == [{"part": "task 0", "trace": failed[0].trace,
                                                  "cause": failed[0].cause}]
    assert "RecordTooLargeException" in failed[0].cause
    assert str(failed[0]) in as_text.stdout


def test_up_reports_a_task_that_stays_failed_with_its_traces_first_line(stack, run_cli):
    with _bridge_failing_on_kafkas_side(stack):
        up = run_cli("stack", "up", env={"SOCKSORT_HOME": str(stack.home)})
        failed = failures(connector_status(stack.connect_url, connector.NAME))
    assert up.returncode == 2
    assert "Traceback" not in up.stderr
    assert f"socksort: error: connector 'socksort-mqtt' {failed[0]}" in up.stderr
