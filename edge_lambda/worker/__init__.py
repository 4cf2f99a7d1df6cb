"""``socksort worker``: the edge's inference moved behind Kafka.

One member of the consumer group ``socksort-workers``: frames from ``camera_frames``
(``socksort camera``), batched across cameras into one ONNX Runtime call, one prediction
per frame to ``data_mqtt``, consumed and produced inside Kafka transactions. By job:
``batching`` (what is waiting, what is too old), ``inference`` (a batch through the
model), ``health`` (counters, ``/healthz``, ``/metrics``), ``consumer`` (the loop and its
transactions).
"""
