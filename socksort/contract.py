"""The wire contract between stages: ports, topics and file names every stage agrees on.

A stage never imports another stage's internals; it imports these names instead.
"""

# Default ports on 127.0.0.1.
PORTS = {
    "dashboard": 8080,
    "edge": 8081,
    "match": 8082,            # socksort match-service: matching by look across cameras
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

# Thin cameras -> inference workers (issue 17): key = device id (UTF-8), value = one JPEG
# frame, headers ts (epoch ms), seq (per-device counter), both ASCII decimal, and
# content-type. The workers, one consumer group, put one prediction per frame on KAFKA_TOPIC.
CAMERA_FRAMES = "camera_frames"
FRAME_PARTITIONS = 6             # what `stack up` creates it with: the most useful workers
FRAME_HEADERS = ("ts", "seq", "content-type")
FRAME_CONTENT_TYPE = "image/jpeg"
WORKER_GROUP = "socksort-workers"
# Frames a worker cannot classify (not a JPEG, a header missing, too large), one JSON line each.
WORKER_ERRORS_TOPIC = "socksort_worker_errors"
# Each running worker's /healthz snapshot (cameras with FPS and lag), every few seconds; key =
# worker id, compacted, a tombstone when it stops: how `socksort workers` and a dashboard find them.
WORKER_STATUS_TOPIC = "socksort_worker_status"

# The largest MQTT payload the pipeline carries: Mosquitto's message_size_limit and the
# connector's mqtt.max.payload.bytes, well under Kafka's 1 MiB request limit. A prediction
# is a few hundred bytes.
MQTT_MAX_PAYLOAD_BYTES = 256 * 1024

BLANK_LABEL = "Blank"

# The camera a prediction without a ``device`` comes from (the seed's DeepLens sends none).
DEFAULT_DEVICE = "camera"

# The model artifact folder written by training/ and read by edge_lambda/ (see socksort.modelcard).
MODEL_FILES = ("model-symbol.json", "model-0000.params", "model.onnx", "labels.txt", "model.json")
