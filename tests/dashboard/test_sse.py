"""Server-sent events: the framing browsers parse, and a hub that never blocks on a slow page."""

import threading

from socksort.dashboard.sse import Hub, comment, frame


def parse(message: bytes) -> dict:
    """Parse one SSE message the way a browser does (fields; data lines joined by newlines)."""
    fields: dict[str, list[str]] = {}
    assert message.endswith(b"\n\n")
    for line in message.decode().rstrip("\n").split("\n"):
        name, _, value = line.partition(": ")
        fields.setdefault(name, []).append(value)
    return {"id": fields.get("id", [None])[0], "event": fields.get("event", [None])[0],
            "data": "\n".join(fields.get("data", []))}


def test_a_frame_carries_event_name_id_and_json_data():
    message = parse(frame("pairs", {"rows": [{"image": "Google"}]}, 7))
    assert message == {"id": "7", "event": "pairs", "data": '{"rows":[{"image":"Google"}]}'}


def test_text_with_newlines_survives_as_several_data_lines():
    raw = frame(None, "line one\nline two")
    assert raw.count(b"data: ") == 2
    assert parse(raw)["data"] == "line one\nline two"


def test_a_comment_is_ignored_by_browsers_because_it_starts_with_a_colon():
    assert comment("keep-alive").startswith(b":") and comment().endswith(b"\n\n")


def test_every_connected_client_receives_a_published_event():
    hub = Hub()
    a, b = hub.connect(), hub.connect()
    hub.publish("health", {"ok": True})
    assert parse(a.next(1))["event"] == "health"
    assert parse(b.next(1))["event"] == "health"


def test_a_late_client_starts_from_its_greeting_then_the_latest_state_of_each_kind():
    hub = Hub()
    hub.publish("pairs", {"rows": 1}, state=True)
    hub.publish("pairs", {"rows": 2}, state=True)
    hub.publish("frames", {"frames": []})  # not state: a late page does not get it
    hub.publish("health", {"ok": False}, state=True)
    client = hub.connect(first=[frame("timeline", {"frames": []})])
    got = [parse(client.next(0.1)) for _ in range(3)]
    assert [m["event"] for m in got] == ["timeline", "pairs", "health"]
    assert got[1]["data"] == '{"rows":2}'
    assert client.next(0.05) is None


def test_a_slow_client_loses_its_oldest_events_and_they_are_counted():
    hub = Hub(per_client=3)
    slow = hub.connect()
    for n in range(10):
        hub.publish("frames", {"n": n})
    assert slow.dropped == 7 and hub.dropped_total == 7
    assert [parse(slow.next(0.1))["data"] for _ in range(3)] == ['{"n":7}', '{"n":8}', '{"n":9}']


def test_publishing_never_waits_for_a_client_that_does_not_read():
    hub = Hub(per_client=1)
    hub.connect()
    done = threading.Event()

    def publish_many():
        for n in range(1000):
            hub.publish("frames", {"n": n})
        done.set()

    threading.Thread(target=publish_many, daemon=True).start()
    assert done.wait(10), "publish blocked on a full client queue"


def test_a_disconnected_client_receives_nothing_more():
    hub = Hub()
    client = hub.connect()
    hub.disconnect(client)
    hub.publish("health", {})
    assert client.next(0.05) is None and hub.clients() == 0
