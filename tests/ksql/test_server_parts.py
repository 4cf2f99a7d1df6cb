"""The ksql server's and user commands' small parts, without a broker."""

import json

import pytest

from socksort.errors import UserError
from socksort.ksql.cli.pipeline import speed_value
from socksort.ksql.kafka_io import Message
from socksort.ksql.pipeline import PIPELINE_SQL, pairs, replay
from socksort.ksql.pipeline.rows import PairRow
from socksort.ksql.server import print_topic
from socksort.ksql.server.command_topic import Command
from socksort.ksql.sql import variables
from socksort.net import free_port


def test_print_line_has_ksqldb_rowtime_key_value_and_partition():
    msg = Message("data_mqtt", 0, 5, b"sockfound", b'{"image":"Mongo"}', 1732186800266)
    assert print_topic.line(msg) == ('rowtime: 2024/11/21 11:00:00.266 Z, key: sockfound, '
                                     'value: {"image":"Mongo"}, partition: 0')


def test_print_shows_null_key_and_missing_time():
    msg = Message("t", 1, 0, None, b"x", -1)
    assert print_topic.line(msg) == "rowtime: N/A, key: <null>, value: x, partition: 1"


def test_print_guesses_formats_as_ksqldb_names_them():
    assert print_topic.guess_format(b'{"a": 1}') == "JSON or KAFKA_STRING"
    assert print_topic.guess_format(b"hello") == "KAFKA_STRING"
    assert print_topic.guess_format(None) == "<null>"


def test_print_honours_interval_and_limit():
    msgs = [Message("t", 0, i, None, str(i).encode(), 0) for i in range(10)]
    out = list(print_topic.lines(iter(msgs), interval=3, limit=2, stopped=lambda: False))
    assert out[2:] == [print_topic.line(msgs[0]), print_topic.line(msgs[3])]


def test_variables_are_substituted_case_insensitively():
    assert variables.substitute("'${Broker}'", {"broker": "tcp://h:1"}) == "'tcp://h:1'"


def test_connect_file_references_are_left_for_connect():
    text = "'${file:/run/secrets.properties:mqtt.password}'"
    assert variables.substitute(text, {}) == text


def test_an_undefined_variable_is_an_error():
    with pytest.raises(variables.UndefinedVariable):
        variables.substitute("${nope}", {})


def test_pair_table_is_drawn_like_the_ksql_cli():
    drawn = pairs.table([PairRow("Mongo", "Pair", 2), PairRow("Streamset", "Un-matched", 1)])
    assert drawn.splitlines() == [
        "+----------+-----------+------------------+",
        "|IMAGE     |PAIR_SEEN  |NUMBER_SOCKS_SEEN |",
        "+----------+-----------+------------------+",
        "|Mongo     |Pair       |2                 |",
        "|Streamset |Un-matched |1                 |",
        "+----------+-----------+------------------+",
    ]


def test_a_command_keeps_where_it_ran_where_its_new_inputs_start_and_their_topic_ids():
    command = Command("CREATE TABLE T AS SELECT K, COUNT(*) AS N FROM S GROUP BY K;",
                      {"auto.offset.reset": "latest"}, {"a/0": 5, "a/1": 3},
                      {"b/0": 7}, {"a": "id-of-a", "b": "id-of-b"})
    assert Command.from_json(command.to_json()) == command


def test_a_command_written_before_starts_were_kept_starts_its_new_inputs_at_its_position():
    # The older format kept one map, taken after the statement ran.
    old = json.dumps({"statement": "CREATE TABLE T AS SELECT * FROM S;", "properties": {},
                      "position": {"data_mqtt/0": 573}, "caught_up": {}}).encode()
    command = Command.from_json(old)
    assert command.starts == {"data_mqtt/0": 573}
    assert command.topic_ids == {}


def test_reset_keeps_the_input_stream_and_drops_what_the_pipeline_built():
    objects = pairs.pipeline_objects(PIPELINE_SQL.read_text())
    assert objects.inputs == ["SOCK_FRAMES"]
    built = {name: owns for _, name, owns in objects.built}
    assert built["SOCK_PAIRS"] and built["SOCK_SHOWINGS"] and built["SOCK_DELIVERIES"]
    assert not built["SOCK_DELIVERED"] and not built["SOCK_VOTE_CHANGES"]


def test_replay_names_the_line_that_is_not_a_prediction(tmp_path):
    path = tmp_path / "frames.jsonl"
    good = json.dumps({"image": "Mongo", "probability": 90, "ts": 1, "device": "d", "seq": 0})
    path.write_text(good + "\n" + '{"image": "Mongo"}\n')
    with pytest.raises(UserError, match=r"frames.jsonl:2: not a prediction message: field "
                                        r"'probability' is missing"):
        replay.read_frames(path)


@pytest.mark.parametrize("text,value", [("max", None), ("1", 1.0), ("12.5", 12.5)])
def test_replay_speed_is_max_or_a_positive_factor(text, value):
    assert speed_value(text) == value


def test_replay_speed_rejects_zero():
    with pytest.raises(ValueError):
        speed_value("0")


def test_replay_to_an_mqtts_url_speaks_tls(monkeypatch):
    import paho.mqtt.client as mqtt

    from socksort.config import mqtt_url

    tls = []
    monkeypatch.setattr(mqtt.Client, "tls_set", lambda self, *a, **k: tls.append(True))
    with pytest.raises(UserError, match="cannot reach the MQTT broker"):
        replay.to_mqtt(mqtt_url(f"mqtts://127.0.0.1:{free_port()}"), [replay.Frame(b"{}", 0)], None)
    assert tls == [True]


def test_pairs_against_no_server_is_a_one_line_error(run_cli):
    url = f"http://127.0.0.1:{free_port()}"
    result = run_cli("pairs", "--url", url)
    assert result.returncode == 2
    assert result.stderr.startswith(f"socksort: error: cannot reach the ksql server at {url}")
    assert len(result.stderr.strip().splitlines()) == 1


def test_shell_statements_end_at_a_semicolon_outside_quotes_and_comments():
    from socksort.ksql.client.shell import statements

    lines = ["SELECT 'a;b' AS X\n", "  FROM S -- not; yet\n", "  EMIT CHANGES; SHOW STREAMS;\n",
             "\n", "DESCRIBE S\n", ";\n"]
    assert list(statements(iter(lines))) == [
        "SELECT 'a;b' AS X\n  FROM S -- not; yet\n  EMIT CHANGES;", "SHOW STREAMS;", "DESCRIBE S\n;"]


def test_shell_keeps_set_and_define_locally_as_the_ksql_cli_does():
    import io

    from socksort.ksql.client.shell import Shell

    out = io.StringIO()
    shell = Shell("http://127.0.0.1:9", out)
    shell.run("SET 'auto.offset.reset' = 'earliest';")
    shell.run("DEFINE topic = 'data_mqtt';")
    assert shell.properties == {"auto.offset.reset": "earliest"}
    assert shell.variables == {"topic": "data_mqtt"}
    assert out.getvalue() == "Successfully changed local property 'auto.offset.reset' to 'earliest'.\n"


def test_shell_shows_a_created_statement_by_its_message():
    from socksort.ksql.client.shell import render

    assert render({"@type": "currentStatus", "commandStatus": {"message": "Stream created"}}) == \
        "Stream created"


# --- replay's wait: progress, not a deadline -----------------------------------------------

def test_replay_keeps_waiting_while_the_work_done_grows_however_slowly():
    watch = replay.Stall(limit=60, now=0)
    assert all(watch.note(now=t, done=t // 50) for t in range(0, 1200, 10))


def test_replay_gives_up_only_after_the_work_done_stops_growing_for_the_limit():
    watch = replay.Stall(limit=60, now=0)
    assert watch.note(now=0, done=7) and watch.note(now=60, done=7)
    assert not watch.note(now=60.5, done=7)


def test_lag_counts_what_each_query_group_has_left_to_consume():
    state = replay.lag({"a.queries": {0: 90}, "b.queries": {0: 100}, "idle.queries": {}}, {0: 100})
    assert state.readers == ("a.queries", "b.queries")
    assert state.behind == ("a.queries",) and state.records == 10 and state.consumed == 190
    assert not state.done
    assert replay.lag({"a.queries": {0: 100}}, {0: 100}).done


def test_no_committed_offset_means_no_query_reads_the_topic():
    state = replay.lag({"x.queries": {}}, {0: 5})
    assert state.readers == () and not state.done


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def _wait_with(monkeypatch, commits):
    """Run wait_processed against ``commits(now) -> {group: {partition: offset}}`` on a fake clock."""
    clock = FakeClock()
    monkeypatch.setattr(replay, "time", clock)
    monkeypatch.setattr(replay.kafka_io, "admin", lambda bootstrap: None)
    monkeypatch.setattr(replay, "committed_offsets", lambda client, partitions: commits(clock.now))
    replay.wait_processed("kafka:9092", {0: 1000}, stall=60)
    return clock.now


def test_waiting_for_the_queries_outlasts_a_slow_but_moving_pipeline(monkeypatch):
    # one record committed every 2 s: 1000 records take far longer than the 60 s stall limit
    waited = _wait_with(monkeypatch, lambda now: {"q.queries": {0: min(1000, int(now / 2))}})
    assert waited >= 2000


def test_waiting_for_the_queries_names_the_stalled_group_and_its_lag(monkeypatch):
    with pytest.raises(UserError, match=r"^the queries stopped consuming data_mqtt: q.queries still 400 "
                                        r"records behind, with no progress for 60s$"):
        _wait_with(monkeypatch, lambda now: {"q.queries": {0: min(600, int(now * 10))}})


def test_waiting_with_no_query_on_the_topic_says_to_apply_the_pipeline(monkeypatch):
    with pytest.raises(UserError, match=r"no query reads data_mqtt .*run `socksort ksql-apply` first"):
        _wait_with(monkeypatch, lambda now: {})


def test_the_wait_says_what_it_waits_for(monkeypatch, capsys):
    _wait_with(monkeypatch, lambda now: {"q.queries": {0: 1000}})
    assert ("waiting for the ksql queries to consume Kafka topic data_mqtt up to offset 1000 on partition 0"
            in capsys.readouterr().err)


def test_replay_expects_the_connector_to_skip_redelivered_frames_only():
    def frame(device, seq, ts):
        return replay.Frame(b"{}", ts, device, seq)

    frames = [frame("a", 0, 0), frame("a", 1, 250), frame("a", 1, 250),   # a redelivery right away
              frame("b", 0, 100), frame("a", 0, 0),                          # ... and one later
              frame("a", 0, 900),                                            # camera a restarted: kept
              frame(None, None, None), frame(None, None, None)]              # the seed's payload: always
    assert replay.connector_writes(frames) == 6


class FakeTail:
    """data_mqtt as the replay reads it back: one record a second, a live camera's among them."""

    def __init__(self, clock, values):
        self.clock, self.values = clock, list(values)

    def read(self, timeout=0.2):
        self.clock.sleep(1.0)
        return [Message("data_mqtt", 0, 0, None, self.values.pop(0), 0)] if self.values else []

    def close(self):
        pass


def _deliver(monkeypatch, values, frames, expected):
    clock = FakeClock()
    monkeypatch.setattr(replay, "time", clock)
    monkeypatch.setattr(replay.kafka_io, "Tail", lambda bootstrap, topic, start: FakeTail(clock, values))
    monkeypatch.setattr(replay.kafka_io, "end_offsets", lambda bootstrap, topic: {0: 99})
    return replay.wait_delivered("kafka:9092", {0: 0}, frames, expected, stall=60), clock.now


def test_delivery_counts_the_replayed_frames_read_back_not_other_records(monkeypatch):
    frames = [replay.Frame(b'{"n":1}', None), replay.Frame(b'{"n":2}', None)]
    ends, waited = _deliver(monkeypatch, [b'{"n":1}', b'{"live":1}', b'{"live":2}', b'{"n":2}'], frames, 2)
    assert ends == {0: 99} and waited >= 4   # it waited for the second frame past the live ones


def test_delivery_that_stops_short_names_the_count_and_the_likely_causes(monkeypatch):
    frames = [replay.Frame(b'{"n":1}', None), replay.Frame(b'{"n":2}', None)]
    with pytest.raises(UserError, match=r"^only 1 of 2 frames reached Kafka topic data_mqtt, none more for 60s "
                                        r"\(is the MQTT connector running\?.*replayed twice: use --via kafka\)$"):
        _deliver(monkeypatch, [b'{"n":1}'], frames, 2)
