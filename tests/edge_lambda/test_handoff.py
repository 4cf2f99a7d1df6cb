"""Broadcast: the newest value for any number of readers, each at its own pace."""

import threading

from socksort.edge_lambda.handoff import Broadcast

from edge_fixtures import wait_until


def test_a_reader_that_was_busy_gets_the_newest_value_and_skips_the_ones_it_missed():
    hub, got = Broadcast(), []
    busy, stop = threading.Event(), threading.Event()

    def read():
        for value in hub.follow(stop, poll=0.05):
            got.append(value)
            busy.wait(5)   # busy with "a" while "b" and "c" arrive

    reader = threading.Thread(target=read)
    reader.start()
    hub.publish("a")
    assert wait_until(lambda: got == ["a"])
    hub.publish("b")
    hub.publish("c")
    busy.set()
    assert wait_until(lambda: got == ["a", "c"])
    stop.set()
    reader.join(5)
    assert not reader.is_alive()


def test_waiting_counts_only_readers_blocked_for_their_next_value():
    hub, stop, release = Broadcast(), threading.Event(), threading.Event()

    def read():
        for _ in hub.follow(stop, poll=0.05):
            release.wait(5)

    reader = threading.Thread(target=read)
    assert hub.waiting == 0
    reader.start()
    assert wait_until(lambda: hub.waiting == 1)
    hub.publish(b"frame")
    assert wait_until(lambda: hub.waiting == 0)   # holding the frame, not waiting
    release.set()
    assert wait_until(lambda: hub.waiting == 1)
    stop.set()
    reader.join(5)
    assert hub.waiting == 0


def test_closing_ends_every_reader():
    hub = Broadcast()
    readers = [threading.Thread(target=lambda: list(hub.follow(poll=5))) for _ in range(3)]
    for reader in readers:
        reader.start()
    assert wait_until(lambda: hub.waiting == 3)
    hub.close()
    for reader in readers:
        reader.join(2)
    assert not any(reader.is_alive() for reader in readers)


def test_next_returns_a_value_published_after_the_call_not_the_current_one():
    hub, got = Broadcast(), []
    hub.publish("old")
    reader = threading.Thread(target=lambda: got.append(hub.next(timeout=5)))
    reader.start()
    assert wait_until(lambda: hub.waiting == 1)
    hub.publish("new")
    reader.join(5)
    assert got == ["new"] and hub.waiting == 0


def test_next_with_nothing_published_gives_none_and_stops_waiting():
    hub = Broadcast()
    hub.publish("old")
    assert hub.next(timeout=0.05) is None
    assert hub.waiting == 0
