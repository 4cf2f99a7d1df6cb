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
KAFKA_TOPIC = "data_mqtt"
SHOWINGS = "SOCK_SHOWINGS"
PAIRS = "SOCK_PAIRS"
PROCESSING_LOG_TOPIC = "socksort_ksql_processing_log"

BLANK_LABEL = "Blank"

# The camera a prediction without a ``device`` comes from (the seed's DeepLens sends none).
DEFAULT_DEVICE = "camera"

# The model artifact folder written by training/ and read by edge_lambda/ (see socksort.modelcard).
MODEL_FILES = ("model-symbol.json", "model-0000.params", "model.onnx", "labels.txt", "model.json")
