"""docker-compose.yml cannot run here (no Docker), so it is held to the local stack by
comparison: same ports, topics, worker settings, broker rules and connector config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from socksort import contract
from socksort.connect import connector
from socksort.stack.mosquitto import Mosquitto
from socksort.stack.worker import ConnectWorker

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def _published(service: str) -> dict[int, str]:
    """{container port: 'host_ip:host_port'} of a compose service."""
    out = {}
    for mapping in SERVICES[service].get("ports", []):
        host_ip, host_port, container_port = mapping.split(":")
        out[int(container_port)] = f"{host_ip}:{host_port}"
    return out


@pytest.mark.parametrize("service, port", [
    ("mosquitto", contract.PORTS["mqtt"]),
    ("kafka", contract.PORTS["kafka"]),
    ("connect", contract.PORTS["connect"]),
    ("ksqldb-server", contract.PORTS["ksql"]),
])
def test_services_publish_the_local_stacks_ports_on_localhost_only(service, port):
    assert _published(service) == {port: f"127.0.0.1:{port}"}


def test_kafka_controller_uses_the_local_stacks_controller_port():
    env = SERVICES["kafka"]["environment"]
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"1@kafka:{contract.PORTS['kafka_controller']}"
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"


def test_registered_connector_config_matches_the_local_stacks():
    docker = json.loads((ROOT / "connect" / "docker" / "mqtt-source.json").read_text())
    local = connector.mqtt_source_config("mosquitto", contract.PORTS["mqtt"], "socksort", "<secret>")
    assert set(docker) == set(local)
    differing = {key for key in local if docker[key] != local[key]}
    assert differing == {"mqtt.password"}
    assert docker["mqtt.password"].startswith("${file:") and docker["mqtt.password"].endswith(":mqtt.password}")
    assert (docker["mqtt.topics"], docker["kafka.topic"]) == (contract.MQTT_SUBSCRIPTION, contract.KAFKA_TOPIC)


def test_connect_worker_settings_match_the_local_worker():
    env = SERVICES["connect"]["environment"]
    as_properties = {key[len("CONNECT_"):].lower().replace("_", "."): str(value)
                     for key, value in env.items() if key.startswith("CONNECT_")}
    local = {key: str(value) for key, value in ConnectWorker(Path("unused"), "unused:9092").properties().items()}
    shared = ["group.id", "config.storage.topic", "offset.storage.topic", "status.storage.topic",
              "key.converter", "value.converter", "exactly.once.source.support", "config.providers",
              "config.providers.file.class", "offset.flush.interval.ms",
              "config.storage.replication.factor", "offset.storage.replication.factor",
              "status.storage.replication.factor"]
    assert {k: as_properties.get(k) for k in shared} == {k: local[k] for k in shared}


def test_connect_mounts_the_built_plugin_folder():
    mounts = SERVICES["connect"]["volumes"]
    plugin_mount = next(m for m in mounts if m.startswith("./connect/target/plugins:"))
    container_path = plugin_mount.split(":")[1]
    assert container_path in SERVICES["connect"]["environment"]["CONNECT_PLUGIN_PATH"].split(",")


def test_ksqldb_uses_the_contracts_processing_log_topic_and_the_compose_connect():
    env = SERVICES["ksqldb-server"]["environment"]
    assert env["KSQL_KSQL_LOGGING_PROCESSING_TOPIC_NAME"] == contract.PROCESSING_LOG_TOPIC
    assert env["KSQL_KSQL_CONNECT_URL"] == f"http://connect:{contract.PORTS['connect']}"


def test_mosquitto_follows_the_local_brokers_rules():
    def directives(lines):
        return {line.split()[0]: line.split(None, 1)[1] for line in lines
                if line.strip() and not line.startswith("#")}
    docker = directives((ROOT / "connect" / "docker" / "mosquitto.conf").read_text().splitlines())
    local = directives(Mosquitto(Path("unused")).config_lines(Path("passwd"), Path("data")))
    rules = ["allow_anonymous", "persistence", "autosave_interval", "max_queued_messages",
             "max_queued_bytes", "max_inflight_messages", "set_tcp_nodelay", "message_size_limit"]
    assert {k: docker.get(k) for k in rules} == {k: local[k] for k in rules}
    assert docker["listener"].split()[0] == str(contract.PORTS["mqtt"])


def _env_of(command: str) -> set[str]:
    """The SOCKSORT_* variables a `socksort COMMAND`'s options read."""
    import re

    from socksort.cli import build_parser
    parser = build_parser()
    commands = next(a for a in parser._actions if getattr(a, "choices", None) and "worker" in a.choices)
    return {name for action in commands.choices[command]._actions
            for name in re.findall(r"\[env (SOCKSORT_[A-Z_]+)\]", action.help or "")}


def test_workers_scale_out_with_no_fixed_port_or_name():
    worker = SERVICES["worker"]
    assert "ports" not in worker and "container_name" not in worker
    assert "socksort worker" in worker["command"]
    assert {"kafka", "topics-init"} <= set(worker["depends_on"])


def test_workers_reach_kafka_on_its_internal_listener_and_read_only_their_own_settings():
    env = SERVICES["worker"]["environment"]
    internal = next(l for l in SERVICES["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"].split(",")
                    if l.startswith("INTERNAL://"))
    assert env["SOCKSORT_BOOTSTRAP"] == internal.removeprefix("INTERNAL://")
    assert set(env) <= _env_of("worker")
    assert "SOCKSORT_MODELS" in env or "SOCKSORT_MODEL" in env


def test_the_frames_topic_gets_the_partitions_stack_up_gives_it():
    import re
    created = dict(re.findall(r"--topic (\S+) --partitions (\d+)", SERVICES["topics-init"]["entrypoint"]))
    assert created == {contract.CAMERA_FRAMES: str(contract.FRAME_PARTITIONS), contract.WORKER_ERRORS_TOPIC: "1"}
