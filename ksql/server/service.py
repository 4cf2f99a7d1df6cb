"""The ksql server's core: the embedded engine running on real Kafka topics.

One consumer thread reads the engine's input topics and feeds every record through the
engine; what the queries write is produced to Kafka, and the input offsets are committed
only after those records are acknowledged. Statements that change the server's state go
to the command topic (see ``command_topic``) with the input position they ran at.

At start the server rebuilds: a fresh engine, the commands replayed interleaved with the
input data from the beginning, outputs for input offsets already committed thrown away
(they are in Kafka already). A command runs once the replay has read every input as far as
the server had read it when the command first ran; an input the command added is read from
where it was read then, unless that topic has been deleted since (its records are gone,
and the topic of that name now is another one). The same input therefore gives the same
tables with or without a restart. The HTTP side (``rest``) calls :meth:`KsqlService.run_statement`,
:meth:`pull`, :meth:`push` and :meth:`print_topic` from its own threads; one lock keeps a
statement and a record from interleaving.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaException, TopicPartition

from socksort.contract import PROCESSING_LOG_TOPIC
from socksort.errors import UserError
from socksort.ksql import kafka_io
from socksort.ksql.engine import (Engine, KsqlError, QueryCreated, Record, Source, SourceCreated,
                                  SourceDropped, StatementResult, ValuesInserted)
from socksort.ksql.engine.records import processing_log_stream_sql
from socksort.ksql.server import connectors
from socksort.ksql.server.read_positions import ReadPositions
from socksort.ksql.server.command_topic import (COMMAND_TOPIC, Command, CommandLog, partition_of,
                                                position_key)
from socksort.ksql.sql import ast
from socksort.ksql.sql import variables as variables_module
from socksort.ksql.sql.parser import ParsedStatement, parse, split_statements
from socksort.ksql.sql.variables import UndefinedVariable

log = logging.getLogger("socksort.ksql.server")

METADATA_REFRESH_S = 5.0
COMMIT_EVERY_S = 1.0
PROGRESS_EVERY_S = 2.0
# ksqlDB's default name for the stream over the processing-log topic.
PROCESSING_LOG_STREAM = "KSQL_PROCESSING_LOG"
STATE_CHANGING = (ast.CreateSource, ast.CreateAsSelect, ast.Drop, ast.Terminate, ast.InsertValues)


@dataclass
class Stats:
    records_in: int = 0
    records_out: int = 0
    bad_records: int = 0           # input records a query skipped (undecodable, bad timestamp)
    expression_errors: int = 0     # expressions that failed on a record and yielded null
    replayed: int = 0


@dataclass(frozen=True)
class TopicsListed(StatementResult):
    """SHOW TOPICS: the Kafka topics in ksqlDB's REST shape."""
    topics: list[dict]


@dataclass(frozen=True)
class StatementOutcome:
    """What one statement of a request did, for the REST layer to shape as ksqlDB does."""

    text: str
    result: StatementResult        # the engine's, or the server's own (connectors, topics)
    sequence: int = 0              # commandSequenceNumber of a statement logged in the topic


class RequestFailed(Exception):
    """A /ksql request stopped at a failing statement: its error, and the outcomes of the
    statements before it, which took effect (ksqlDB reports both)."""

    def __init__(self, error: KsqlError, done: list[StatementOutcome]):
        super().__init__(str(error))
        self.error = error
        self.done = done


class KsqlService:
    def __init__(self, bootstrap: str, connect_url: str | None = None,
                 command_topic: str = COMMAND_TOPIC, group_id: str | None = None,
                 processing_log_stream: str | None = PROCESSING_LOG_STREAM):
        self.bootstrap = bootstrap
        # As ksqlDB with ksql.logging.processing.stream.auto.create=true: a stream over the
        # log topic, so `SELECT * FROM KSQL_PROCESSING_LOG EMIT CHANGES` shows the errors.
        # None leaves it out.
        self.processing_log_stream = processing_log_stream
        self.connect_url = connect_url
        # One consumer group per server (per command topic): its commits mark which input
        # records already have their outputs in Kafka.
        self.group_id = group_id or f"{command_topic}.queries"
        self.commands = CommandLog(bootstrap, command_topic)
        self.lock = threading.RLock()
        self.engine = Engine(processing_log=self._log_processing_error)
        # The engine takes its lock in every call; sharing ours makes those re-entrant
        # acquisitions by the thread that already holds it for a whole batch.
        self.engine.lock = self.lock
        self.stats = Stats()
        self.ready = threading.Event()
        self.rebuild_status = "loading the command topic"   # what the rebuild waits for
        self.error: str | None = None
        self.kafka_away_since: float | None = None    # monotonic time Kafka stopped answering
        self._next_away_log = 0.0
        self._admin = kafka_io.admin(bootstrap)
        # Outputs wait in the producer while Kafka is away; none is dropped after a timeout.
        self._producer = kafka_io.Producer(bootstrap, patient=True)
        # The partitions read now (persistent queries' and push queries' inputs) and the next
        # offset to process in each. Nothing else: a position kept for a topic no longer
        # read would be recorded in later commands and block their replay.
        self._positions: dict[tuple[str, int], int] = {}
        self._topic_ids: dict[str, str] = {}                # the topic id of each input read
        # Inputs a replayed command added whose topic was deleted since: nothing to read.
        # topic -> partition -> how far the replay knows it was read before the deletion.
        self._gone: dict[str, dict[int, int]] = {}
        # Partitions the replay holds back: they reached where the next command ran, and
        # other inputs have not yet (their next records came after it).
        self._held: set[tuple[str, int]] = set()
        # A statement changed what is read or from where: the consumer must seek first.
        self._moved = False
        self._written: dict[tuple[str, int], int] = {}     # inputs whose outputs are in Kafka
        self._reads = ReadPositions()   # the consumer's positions, once fresh after a seek
        # partition -> ((processed, end), until when) of a remainder found to hold records
        self._probed: dict[tuple[str, int], tuple[tuple[int, int], float]] = {}
        self._pending: list[Command] = []
        self._replayed_commands = 0
        self._sequence = 0
        self._next_progress = 0.0
        self._stop = threading.Event()
        self._next_metadata = 0.0
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        """Check Kafka, load the command topic and start consuming (rebuilding first)."""
        if self._thread is not None:
            # A second consumer would process every input twice and write duplicates.
            raise RuntimeError("this ksql service was already started; start it only once "
                               "(a stopped service cannot start again: make a new one)")
        kafka_io.topic_partitions(self._admin)
        self.commands.ensure()
        kafka_io.create_topics(self._admin, {PROCESSING_LOG_TOPIC: 1})
        if self.processing_log_stream:
            # Declared at every start, not kept in the command topic (ksqlDB does the same
            # at startup); IF NOT EXISTS leaves a stream of that name a command made alone.
            self.engine.execute(processing_log_stream_sql(self.processing_log_stream,
                                                          PROCESSING_LOG_TOPIC))
        self._pending = self.commands.load()
        self._sequence = len(self._pending)
        log.info("replaying %d commands", len(self._pending))
        self.rebuild_status = f"replaying {len(self._pending)} commands"
        with self.lock:
            self._run_due_commands()
        self._thread = threading.Thread(target=self._consume_loop, name="ksql-consumer",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def healthy(self) -> bool:
        try:
            kafka_io.topic_partitions(self._admin, timeout=3)
            return self.error is None
        except UserError:
            return False

    # --- the consumer thread ---------------------------------------------------------

    def _consume_loop(self) -> None:
        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": self.group_id,
                             "enable.auto.commit": False, "auto.offset.reset": "earliest",
                             "isolation.level": "read_committed",
                             "fetch.wait.max.ms": 20, **kafka_io.log_settings()})
        assigned: set[tuple[str, int]] = set()
        touched: set[tuple[str, int]] = set()
        last_commit = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    assigned, touched, last_commit = self._consume_once(
                        consumer, assigned, touched, last_commit)
                except (UserError, KafkaException) as exc:
                    # Kafka is away (restarting, say): the consumer and producer reconnect
                    # by themselves and keep what they hold, so wait and go on.
                    self._kafka_away(exc)
                    self._stop.wait(1.0)
            if touched:
                self._producer.flush()
                self._commit(consumer, touched)
        except Exception as exc:  # a bug: the server must report why it stopped, not die silently
            self.error = f"query processing stopped: {exc}"
            self.rebuild_status = self.error
            log.exception("consumer thread failed")
        finally:
            consumer.close()

    def _consume_once(self, consumer, assigned: set, touched: set, last_commit: float):
        """One poll: records through the engine, outputs out, inputs committed now and then."""
        assigned = self._assign(consumer, assigned)
        messages = consumer.consume(1000, timeout=0.05)
        batch = [kafka_io.message_of(m) for m in messages if m.error() is None]
        self._reads.polled({(msg.topic, msg.partition) for msg in batch})
        if batch:
            # One lock per poll batch, not per record: an HTTP thread waits for at
            # most one batch (<= 1000 records), and a statement still runs between
            # two records' complete processing, never inside one.
            with self.lock:
                for msg in batch:
                    if not self._process(msg):
                        break  # a replayed command moved the reading: seek first
            touched.update((msg.topic, msg.partition) for msg in batch)
        # Outputs leave at once (the producer lingers 2 ms); waiting for their acks
        # to commit the inputs happens at most once a second, or when idle.
        if touched and (not batch or time.monotonic() - last_commit > COMMIT_EVERY_S):
            self._producer.flush()
            if self._commit(consumer, touched):
                touched, last_commit = set(), time.monotonic()
        if not batch:
            self._when_idle(consumer, assigned)
        if not self.ready.is_set():
            self._report_progress(consumer, assigned)
        self._kafka_back()
        return assigned, touched, last_commit

    def _kafka_away(self, exc: Exception) -> None:
        """Say once a minute, not once a second, that Kafka does not answer."""
        now = time.monotonic()
        if self.kafka_away_since is None:
            self.kafka_away_since = now
        if now >= self._next_away_log:
            self._next_away_log = now + 60
            log.warning("Kafka does not answer (%.0fs now), retrying: %s",
                        now - self.kafka_away_since, exc)

    def _kafka_back(self) -> None:
        if self.kafka_away_since is not None:
            log.info("Kafka answers again after %.0fs", time.monotonic() - self.kafka_away_since)
            self.kafka_away_since, self._next_away_log = None, 0.0

    def _assign(self, consumer, assigned: set) -> set:
        """Follow the input topics as statements add and remove them or move their start."""
        with self.lock:
            topics = self._reading()
            moved, self._moved = self._moved, False
        known = {t for t, _ in assigned}
        # Ask Kafka for partitions only when the inputs changed, or now and then for
        # partitions added to an input topic: a metadata request per batch halves throughput.
        if not moved and topics == known and time.monotonic() < self._next_metadata:
            return assigned
        self._next_metadata = time.monotonic() + METADATA_REFRESH_S
        partitions = kafka_io.topic_partitions(self._admin)
        wanted = {(t, p) for t in topics for p in range(partitions.get(t, 0))}
        if wanted == assigned and not moved:
            return assigned
        new = wanted - assigned
        committed = consumer.committed([TopicPartition(t, p) for t, p in new], timeout=10) if new else []
        with self.lock:
            reading = self._reading()
            if reading != topics:
                self._moved = True  # a statement ran meanwhile: assign again next round
            for tp in committed:
                self._written.setdefault((tp.topic, tp.partition), max(tp.offset, 0))
            for tp in [tp for tp in self._positions if tp[0] not in reading]:
                del self._positions[tp]  # e.g. the topic of a push query that ended
            wanted = {tp for tp in wanted if tp[0] in reading and tp not in self._held}
            for tp in wanted:
                self._positions.setdefault(tp, 0)
            # Assigning with explicit offsets also seeks partitions that stay assigned.
            self._reads.forget(assigned - wanted)
            self._reads.seeking(wanted)
            consumer.assign([TopicPartition(t, p, self._positions[(t, p)]) for t, p in wanted])
        return wanted

    def _reading(self) -> set[str]:
        """The topics to consume: the inputs, but not those whose records are gone."""
        return self._input_topics() - self._gone.keys()

    def _process(self, msg: kafka_io.Message) -> bool:
        """One input record through the engine, its outputs to Kafka. Holds self.lock.

        False when the commands due before it changed what is read or from where: the
        record and the rest of its batch are left for after the consumer has sought."""
        tp = (msg.topic, msg.partition)
        position = self._positions.get(tp)
        if position is None or msg.offset < position:
            return True  # no longer read, or re-delivered after a reassignment
        # The offsets up to this record hold none (transaction markers, compaction): the
        # partition is as far as this record already, for the commands due before it.
        self._positions[tp] = msg.offset
        if self._pending:
            self._run_due_commands()
            if self._moved:
                return False
            if self._came_after(self._pending[0], tp, msg.offset):
                self._held.add(tp)
                self._moved = True
                return False
        outputs = self.engine.process(Record(msg.topic, msg.key, msg.value, msg.timestamp,
                                             partition=msg.partition, offset=msg.offset))
        self._positions[tp] = msg.offset + 1
        self.stats.records_in += 1
        if msg.offset < self._written.get(tp, 0):
            self.stats.replayed += 1
            return True
        serialize, produce = self.engine.serialize, self._producer.produce
        for out in outputs:
            key, value = serialize(out)
            produce(out.topic, key, value, out.timestamp)
        self.stats.records_out += len(outputs)
        return True

    def _commit(self, consumer, touched: set) -> bool:
        """Commit how far the inputs are processed; False (nothing committed) while the
        consumer still has to seek: its position may be past records not processed yet."""
        with self.lock:
            if self._moved:
                return False
            # Where the consumer reads next, or, until that is known, how far the engine
            # processed: never past a record not processed yet.
            read = {**{tp: self._positions[tp] for tp in touched if tp in self._positions},
                    **self._reads.fresh(consumer, touched)}
            offsets = [TopicPartition(t, p, offset) for (t, p), offset in sorted(read.items())
                       if offset > self._written.get((t, p), 0)]
        if offsets:
            # Kafka away raises here, and nothing counts as written until it answers.
            consumer.commit(offsets=offsets, asynchronous=False)
            with self.lock:
                for tp in offsets:
                    key = (tp.topic, tp.partition)
                    self._written[key] = max(self._written.get(key, 0), tp.offset)
        return True

    def _when_idle(self, consumer, assigned: set) -> None:
        """No new input: finish the replay once every partition reached its end."""
        if self.ready.is_set():
            return
        with self.lock:
            if self._moved:
                return  # seek first: the positions read below are the old ones
        read = self._reads.fresh(consumer, assigned)
        for topic, partition in assigned:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=5)
            with self.lock:
                now = self._positions.get((topic, partition))
                if now is None:
                    continue  # a statement stopped reading it meanwhile
                if now < low:  # retention deleted them: the rebuild goes on without them
                    log.warning("%s/%d: offsets %d..%d are gone from Kafka", topic, partition,
                                now, low - 1)
                    self._positions[(topic, partition)] = now = low
            if max(read.get((topic, partition), 0), now) < high \
                    and not self._markers_only((topic, partition), now, high):
                return
        with self.lock:
            waiting = len(self._pending)
            self._run_due_commands()
            if self._moved or len(self._pending) < waiting:
                # Those commands let held inputs go on, or added or moved some: read what
                # they let through before calling anything past the end of its input.
                return
            if self._pending:
                # Its input is gone (records deleted by retention, or a topic deleted outside
                # the server): run it now, say so.
                log.warning("%d commands ran past the end of their input; the first: %s",
                            len(self._pending), self._unmet(self._pending[0]))
                self._run_due_commands(force=True)
            if self._moved:
                return  # the last commands added inputs or moved a start: read those first
            unassigned = self._reading() - {t for t, _ in assigned | self._held}
        if unassigned & set(kafka_io.topic_partitions(self._admin)):
            return  # inputs the consumer has not picked up yet
        with self.lock:
            self.rebuild_status = "rebuilt"
        log.info("rebuilt: %d commands and %d records replayed", self._replayed_commands,
                 self.stats.replayed)
        self.ready.set()

    def _markers_only(self, tp: tuple[str, int], now: int, high: int) -> bool:
        """Whether what is left of a partition sought since its last record is transaction
        markers only (then it is read to ``high``). Its consumer's position cannot tell
        (see read_positions), so a consumer of its own looks, at most once a second."""
        if not self._reads.sought(tp):
            return False  # its consumer's position counts, and is short of the end
        probed = self._probed.get(tp)
        if probed and probed[0] == (now, high) and time.monotonic() < probed[1]:
            return False
        if kafka_io.holds_records(self.bootstrap, *tp, now, high) is False:
            with self.lock:
                if self._positions.get(tp) == now:
                    self._positions[tp] = high
                    return True
        self._probed[tp] = ((now, high), time.monotonic() + 1.0)
        return False

    def _run_due_commands(self, force: bool = False) -> None:
        """Replay the commands that ran before the input now due to be processed."""
        ran = False
        while self._pending and (force or self._due(self._pending[0])):
            self._replay(self._pending.pop(0))
            ran = True
        if ran and self._held:
            self._held.clear()   # what they held back comes after those commands
            self._moved = True

    def _due(self, command: Command) -> bool:
        """A command is due once every input it saw is read as far as it had been read then."""
        return not self._unmet(command)

    def _unmet(self, command: Command) -> list[str]:
        """The inputs ``command`` waits for: read now, but not yet as far as when it ran."""
        unmet = []
        for key, ran_at in command.position.items():
            now = self._positions.get(partition_of(key))
            if self._conditions(command, key) and now < ran_at:
                unmet.append(f"{key} to reach offset {ran_at} (read to {now})")
        return unmet

    def _came_after(self, command: Command, tp: tuple[str, int], offset: int) -> bool:
        """Whether the record at ``offset`` of ``tp`` was read after ``command`` ran."""
        key = position_key(*tp)
        return key in command.position and self._conditions(command, key) \
            and offset >= command.position[key]

    def _conditions(self, command: Command, key: str) -> bool:
        """Whether the position ``command`` recorded for ``key`` binds the replay.

        A recorded input the replay does not read is no condition: its topic was deleted
        since (the replay skips what was in it), or, in a command written before the
        server recorded only what it read, it is a topic no query read then."""
        topic, partition = partition_of(key)
        recorded_id = command.topic_ids.get(topic)
        return (topic, partition) in self._positions and (
            not recorded_id or recorded_id == self._topic_ids.get(topic))

    def _replay(self, command: Command) -> None:
        self._report_lost(command)
        before = self.engine.external_topics()
        try:
            [statement] = parse(command.statement)
            self._execute(statement, command.properties, replaying=True)
        except KsqlError as exc:  # it succeeded once; say so loudly rather than stop
            log.error("replaying %r failed: %s", command.statement, exc)
        self._replayed_commands += 1
        added = self.engine.external_topics() - before
        current = kafka_io.topic_ids(self._admin, added)
        gone = {t for t in added if command.topic_ids.get(t, current.get(t)) != current.get(t)}
        for topic in sorted(gone):
            log.info("%s, an input since %r, was deleted later: nothing of it to read",
                     topic, command.statement[:60])
        starts = {partition_of(key): offset for key, offset in command.starts.items()}
        self._read_from({tp: o for tp, o in starts.items() if tp[0] in added}, current, gone)

    def _report_lost(self, command: Command) -> None:
        """Warn when ``command`` shows that records of a deleted input had been read: the
        rebuild cannot read them again. (A reset's teardown reads none.)"""
        for key, ran_at in command.position.items():
            topic, partition = partition_of(key)
            known = self._gone.get(topic, {})
            if partition in known and ran_at > known[partition]:
                log.warning("%s: offsets %d..%d were read before the topic was deleted; the "
                            "rebuild goes on without them", key, known[partition], ran_at - 1)
                known[partition] = ran_at

    def _read_from(self, starts: dict, ids: dict[str, str], gone: set[str] = frozenset()) -> None:
        """After a statement: forget the topics no longer read, and read the inputs it
        added from ``starts`` ((topic, partition) -> offset)."""
        inputs = self._input_topics()
        for tp in [tp for tp in self._positions if tp[0] not in inputs]:
            del self._positions[tp]
            self._moved = True
        self._topic_ids = {t: i for t, i in self._topic_ids.items() if t in inputs}
        self._gone = {t: parts for t, parts in self._gone.items() if t in inputs}
        for topic in gone:
            self._gone[topic] = {}
        self._topic_ids.update({t: i for t, i in ids.items() if t not in self._gone})
        for (topic, partition), offset in starts.items():
            if topic in self._gone:
                self._gone[topic][partition] = offset
            else:
                self._positions[(topic, partition)] = offset
                self._moved = True

    def _report_progress(self, consumer, assigned: set) -> None:
        """While rebuilding, say every few seconds what the rebuild waits for."""
        if time.monotonic() < self._next_progress:
            return
        self._next_progress = time.monotonic() + PROGRESS_EVERY_S
        with self.lock:
            done, total = self._replayed_commands, self._replayed_commands + len(self._pending)
            parts = [f"{done} of {total} commands replayed"]
            if self._pending:
                unmet = self._unmet(self._pending[0])
                if unmet:
                    parts.append(f"the next waits for {', '.join(unmet)}")
            positions = {tp: self._positions.get(tp) for tp in assigned}
        for (topic, partition), now in sorted(positions.items()):
            try:
                _low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition),
                                                            timeout=2)
            except Exception:  # noqa: BLE001 - a progress note is not worth stopping for
                continue
            if now is not None and now < high:
                parts.append(f"{topic}/{partition} read to offset {now} of {high}")
        status = "; ".join(parts)
        if status != self.rebuild_status and not self.ready.is_set():
            self.rebuild_status = status
            log.info("rebuilding: %s", status)

    # --- statements ------------------------------------------------------------------

    def run_statements(self, text: str, properties: dict | None = None,
                       variables: dict | None = None) -> list[StatementOutcome]:
        """Run every statement of a /ksql request; RequestFailed names the failing one
        with the outcomes of those before it."""
        request_props = dict(properties or {})
        try:
            text = substitute(text, variables or {})
        except KsqlError as exc:  # an undefined ${name}: no statement is to blame yet
            raise RequestFailed(exc, []) from exc
        try:
            statements = parse(text)
        except KsqlError as exc:
            raise RequestFailed(exc.in_statement(_failing_statement(text)), []) from exc
        if any(isinstance(st.node, STATE_CHANGING) for st in statements):
            self.wait_ready()
        outcomes: list[StatementOutcome] = []
        # One request runs as a unit: no input record is processed between its statements,
        # so a pipeline applied in one request sees the same records in every query.
        with self.lock:
            for st in statements:
                try:
                    outcome = self._run_one(st, request_props)
                except KsqlError as exc:
                    raise RequestFailed(exc.in_statement(st.text), outcomes) from exc
                except UserError as exc:
                    raise RequestFailed(KsqlError(str(exc), statement_text=st.text),
                                        outcomes) from exc
                if outcome is not None:
                    outcomes.append(outcome)
        return outcomes

    def _run_one(self, st: ParsedStatement, request_props: dict) -> StatementOutcome | None:
        node = st.node
        if isinstance(node, ast.SetProperty):
            request_props[node.name] = node.value
            return None
        if isinstance(node, ast.UnsetProperty):
            request_props.pop(node.name, None)
            return None
        if isinstance(node, (ast.QueryStatement, ast.Print)):
            raise KsqlError("The following statement types should be issued to the websocket "
                            "endpoint '/query':\n\t* PRINT\n\t* SELECT", statement_text=st.text,
                            error_code=40002)
        if isinstance(node, ast.CreateConnector):
            return StatementOutcome(st.text, connectors.create(self.connect_url, node))
        if isinstance(node, ast.Drop) and node.kind == "CONNECTOR":
            return StatementOutcome(st.text, connectors.drop(self.connect_url, node.name,
                                                             node.if_exists))
        if isinstance(node, ast.Describe) and node.what == "CONNECTOR":
            return StatementOutcome(st.text, connectors.describe(self.connect_url, node.name))
        if isinstance(node, ast.Show) and node.what == "CONNECTORS":
            return StatementOutcome(st.text, connectors.list_all(self.connect_url))
        if isinstance(node, ast.Show) and node.what == "TOPICS":
            return StatementOutcome(st.text, TopicsListed(self.topics()))
        if isinstance(node, STATE_CHANGING):
            return self._change_state(st, request_props)
        with self.lock:
            result = self.engine.run(st, request_props)
        return StatementOutcome(st.text, result)

    def _change_state(self, st: ParsedStatement, request_props: dict) -> StatementOutcome:
        """Run a statement that changes what the server does, and log it in the command topic."""
        with self.lock:
            before = self.engine.external_topics()
            position = {position_key(*tp): offset for tp, offset in self._positions.items()
                        if tp[0] in before}
            ids = {t: i for t, i in self._topic_ids.items() if t in before}
            result = self._execute(st, request_props)
            if isinstance(result, ValuesInserted):
                self._insert(result)
                return StatementOutcome(st.text, result)
            added = self.engine.external_topics() - before
            earliest = _offset_reset(request_props, self.engine.properties) == "earliest"
            starts, added_ids = self._starts(added, earliest)
            self._read_from(starts, added_ids)
            for tp, start in starts.items():
                self._written[tp] = start
            self.commands.append(Command(st.text, dict(request_props), position,
                                         {position_key(*tp): o for tp, o in starts.items()},
                                         {**ids, **added_ids}))
            self._sequence += 1
            return StatementOutcome(st.text, result, self._sequence)

    def _starts(self, topics: set[str], earliest: bool) -> tuple[dict, dict[str, str]]:
        """Where new inputs are read from (their end, or 0 with earliest), and their ids."""
        if not topics:
            return {}, {}
        # A topic the queries wrote until now (its writer was just terminated) becomes an
        # input at the end of what they wrote: those records went to its readers already.
        self._producer.flush()
        starts = {(topic, partition): 0 if earliest else end for topic in topics
                  for partition, end in kafka_io.end_offsets(self.bootstrap, topic).items()}
        return starts, kafka_io.topic_ids(self._admin, topics)

    def _execute(self, statement: ParsedStatement, properties: dict,
                 replaying: bool = False) -> StatementResult:
        """Run one state-changing statement on the engine and make its topics exist.

        A replayed DROP ... DELETE TOPIC deletes nothing: the topic was deleted when the
        statement first ran, and a topic of the same name may hold newer records now."""
        result = self.engine.run(statement, properties)
        match result:
            case SourceCreated(source=source):
                self._ensure_source_topic(source, statement.text)
            case QueryCreated(source=source):
                kafka_io.create_topics(self._admin, {source.topic: source.partitions or 1})
            case SourceDropped(source=source, delete_topic=True) if not replaying:
                kafka_io.delete_topics(self._admin, [source.topic])
        return result

    def _ensure_source_topic(self, source: Source, text: str) -> None:
        if source.topic in kafka_io.topic_partitions(self._admin):
            return
        if source.partitions:
            kafka_io.create_topics(self._admin, {source.topic: source.partitions})
            return
        self.engine.drop_source(source.name)
        raise KsqlError(f"Kafka topic does not exist: {source.topic}", statement_text=text)

    def insert_row(self, target: str, row: dict) -> None:
        """One /inserts-stream row, produced to ``target``'s topic as INSERT VALUES would."""
        self.wait_ready()
        with self.lock:
            self._insert(self.engine.insert_row(target, row))

    def _insert(self, result: ValuesInserted) -> None:
        key, value = result.wire
        stamp = result.record.timestamp or int(time.time() * 1000)
        self._producer.produce(result.source.topic, key, value, stamp)
        self._producer.flush()

    def pull(self, statement: ParsedStatement):
        self.wait_ready()
        return self.engine.pull(statement)

    def processed_offset(self, topic: str, partition: int) -> int | None:
        """How far an input topic has been processed; None for topics the queries write."""
        with self.lock:
            if topic in self._input_topics():
                return self._positions.get((topic, partition), 0)
        return None

    def _input_topics(self) -> set[str]:
        """What the consumer reads: the persistent queries' inputs, and the topics of push
        queries over sources no persistent query reads (e.g. the processing log)."""
        return self.engine.external_topics() | self.engine.push_topics()

    def start_push(self, statement: ParsedStatement, on_row):
        """Start a push query; a topic the server did not read yet is read from its end
        (its history, if wanted, is the caller's to replay: see push.history)."""
        with self.lock:
            before = self._input_topics()
            handle = self.engine.push(statement, on_row)
            for topic in self._input_topics() - before:
                for partition, end in kafka_io.end_offsets(self.bootstrap, topic).items():
                    self._positions[(topic, partition)] = end
                    self._written[(topic, partition)] = end
                    self._moved = True
            return handle

    def outputs_delivered(self) -> bool:
        """Wait until what the queries wrote so far is in Kafka (or refused), so a reader of
        their topics sees every output the engine made. Call it holding ``self.lock``."""
        return self._producer.delivered()

    def wait_ready(self, timeout: float = 120.0) -> None:
        if not self.ready.wait(timeout):
            raise UserError(f"the server is still rebuilding its state after {timeout:g}s")

    def topics(self) -> list[dict]:
        return [{"name": name, "replicaInfo": [1] * count}
                for name, count in sorted(kafka_io.topic_partitions(self._admin).items())
                if not name.startswith("_")]

    # --- the processing log ------------------------------------------------------------

    def _log_processing_error(self, entry) -> None:
        if entry.target == "expression":
            self.stats.expression_errors += 1
            count, what = self.stats.expression_errors, "expression errors (null results)"
        else:
            self.stats.bad_records += 1
            count, what = self.stats.bad_records, "skipped bad input records"
        if count == 1 or count % 100 == 0:
            log.warning("%d %s so far (details in %s); last: %s", count, what,
                        PROCESSING_LOG_TOPIC, entry.message)
        if entry.topic == PROCESSING_LOG_TOPIC:
            # A query over the log failing on a log entry would read its own entry next
            # and fail again, without end: counted and in the server log, not in the topic.
            return
        body = json.dumps(entry.to_ksql(int(time.time() * 1000))).encode()
        self._producer.produce(PROCESSING_LOG_TOPIC, None, body, None)


def substitute(text: str, variables: dict) -> str:
    try:
        return variables_module.substitute(text, variables)
    except UndefinedVariable as exc:
        raise KsqlError(f"Cannot substitute variable {exc.args[0]!r}: it is not defined") from None


def _failing_statement(text: str) -> str:
    """The statement of ``text`` that does not parse (for the error's statementText)."""
    for chunk in split_statements(text):
        try:
            parse(chunk)
        except KsqlError:
            return chunk.strip()
    return text.strip()


def _offset_reset(request_props: dict, server_props: dict) -> str:
    for props in (request_props, server_props):
        for key, val in props.items():
            if key.lower() in ("auto.offset.reset", "ksql.streams.auto.offset.reset"):
                return str(val).lower()
    return "latest"
