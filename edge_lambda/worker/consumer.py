"""The worker's loop: consume frames, classify them, produce predictions, in one transaction.

Each turn takes the frames already waiting (:func:`batching.take_waiting`), then inside one
Kafka transaction produces a prediction per frame to ``data_mqtt``, a line per refused
record to ``socksort_worker_errors``, and the consumed offsets
(``send_offsets_to_transaction`` with the group's metadata). A worker killed mid-turn
leaves an open transaction that Kafka aborts (``transaction.timeout.ms``), and its
partitions go to another member, which starts from the last committed offsets: nothing is
lost and, for a ``read_committed`` reader, nothing is doubled. The ``transactional.id`` is
unique per process, so workers with the same arguments never fence each other; a zombie is
fenced by the group generation its offsets carry (KIP-447).

Frames arrive in offset order per partition and one camera's frames share a partition (the
key is the device), so each camera's predictions are produced in ``seq`` order.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from socksort import contract
from socksort.config import HostPort
from socksort.edge_lambda import fleet_kafka, framewire, signals
from socksort.edge_lambda.framewire import BadFrame, FrameRecord
from socksort.edge_lambda.worker import batching, inference
from socksort.edge_lambda.worker.health import HealthServer, WorkerMetrics
from socksort.edge_lambda.worker.status_topic import TOPIC_CONFIG, StatusPublisher
from socksort.errors import UserError
from socksort.images import UnreadableImage
from socksort.modelstore import ModelStore
from socksort.schema import Prediction

# confluent-kafka is imported inside Worker.start (seconds of import for `socksort --help`).

SESSION_TIMEOUT_MS = 6000          # a killed worker's partitions move on after this
TRANSACTION_TIMEOUT_MS = 10000     # and its open transaction is aborted after this
DEPLOY_CHECK_S = 2.0
SKIP_AHEAD = 1000                  # with --max-lag: old frames taken along in one turn, at most


@dataclass
class WorkerConfig:
    bootstrap: str
    model: Path | None = None          # a model folder, or
    models: Path | None = None         # a model store: its deployed model, else the newest
    max_batch: int = 8
    max_lag: float | None = None       # seconds; None: every frame is classified
    max_bytes: int = framewire.DEFAULT_MAX_BYTES
    http: HostPort | None = HostPort("127.0.0.1", 0)
    threads: int | None = None
    threshold: float = 0.0
    top_k: int = 3
    runtime: str = "onnx"         # or "onnx-int8": the folder's model.int8.onnx (socksort quantize)
    follow_deploys: bool = True        # with `models`: switch when another model is deployed
    poll_s: float = 0.2
    publish_status: bool = True        # snapshots on socksort_worker_status for `socksort workers`


class Worker:
    def __init__(self, config: WorkerConfig, log=None):
        self.config = config
        self.id = f"socksort-worker-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.metrics = WorkerMetrics(self.id)
        self.log = log or (lambda text: print(f"socksort worker: {text}", file=sys.stderr, flush=True))
        self.model: inference.LoadedModel | None = None
        self.http: HealthServer | None = None
        self.status: StatusPublisher | None = None
        self._consumer = None
        self._producer = None
        self._revoked = False
        self._stop = threading.Event()
        self._next_deploy_check = 0.0

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> "Worker":
        from confluent_kafka import Consumer, Producer

        cfg = self.config
        self.model = self._load_model()
        fleet_kafka.ensure_topics(cfg.bootstrap, {contract.CAMERA_FRAMES: contract.FRAME_PARTITIONS,
                                                  contract.WORKER_ERRORS_TOPIC: 1, contract.WORKER_STATUS_TOPIC: 1},
                                  configs={contract.WORKER_STATUS_TOPIC: TOPIC_CONFIG})
        base = fleet_kafka.client_config(cfg.bootstrap)
        self._consumer = Consumer({
            **base, "group.id": contract.WORKER_GROUP, "client.id": self.id,
            "enable.auto.commit": False, "auto.offset.reset": "earliest",
            "isolation.level": "read_committed", "session.timeout.ms": SESSION_TIMEOUT_MS,
            "heartbeat.interval.ms": 1000, "fetch.wait.max.ms": 50,
            "fetch.message.max.bytes": max(cfg.max_bytes + 4096, 1024 * 1024)})
        self._producer = Producer({
            **base, "transactional.id": self.id, "enable.idempotence": True, "acks": "all",
            "linger.ms": 1, "transaction.timeout.ms": TRANSACTION_TIMEOUT_MS})
        try:
            self._producer.init_transactions(30)
        except Exception as exc:
            raise UserError(f"Kafka at {cfg.bootstrap} refused a transactional producer: {exc}") from None
        self._consumer.subscribe([contract.CAMERA_FRAMES], on_assign=self._assigned,
                                 on_revoke=self._revoked_cb, on_lost=self._revoked_cb)
        if cfg.http is not None:
            self.http = HealthServer(self.metrics, cfg.http.host, cfg.http.port).start()
            self.log(f"health on {self.http.url}/healthz, metrics on {self.http.url}/metrics")
        self.metrics.state = "running"
        if cfg.publish_status:
            self.status = StatusPublisher(cfg.bootstrap, self.metrics, self.http.url if self.http else None).start()
        self.log(f"{self.id} in group {contract.WORKER_GROUP} on {cfg.bootstrap}, "
                 f"batches of up to {cfg.max_batch}"
                 + (f", skipping frames older than {cfg.max_lag:g}s" if cfg.max_lag is not None else ""))
        return self

    def request_stop(self) -> None:
        self._stop.set()

    def run(self, stop_on_sigterm: bool = False) -> None:
        if stop_on_sigterm:
            signals.stop_on_sigterm(self.request_stop)
        try:
            while not self._stop.is_set():
                self.step()
        except BaseException as exc:
            self.metrics.state, self.metrics.error = "failed", str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise
        finally:
            self.close()

    def close(self) -> None:
        if self.metrics.state == "running":
            self.metrics.state = "stopping"
        if self._consumer is not None:
            try:
                self._consumer.close()   # leaves the group: its partitions move on at once
            except Exception:
                pass
            self._consumer = None
        if self._producer is not None:
            self._producer.flush(5)
            self._producer = None
        if self.status is not None:
            self.status.stop()
            self.status = None
        if self.http is not None:
            self.http.stop()
            self.http = None

    # --- one turn ----------------------------------------------------------------------------

    def step(self) -> int:
        """Take what is waiting and handle it in one transaction; the number of records."""
        self._maybe_follow_deploy()
        cfg = self.config
        if cfg.max_lag is None:
            records = batching.take_waiting(self._consumer, cfg.max_batch, cfg.poll_s, self._forget_revoked)
        else:
            oldest = int(time.time() * 1000) - cfg.max_lag * 1000

            def takes_slot(record) -> bool:
                ts = batching.frame_ts(record.headers())
                return ts is not None and ts >= oldest

            records = batching.take_waiting(self._consumer, cfg.max_batch, cfg.poll_s, self._forget_revoked,
                                            takes_slot, most=cfg.max_batch + SKIP_AHEAD)
        records = [r for r in records if self._usable(r)]
        if not records:
            self.metrics.idle()
            return 0
        self._transact(records)
        return len(records)

    def _usable(self, record) -> bool:
        error = record.error()
        if error is None:
            return True
        if error.fatal():
            raise UserError(f"Kafka consumer failed: {error.str()}")
        return False   # partition EOF, a topic not there yet: nothing to classify

    def _transact(self, records) -> None:
        from confluent_kafka import KafkaException, TopicPartition

        producer = self._producer
        producer.begin_transaction()
        try:
            outcome = self._produce_results(records)
            offsets = [TopicPartition(topic, partition, offset)
                       for (topic, partition), offset in batching.next_offsets(records).items()]
            producer.send_offsets_to_transaction(offsets, self._consumer.consumer_group_metadata(), 30)
            self._commit()
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if error is not None and hasattr(error, "txn_requires_abort") and error.txn_requires_abort():
                self._abort(records, error.str())
                return
            raise UserError(f"Kafka transaction failed: {error.str() if hasattr(error, 'str') else exc}") from None
        except BaseException:
            self._abort(records, "the batch failed")
            raise
        now = time.time()
        classified = [(f.device, f.seq, max(0.0, now - f.ts / 1000.0)) for f in outcome[0]]
        self.metrics.committed(classified, [f.device for f in outcome[1]], outcome[2])

    def _commit(self) -> None:
        from confluent_kafka import KafkaException

        for attempt in range(5):
            try:
                self._producer.commit_transaction(30)
                return
            except KafkaException as exc:
                error = exc.args[0]
                if not error.retriable() or attempt == 4:
                    raise
                time.sleep(0.2)

    def _abort(self, records, why: str) -> None:
        """Abort the open transaction and rewind to the batch's first records, so the same
        frames are read again (by this worker or, after a rebalance, by their new owner)."""
        from confluent_kafka import TopicPartition

        self.metrics.abort()
        self.log(f"transaction aborted ({why}); those frames are read again")
        try:
            self._producer.abort_transaction(30)
        except Exception as exc:
            raise UserError(f"aborting a Kafka transaction failed: {exc}") from None
        firsts: dict[tuple[str, int], int] = {}
        for record in records:
            key = (record.topic(), record.partition())
            firsts[key] = min(firsts.get(key, record.offset()), record.offset())
        owned = {(tp.topic, tp.partition) for tp in self._consumer.assignment()}
        for (topic, partition), offset in firsts.items():
            if (topic, partition) in owned:
                try:
                    self._consumer.seek(TopicPartition(topic, partition, offset))
                except Exception as exc:
                    # Not ours any more: its new owner starts from the committed offset.
                    self.log(f"could not rewind {topic}[{partition}] to {offset}: {exc}")

    def _produce_results(self, records):
        """Predictions and error lines for ``records``, produced into the open transaction;
        returns (frames classified, frames skipped as too old, records refused)."""
        cfg = self.config
        frames: list[FrameRecord] = []
        refused = 0
        for record in records:
            try:
                frames.append(framewire.parse(record.key(), record.value(), record.headers(),
                                              cfg.max_bytes, record.partition(), record.offset()))
            except BadFrame as exc:
                self._refuse(record, str(exc))
                refused += 1
        split = batching.split_stale(frames, int(time.time() * 1000), cfg.max_lag)
        pictures, readable = [], []
        for frame in split.fresh:
            try:
                pictures.append(inference.decode(frame.jpeg, f"{frame.device} frame {frame.seq}"))
                readable.append(frame)
            except UnreadableImage as exc:
                self._refuse_frame(frame, f"the value is not a readable JPEG ({exc.reason})")
                refused += 1
        results = inference.classify_batch(self.model, pictures)
        for frame, result in zip(readable, results):
            prediction = Prediction(image=result.label, probability=result.probability, ts=frame.ts,
                                    device=frame.device, seq=frame.seq, top=result.top, model=self.model.id,
                                    objects=result.objects)
            self._send(contract.KAFKA_TOPIC, frame.device.encode("utf-8"), prediction.to_json(), frame.ts)
        return readable, split.stale, refused

    def _refuse(self, record, reason: str) -> None:
        key = record.key()
        device = key.decode("utf-8", "replace") if key else None
        headers = dict(record.headers() or [])
        self._error_line(key, device, headers.get("seq"), record.partition(), record.offset(), reason)

    def _refuse_frame(self, frame: FrameRecord, reason: str) -> None:
        self._error_line(frame.device.encode("utf-8"), frame.device, frame.seq, frame.partition,
                         frame.offset, reason)

    def _error_line(self, key, device, seq, partition, offset, reason) -> None:
        if isinstance(seq, (bytes, bytearray)):
            seq = seq.decode("ascii", "replace")
        line = {"ts": int(time.time() * 1000), "worker": self.id, "topic": contract.CAMERA_FRAMES,
                "partition": partition, "offset": offset, "device": device, "seq": seq, "error": reason}
        self.log(f"skipped {contract.CAMERA_FRAMES}[{partition}]@{offset} from {device!r}: {reason}")
        self._send(contract.WORKER_ERRORS_TOPIC, key, json.dumps(line).encode(), None)

    def _send(self, topic: str, key, value: bytes, ts: int | None) -> None:
        while True:
            try:
                self._producer.produce(topic, value=value, key=key, timestamp=ts or 0)
                return
            except BufferError:
                self._producer.poll(0.05)

    # --- rebalances and models ------------------------------------------------------------------

    def _assigned(self, consumer, partitions) -> None:
        self.metrics.assigned = sorted(p.partition for p in partitions)

    def _revoked_cb(self, consumer, partitions) -> None:
        self._revoked = True
        self.metrics.assigned = []

    def _forget_revoked(self) -> bool:
        revoked, self._revoked = self._revoked, False
        return revoked

    def _load_model(self) -> inference.LoadedModel:
        cfg = self.config
        folder = cfg.model
        if folder is None:
            current = ModelStore(cfg.models).current()
            if current is None:
                raise UserError(f"model store {cfg.models} holds no model yet (train one with --models)")
            folder = current.folder
        model = inference.load(folder, cfg.threads, cfg.threshold, cfg.top_k, cfg.runtime)
        self.metrics.model = model.id
        self.log(f"model {model.id or folder} ({model.card.backbone}, {len(model.card.classes)} classes)"
                 + ("" if model.max_batch > 1 else "; its ONNX input takes one frame, so frames run one by one"))
        return model

    def _maybe_follow_deploy(self) -> None:
        """Between transactions, with a store: switch to a newly deployed model."""
        cfg = self.config
        if cfg.models is None or not cfg.follow_deploys or time.monotonic() < self._next_deploy_check:
            return
        self._next_deploy_check = time.monotonic() + DEPLOY_CHECK_S
        try:
            current = ModelStore(cfg.models).current()
        except UserError as exc:
            self.log(f"model store: {exc}; keeping {self.model.id}")
            return
        if current is not None and current.id != self.model.id:
            try:
                self.model = self._load_model()
            except UserError as exc:
                self.log(f"cannot load model {current.id}: {exc}; keeping {self.model.id}")
