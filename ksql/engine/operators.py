"""The per-record operators a query is built from.

Every operator has ``process(record) -> list`` of what its sink produced. Expressions
are closures compiled by the planner; rows are lists laid out as the planner decided
(source columns, then ROWTIME, WINDOWSTART, WINDOWEND).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

from socksort.ksql.engine import windows as W
from socksort.ksql.engine.formats import DecodeError, JSON, Window, window_from_key_bytes
from socksort.ksql.engine.records import ProcessingLogEntry, PushRow, Record
from socksort.ksql.engine.state import Entry, Session, SessionStore, TimeWindowStore
from socksort.ksql.sql.functions import Aggregate
from socksort.ksql.sql.types import json_safe


_UNKNOWN = object()
_NO_WINDOW = (None, None)


@dataclass(eq=False)
class SourceReader:
    """Record → row list, or None when the record must be skipped."""

    decode_key: Callable
    decode_value: Callable
    n_value: int
    window_type: str | None
    window_size: int | None
    timestamp_index: int | None
    log: Callable                   # (record, message, target=None) -> None
    # RowLayout -> convert(keys, values) or None, for records another query just wrote.
    converter: Callable | None = None
    converters: dict = field(default_factory=dict, init=False)
    null_values: list = field(init=False)

    def __post_init__(self):
        self.null_values = [None] * self.n_value

    def read(self, record: Record):
        """Return (row, tombstone, window) or None. A tombstone row has null value columns."""
        value = record.value
        raw_key = record.key
        window = record.window
        written = record.columns
        try:
            row = None
            if written is not None:
                convert = self.converters.get(written[0], _UNKNOWN)
                if convert is _UNKNOWN:
                    convert = self.converters[written[0]] = (
                        None if self.converter is None else self.converter(written[0]))
                if convert is not None:
                    row = convert(written[1], None if value is None else written[2])
            if row is None:
                if window is None and self.window_type is not None and isinstance(raw_key, (bytes, bytearray)):
                    window = window_from_key_bytes(raw_key, self.window_type, self.window_size)
                row = self.decode_key(raw_key)          # a fresh list: extended in place below
                if value is not None:
                    decoded = self.decode_value(value)
                    if decoded is None:                 # JSON null: read as a tombstone is
                        value = None
                    else:
                        row += decoded
                if value is None:
                    row += self.null_values
        except DecodeError as exc:
            self.log(record, str(exc))
            return None
        ts = record.timestamp or 0
        if window is None:
            row += (ts, None, None)
        else:
            row += (ts, window.start, window.end)
        if self.timestamp_index is not None and value is not None:
            ts = row[self.timestamp_index]
            if ts is None:
                self.log(record, "timestamp column is null", "timestamp")
                return None
            row[-3] = ts
        if ts < 0:
            self.log(record, f"Skipping record due to invalid timestamp {ts}", "timestamp")
            return None
        return row, value is None, window


class TopicSink:
    """Builds the output Records of a persistent query."""

    def __init__(self, topic: str, key_out, value_out, window_type: str | None,
                 timestamp_from=None, materialize: bool = False, layout=None,
                 double_columns: tuple = ()):
        self.topic = topic
        self.layout = layout                    # formats.RowLayout of key_out / value_out
        self.key_out = key_out                  # key values -> decoded key
        self.value_out = value_out              # value values -> decoded value
        self.window_type = window_type
        self.timestamp_from = timestamp_from    # (key values, value values) -> ts, or None
        # The materialized table for pull queries: (key tuple, window) -> (keys, values, ts).
        self.table: dict | None = {} if materialize else None
        self.retention: int | None = None       # windowed tables forget windows this old
        self._max_end: int | None = None
        self._windowed_writes = 0
        # The layout's usual shapes, built here without a call: a single key column's value,
        # a JSON object of the value columns.
        self._key_is_first = layout is not None and layout.key_shape == "scalar"
        self._value_names = (layout.value_names if layout is not None and
                             layout.value_format == JSON else None)
        # JSON value columns that may hold a NaN or infinite double, which ksqlDB writes
        # as the strings "NaN", "Infinity", "-Infinity" (JSON has no such numbers).
        self._doubles = tuple(double_columns) if self._value_names is not None else ()

    def emit(self, keys: list, values: list | None, ts: int, window: Window | None):
        if self.timestamp_from is not None and values is not None:
            ts = self.timestamp_from(keys, values)
            if ts is None or ts < 0:
                return None
        if self.table is not None:
            slot = (tuple(keys), window)
            if values is None:
                self.table.pop(slot, None)
            else:
                self.table[slot] = (keys, values, ts)
                if window is not None and self.retention is not None:
                    self._expire(window.end)
        if values is None:
            value = None
        elif self._value_names is not None:
            value = dict(zip(self._value_names, values))
            for name in self._doubles:
                v = value[name]
                if v is not None and (type(v) is not float or v - v != 0):
                    value[name] = json_safe(v)
        else:
            value = self.value_out(values)
        record = Record(self.topic, keys[0] if self._key_is_first else self.key_out(keys),
                        value, ts, window)
        if self.layout is not None:
            record.columns = (self.layout, keys, values)
        return record

    def _expire(self, end: int) -> None:
        if self._max_end is None or end > self._max_end:
            self._max_end = end
        self._windowed_writes += 1
        if self._windowed_writes % 4096 == 0:
            horizon = self._max_end - self.retention
            for slot in [slot for slot in self.table if slot[1].end < horizon]:
                del self.table[slot]


@dataclass(eq=False)
class CallbackSink:
    """Delivers a transient (push) query's rows to a callback instead of a topic.

    Rows hold every projected column; a tombstone row has only the key columns filled
    (at ``key_positions``), as ksqlDB's push queries show deletions. A windowed row's key
    includes its window, so a tombstone also shows WINDOWSTART/WINDOWEND where the query
    projects them (``window_positions``): otherwise a client could not tell which window
    (e.g. which superseded session) was deleted.
    """

    on_row: Callable[[PushRow], None]
    key_positions: list
    width: int
    window_positions: tuple = (None, None)
    topic: None = field(default=None, init=False)     # no topic and no table, unlike TopicSink
    table: None = field(default=None, init=False)

    def emit(self, keys: list, values: list | None, ts: int, window: Window | None):
        if values is None:
            row = [None] * self.width
            for pos, key in zip(self.key_positions, keys):
                if pos is not None:
                    row[pos] = key
            if window is not None:
                for pos, bound in zip(self.window_positions, (window.start, window.end)):
                    if pos is not None:
                        row[pos] = bound
            self.on_row(PushRow(row, True))
        else:
            self.on_row(PushRow(list(values), False))
        return None


@dataclass(eq=False)
class Select:
    """Stream or table projection + filter (CSAS, and CTAS over a table without GROUP BY)."""

    reader: SourceReader
    where: Callable | None
    key_fns: list
    value_fns: list
    sink: object                    # TopicSink or CallbackSink
    table: bool

    def process(self, record: Record):
        read = self.reader.read(record)
        if read is None:
            return ()
        row, tombstone, window = read
        keys = [f(row) for f in self.key_fns]
        table = self.table
        if table and keys and all(k is None for k in keys):
            return ()                               # a table row needs a key
        if tombstone:
            values = None
            if self.where is not None and not table:
                return ()
        elif self.where is not None and self.where(row) is not True:
            if not table:
                return ()
            values = None                           # a table row leaving the filter: delete it
        else:
            values = [f(row) for f in self.value_fns]
        out = self.sink.emit(keys, values, row[-3], window)
        return (out,) if out is not None else ()


class FlatMap(Select):
    """A stream projection with table functions (ksqlDB's StreamFlatMap): each input row
    gives as many output rows as its longest table function result, the results zipped
    row by row, a shorter one null past its end; a null or empty result adds no row."""

    def __init__(self, reader, where, key_fns, value_fns, sink, table, table_fns, on_error):
        super().__init__(reader, where, key_fns, value_fns, sink, table)
        self.table_fns = table_fns              # [(TableFunction, argument closure)]
        self.on_error = on_error

    def process(self, record: Record):
        read = self.reader.read(record)
        if read is None:
            return ()
        row, tombstone, window = read
        if tombstone or (self.where is not None and self.where(row) is not True):
            return ()
        results = []
        for fn, arg in self.table_fns:
            value = arg(row)
            try:
                results.append([] if value is None else fn.impl(value))
            except (ValueError, TypeError, ArithmeticError, LookupError) as exc:
                # ksqlDB logs the failure and drops the input row.
                if self.on_error is not None:
                    self.on_error(f"Table function {fn.display} threw an exception: {exc}")
                return ()
        ts = row[-3]
        out = []
        for i in range(max(map(len, results))):
            wide = row + [r[i] if i < len(r) else None for r in results]
            rec = self.sink.emit([f(wide) for f in self.key_fns],
                                 [f(wide) for f in self.value_fns], ts, window)
            if rec is not None:
                out.append(rec)
        return out


class _Emitter:
    """Turns an aggregate's state into output rows: HAVING, then the projection."""

    def __init__(self, aggs, having, value_fns, sink):
        # COUNT, SUM, MIN, MAX keep their result as the accumulator: no call per row.
        self.results = (None if all(type(agg).result is Aggregate.result for agg, _ in aggs)
                        else [agg.result for agg, _ in aggs])
        self.having = having
        self.value_fns = value_fns
        self.sink = sink
        self.passed: set = set()                # (key, window) whose last output passed HAVING

    def emit(self, gkey, keys: list, accs: list, ts: int, window: Window | None, out: list,
             final: bool = False) -> None:
        # The aggregate row: group keys, aggregate results, WINDOWSTART, WINDOWEND.
        results = self.results
        row = keys + accs if results is None else keys + [r(a) for r, a in zip(results, accs)]
        row += _NO_WINDOW if window is None else window[:2]
        if self.having is not None and self.having(row) is not True:
            slot = (gkey, window)
            if slot in self.passed:
                self.passed.discard(slot)
                if not final:
                    rec = self.sink.emit(keys, None, ts, window)
                    if rec is not None:
                        out.append(rec)
            return
        if self.having is not None:
            self.passed.add((gkey, window))
        rec = self.sink.emit(keys, [f(row) for f in self.value_fns], ts, window)
        if rec is not None:
            out.append(rec)

    def forget_windows_ending_before(self, t: int) -> None:
        """Drop HAVING memory of windows that can no longer change."""
        self.passed = {slot for slot in self.passed if slot[1] is None or slot[1].end >= t}

    def tombstone(self, gkey, keys: list, ts: int, window: Window, out: list) -> None:
        self.passed.discard((gkey, window))
        rec = self.sink.emit(keys, None, ts, window)
        if rec is not None:
            out.append(rec)


class StreamAggregate:
    """GROUP BY over a stream, optionally windowed (tumbling/hopping/session)."""

    def __init__(self, reader: SourceReader, where, group_fns, aggs, rule: W.WindowRule | None,
                 final: bool, having, value_fns, sink):
        self.reader = reader
        self.where = where
        self.group_fns = group_fns
        self.aggs = aggs                        # [(Aggregate, arg_fn)]
        self.adders = [agg.add for agg, _ in aggs]
        self.arg_fns = [arg for _, arg in aggs]
        self.rule = rule
        self.final = final
        self.emitter = _Emitter(aggs, having, value_fns, sink)
        self.stream_time: int | None = None
        self.store: dict = {}
        self._seen = 0
        if rule is not None and rule.kind == "SESSION":
            self.sessions = SessionStore(rule.size + rule.grace)
            self.trigger = W.SessionFinalTrigger(rule)
            self._windowed = self._session
        elif rule is not None:
            self.windows = TimeWindowStore(rule.size + rule.grace)
            self.trigger = W.TimeFinalTrigger(rule)
            self._windowed = self._time
        self._single = len(group_fns) == 1

    def process(self, record: Record) -> list:
        read = self.reader.read(record)
        if read is None:
            return []
        row, tombstone, _ = read
        if tombstone:
            return []
        where = self.where
        if where is not None and where(row) is not True:
            return []
        keys = [g(row) for g in self.group_fns]
        if None in keys:
            return []
        ts = row[-3]
        values = [arg(row) for arg in self.arg_fns]
        out: list = []
        if self.stream_time is None or ts > self.stream_time:
            self.stream_time = ts
        gkey = keys[0] if self._single else tuple(keys)
        if self.rule is None:
            self._plain(gkey, keys, values, ts, out)
        else:
            self._windowed(gkey, keys, values, ts, out)
            self._seen += 1
            if self._seen % 4096 == 0 and self.emitter.passed:
                # Windows ending before this can take no more records (grace has passed).
                self.emitter.forget_windows_ending_before(
                    self.stream_time - self.rule.grace - self.rule.size)
        return out

    def _add(self, accs: list, values: list) -> list:
        return [add(acc, v) for add, acc, v in zip(self.adders, accs, values)]

    def _init(self) -> list:
        return [agg.init() for agg, _ in self.aggs]

    def _plain(self, gkey, keys, values, ts, out):
        entry = self.store.get(gkey)
        if entry is None:
            entry = self.store[gkey] = Entry(self._init(), ts)
        entry.accs = accs = [add(acc, v) for add, acc, v in zip(self.adders, entry.accs, values)]
        if ts > entry.ts:
            entry.ts = ts
        self.emitter.emit(gkey, keys, accs, entry.ts, None, out)

    def _time(self, gkey, keys, values, ts, out):
        rule = self.rule
        close = self.stream_time - rule.grace
        for start in W.time_window_starts(ts, rule.size, rule.advance):
            end = start + rule.size
            if end <= close:
                continue                        # late for this window: dropped
            entry = self.windows.get(gkey, start)
            if entry is None:
                entry = Entry(self._init(), ts, keys)
            elif ts > entry.ts:
                entry.ts = ts
            entry.accs = self._add(entry.accs, values)
            self.windows.put(gkey, start, entry)
            if not self.final:
                self.emitter.emit(gkey, keys, entry.accs, entry.ts, Window(start, end, "time"), out)
        if self.final:
            due = self.trigger.due_range(self.stream_time, self.windows.max_start)
            if due is not None:
                for start, key, entry in self.windows.range(*due):
                    self.emitter.emit(key, entry.keys, entry.accs, entry.ts,
                                      Window(start, start + rule.size, "time"), out, final=True)

    def _session(self, gkey, keys, values, ts, out):
        rule = self.rule
        close = self.stream_time - rule.grace - rule.size
        found = self.sessions.find(gkey, ts - rule.size, ts + rule.size)
        start, end = ts, ts
        if len(found) == 1:
            # The usual case, a record extending one session: merging into init() is the
            # identity, so its accumulators are taken as they are.
            only = found[0]
            start, end = min(ts, only.start), max(ts, only.end)
            accs = only.entry.accs
        else:
            accs = self._init()
            for s in found:
                start = min(start, s.start)
                end = max(end, s.end)
                accs = [agg.merge(a, b) for (agg, _), a, b in zip(self.aggs, accs, s.entry.accs)]
        accs = self._add(accs, values)
        if end < close:
            return                              # late: the merged session is already closed
        # Kafka Streams forwards no tombstones when the record only hit a one-point session
        # at its own timestamp (the row simply overwrites it).
        retract = (start, end) != (ts, ts) and not self.final
        for s in found:
            self.sessions.remove(gkey, s)
            if retract:
                self.emitter.tombstone(gkey, keys, s.end, Window(s.start, s.end, "session"), out)
        self.sessions.put(gkey, Session(start, end, Entry(accs, end, keys)), purge=not self.final)
        if not self.final:
            self.emitter.emit(gkey, keys, accs, end, Window(start, end, "session"), out)
        else:
            due = self.trigger.due_range(self.stream_time)
            if due is not None:
                for s_end, key, s in self.sessions.ended_between(*due):
                    self.emitter.emit(key, s.entry.keys, s.entry.accs, s.end,
                                      Window(s.start, s.end, "session"), out, final=True)
                # A session ending a gap before the close can never merge again.
                self.sessions.drop_ended_before(self.trigger.last_emit - rule.size)


class TableAggregate:
    """GROUP BY over a table: each change retracts the old row and adds the new one."""

    def __init__(self, reader: SourceReader, where, source_key_fns, group_fns, aggs, having,
                 value_fns, sink):
        self.reader = reader
        self.where = where
        self.source_key_fns = source_key_fns
        self.group_fns = group_fns
        self.aggs = aggs
        self.emitter = _Emitter(aggs, having, value_fns, sink)
        self.rows: dict = {}                    # source key → last row
        self.groups: dict = {}                  # group key → Entry
        self._single = len(group_fns) == 1
        self._adds = [(agg.add, arg) for agg, arg in aggs]
        self._undos = [(agg.undo, arg) for agg, arg in aggs]

    def _group(self, row):
        if row is None or (self.where is not None and self.where(row) is not True):
            return None, None
        keys = [g(row) for g in self.group_fns]
        if None in keys:
            return None, None
        return (keys[0] if self._single else tuple(keys)), keys

    def process(self, record: Record) -> list:
        read = self.reader.read(record)
        if read is None:
            return []
        row, tombstone, _ = read
        skey = tuple([f(row) for f in self.source_key_fns])
        if skey.count(None) == len(skey):
            return []
        ts = row[-3]
        old = self.rows.get(skey)
        new = None if tombstone else row
        if new is None:
            self.rows.pop(skey, None)
        else:
            self.rows[skey] = new
        old_g, old_keys = self._group(old)
        new_g, new_keys = self._group(new)
        out: list = []
        if old_keys is not None and new_keys is not None and old_g == new_g:
            entry = self._entry(old_g, ts)
            entry.accs = self._change(entry.accs, old, self._undos)
            entry.accs = self._change(entry.accs, new, self._adds)
            self.emitter.emit(new_g, new_keys, entry.accs, entry.ts, None, out)
            return out
        if old_keys is not None:
            entry = self._entry(old_g, ts)
            entry.accs = self._change(entry.accs, old, self._undos)
            self.emitter.emit(old_g, old_keys, entry.accs, entry.ts, None, out)
        if new_keys is not None:
            entry = self._entry(new_g, ts)
            entry.accs = self._change(entry.accs, new, self._adds)
            self.emitter.emit(new_g, new_keys, entry.accs, entry.ts, None, out)
        return out

    def _entry(self, gkey, ts) -> Entry:
        entry = self.groups.get(gkey)
        if entry is None:
            entry = self.groups[gkey] = Entry([agg.init() for agg, _ in self.aggs], ts)
        elif ts > entry.ts:
            entry.ts = ts
        return entry

    @staticmethod
    def _change(accs, row, changes: list) -> list:
        return [change(acc, arg(row)) for (change, arg), acc in zip(changes, accs)]


def log_entry(query_id: str, record: Record, message: str,
              target: str | None = None) -> ProcessingLogEntry:
    if target is not None:
        raw = None
    elif message.startswith("key"):
        target, raw = "key", record.key
    else:
        target, raw = "value", record.value
    return ProcessingLogEntry(query_id, record.topic, record.partition, record.offset, message,
                              _record_text(record), target,
                              bytes(raw) if isinstance(raw, (bytes, bytearray)) else None)


def sql_record_text(record: Record) -> str:
    """The record a query was processing, as JSON text (a recordProcessingError's record)."""
    value = record.value
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return json.dumps(value)
    return "null" if value is None else str(value)


def _record_text(record: Record) -> str:
    value = record.value
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("utf-8", "replace")
    return f"key={record.key!r}, value={value!r}, timestamp={record.timestamp}"
