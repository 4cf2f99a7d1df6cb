"""What goes into one model call: frames already waiting, across cameras, none too old."""

from __future__ import annotations

from socksort.edge_lambda.framewire import FrameRecord
from socksort.edge_lambda.worker import batching


class Record:
    def __init__(self, partition: int, offset: int, topic: str = "camera_frames"):
        self._t, self._p, self._o = topic, partition, offset

    def topic(self):
        return self._t

    def partition(self):
        return self._p

    def offset(self):
        return self._o


class Waiting:
    """A consumer with some records already fetched; ``revoke_on`` runs a rebalance in that call."""

    def __init__(self, records, revoke_on: str | None = None):
        self.records = list(records)
        self.revoke_on = revoke_on
        self.revoked = False
        self.waits = []

    def _call(self, name):
        if name == self.revoke_on:   # one rebalance, in the first call of that name
            self.revoked, self.revoke_on = True, None

    def poll(self, timeout):
        self.waits.append(("poll", timeout))
        self._call("poll")
        return self.records.pop(0) if self.records else None

    def consume(self, count, timeout):
        self.waits.append(("consume", timeout))
        self._call("consume")
        taken, self.records = self.records[:count], self.records[count:]
        return taken

    def rebalanced(self):
        revoked, self.revoked = self.revoked, False
        return revoked


def frame(ts: int, device: str = "a") -> FrameRecord:
    return FrameRecord(device, 0, ts, b"")


def test_the_first_frame_is_waited_for_and_the_rest_only_taken_if_already_there():
    consumer = Waiting([Record(0, i) for i in range(3)])
    taken = batching.take_waiting(consumer, max_batch=8, wait_s=0.5)
    assert [r.offset() for r in taken] == [0, 1, 2]
    assert consumer.waits[0] == ("poll", 0.5)
    assert all(wait == ("consume", 0) for wait in consumer.waits[1:])


def test_a_batch_holds_at_most_max_batch_records():
    consumer = Waiting([Record(i % 2, i) for i in range(20)])
    assert len(batching.take_waiting(consumer, max_batch=8, wait_s=0.1)) == 8
    assert len(consumer.records) == 12


def test_batch_of_one_never_asks_for_more():
    consumer = Waiting([Record(0, i) for i in range(3)])
    assert len(batching.take_waiting(consumer, max_batch=1, wait_s=0.1)) == 1
    assert consumer.waits == [("poll", 0.1)]


def test_nothing_waiting_gives_an_empty_batch():
    assert batching.take_waiting(Waiting([]), max_batch=8, wait_s=0.1) == []


def test_records_taken_before_a_rebalance_are_dropped_and_later_ones_kept():
    consumer = Waiting([Record(0, 0), Record(1, 5), Record(1, 6)], revoke_on="consume")
    taken = batching.take_waiting(consumer, max_batch=8, wait_s=0.1, rebalanced=consumer.rebalanced)
    assert [(r.partition(), r.offset()) for r in taken] == [(1, 5), (1, 6)]


def test_records_of_the_call_that_ran_the_rebalance_are_kept():
    consumer = Waiting([Record(0, 0), Record(0, 1)], revoke_on="poll")
    taken = batching.take_waiting(consumer, max_batch=8, wait_s=0.1, rebalanced=consumer.rebalanced)
    assert [r.offset() for r in taken] == [0, 1]


def test_without_a_lag_limit_every_frame_is_fresh():
    split = batching.split_stale([frame(0), frame(1000)], now_ms=10_000_000, max_lag_s=None)
    assert len(split.fresh) == 2 and split.stale == []


def test_frames_older_than_the_lag_limit_are_stale():
    old, edge, new = frame(8_000), frame(9_000), frame(9_900)
    split = batching.split_stale([old, edge, new], now_ms=10_000, max_lag_s=1.0)
    assert split.fresh == [edge, new]
    assert split.stale == [old]


def test_the_offsets_committed_are_one_past_the_last_record_per_partition():
    records = [Record(0, 4), Record(2, 10), Record(0, 5), Record(2, 11), Record(2, 12)]
    assert batching.next_offsets(records) == {("camera_frames", 0): 6, ("camera_frames", 2): 13}


class Stamped(Record):
    def __init__(self, partition, offset, ts):
        super().__init__(partition, offset)
        self.ts = ts


def test_frames_too_old_take_no_batch_slot_so_a_worker_behind_skips_many_in_one_turn():
    old = [Stamped(0, i, ts=0) for i in range(30)]
    fresh = [Stamped(0, 30 + i, ts=100) for i in range(5)]
    consumer = Waiting(old + fresh)
    taken = batching.take_waiting(consumer, max_batch=2, wait_s=0.1, takes_slot=lambda r: r.ts >= 100, most=100)
    assert [r.offset() for r in taken] == list(range(32))


def test_old_frames_taken_along_are_bounded_by_most():
    consumer = Waiting([Stamped(0, i, ts=0) for i in range(50)])
    taken = batching.take_waiting(consumer, max_batch=2, wait_s=0.1, takes_slot=lambda r: False, most=20)
    assert len(taken) == 20


def test_the_ts_header_is_read_as_a_number_or_none():
    assert batching.frame_ts([("seq", b"1"), ("ts", b"1700")]) == 1700
    assert batching.frame_ts([("ts", b"soon")]) is None
    assert batching.frame_ts(None) is None
