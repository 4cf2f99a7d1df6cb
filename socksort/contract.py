"""The wire contract between stages: ports, topics and file names every stage agrees on.

A stage never imports another stage's internals; it imports these names instead.
"""

# Default ports on 127.0.0.1.
PORTS = {
    "dashboard": 8080,
    "edge": 8081,
    "mqtt": 1883,
    "kafka": 9092,
    "kafka_controller": 9093,
    "connect": 8083,
    "ksql": 8088,
}

MQTT_TOPIC = "sockfound"
# What the connector subscribes to: the topic, and one level under it for cameras that name
# no device in their payload and so publish to a topic of their own (sockfound/left).
MQTT_SUBSCRIPTION = f"{MQTT_TOPIC},{MQTT_TOPIC}/+"
KAFKA_TOPIC = "data_mqtt"
SHOWINGS = "SOCK_SHOWINGS"
PAIRS = "SOCK_PAIRS"
PROCESSING_LOG_TOPIC = "socksort_ksql_processing_log"
# MQTT messages the bridge cannot put into KAFKA_TOPIC (too large), with why, for inspection.
KAFKA_DEAD_LETTER_TOPIC = "data_mqtt_dlq"

# The largest MQTT payload the pipeline carries: Mosquitto's message_size_limit and the
# connector's mqtt.max.payload.bytes, well under Kafka's 1 MiB request limit. A prediction
# is a few hundred bytes.
MQTT_MAX_PAYLOAD_BYTES = 256 * 1024

BLANK_LABEL = "Blank"

# The camera a prediction without a ``device`` comes from (the seed's DeepLens sends none).
DEFAULT_DEVICE = "camera"

# The model artifact folder written by training/ and read by edge_lambda/ (see socksort.modelcard).
MODEL_FILES = ("model-symbol.json", "model-0000.params", "model.onnx", "labels.txt", "model.json")
