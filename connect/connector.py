"""The MQTT source connector's configuration as the stack registers it.

The keys are those of Confluent's MQTT source connector that the seed project used, so
its ``CREATE SOURCE CONNECTOR`` statement works against our worker by changing only
``connector.class``. The password never sits in the connector config (which Connect
stores in a Kafka topic and shows over REST): it lives in a secrets file read through
Kafka's FileConfigProvider, referenced as ``${file:<path>:mqtt.password}``.

A message over the payload limit must not stop the bridge: Connect's ``errors.*`` settings
tolerate it, log it and put it into a dead letter topic (see connect/README.md).
"""

from __future__ import annotations

from pathlib import Path

from socksort import connect_secrets, contract

NAME = "socksort-mqtt"
CLASS = "io.socksort.connect.mqtt.MqttSourceConnector"
PASSWORD_KEY = connect_secrets.PASSWORD_KEY


def write_secrets(path: Path, password: str) -> str:
    """Write the MQTT password to an owner-only properties file; return its config reference."""
    return connect_secrets.write(path, password)


def mqtt_source_config(host: str, port: int, username: str, password: str,
                       mqtt_topic: str = contract.MQTT_SUBSCRIPTION,
                       kafka_topic: str = contract.KAFKA_TOPIC,
                       dead_letter_topic: str = contract.KAFKA_DEAD_LETTER_TOPIC) -> dict[str, str]:
    """The config the stack PUTs to Connect; ``password`` may be a ``${file:...}`` reference."""
    return {
        "connector.class": CLASS,
        "tasks.max": "1",
        "mqtt.server.uri": f"tcp://{host}:{port}",
        "mqtt.topics": mqtt_topic,
        "kafka.topic": kafka_topic,
        "mqtt.username": username,
        "mqtt.password": password,
        "mqtt.qos": "1",
        "mqtt.max.payload.bytes": str(contract.MQTT_MAX_PAYLOAD_BYTES),
        "errors.tolerance": "all",
        "errors.log.enable": "true",
        "errors.log.include.messages": "false",
        "errors.deadletterqueue.topic.name": dead_letter_topic,
        "errors.deadletterqueue.context.headers.enable": "true",
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
    }
