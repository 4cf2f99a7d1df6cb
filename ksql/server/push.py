"""Transient queries for the REST layer: push queries as row queues, PRINT as a record stream.

The engine calls a push query's callback inside ``process()`` with its lock held, so rows
only go into a bounded queue here; the HTTP thread takes them out and writes them. A
client that reads too slowly loses rows rather than stalling the queries; the count of
dropped rows is kept and reported when the query ends.
"""

from __future__ import annotations

import itertools
import queue
import threading
from dataclasses import dataclass, field
from typing import Iterator

from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, TopicPartition

from socksort.ksql import kafka_io
from socksort.ksql.engine import KsqlError, Record
from socksort.ksql.sql.parser import ParsedStatement

_ids = itertools.count(1)
QUEUE_ROWS = 10_000


@dataclass
class PushSession:
    """One running push query: its engine handle and the rows waiting for the client."""

    id: str
    columns: list
    types: list
    rows: "queue.Queue" = field(default_factory=lambda: queue.Queue(QUEUE_ROWS))
    dropped: int = 0
    closed: threading.Event = field(default_factory=threading.Event)
    handle: object = None

    def offer(self, row) -> None:
        try:
            self.rows.put_nowait(row)
        except queue.Full:
            self.dropped += 1

    def done(self) -> bool:
        return self.closed.is_set() or bool(self.handle is not None and self.handle.done
                                           and self.rows.empty())

    def close(self) -> None:
        self.closed.set()
        if self.handle is not None:
            self.handle.close()


class PushRegistry:
    """Push queries by id, so /close-query can end one started elsewhere."""

    def __init__(self):
        self._sessions: dict[str, PushSession] = {}
        self._lock = threading.Lock()

    def start(self, service, statement: ParsedStatement, earliest: bool) -> PushSession:
        session = PushSession(id="", columns=[], types=[])
        with service.lock:
            handle = service.start_push(statement, session.offer)
            session.handle = handle
            session.id = handle.id
            session.columns, session.types = handle.columns, handle.types
            # Outputs still in the producer are neither in the topics' history nor live
            # rows of this query: wait for them (the lock keeps new ones from coming).
            if earliest:
                if not service.outputs_delivered():
                    handle.close()
                    raise KsqlError("the queries' latest outputs are not in Kafka yet (is "
                                    "Kafka away?): the history from earliest would miss them")
                for record in history(service, handle.query.source_topics):
                    handle.feed(record)
        with self._lock:
            self._sessions[session.id] = session
        return session

    def close(self, query_id: str) -> bool:
        with self._lock:
            session = self._sessions.pop(query_id, None)
        if session is None:
            return False
        session.close()
        return True

    def forget(self, session: PushSession) -> None:
        with self._lock:
            self._sessions.pop(session.id, None)
        session.close()


def history(service, topics) -> Iterator[Record]:
    """What the source topics hold, as records, for a query that starts at the earliest offset.

    Input topics are read only up to where the server has processed them, so the live
    records that follow are not seen twice.
    """
    for topic in topics:
        for msg in kafka_io.read_topic(service.bootstrap, topic):
            limit = service.processed_offset(topic, msg.partition)
            if limit is not None and msg.offset >= limit:
                continue
            yield Record(msg.topic, msg.key, msg.value, msg.timestamp, partition=msg.partition,
                         offset=msg.offset)


def topic_messages(bootstrap: str, topic: str, from_beginning: bool,
                   stopped) -> Iterator[kafka_io.Message | None]:
    """Records of ``topic`` as they arrive (None while waiting), until ``stopped()``."""
    partitions = kafka_io.topic_partitions(bootstrap).get(topic)
    if partitions is None:
        raise KeyError(topic)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"_socksort_print_{next(_ids)}",
                         "enable.auto.commit": False, **kafka_io.log_settings()})
    start = OFFSET_BEGINNING if from_beginning else OFFSET_END
    consumer.assign([TopicPartition(topic, p, start) for p in range(partitions)])
    try:
        while not stopped():
            msg = consumer.poll(0.2)
            if msg is None or msg.error() is not None:
                yield None
                continue
            yield kafka_io.message_of(msg)
    finally:
        consumer.close()
