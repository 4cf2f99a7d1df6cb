"""socksort ksql-server on real Kafka: the pipeline's tables, restarts, the REST API, bad records.

Each test runs its own server process on the shared stack's Kafka, with its own command
topic (so its own state and consumer group) and the pipeline's topics renamed uniquely,
so tests never see each other's records.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import httpx
import pytest
from kafka_groups import committed_to_end

from socksort.ksql.client import rest_client
from socksort.ksql.pipeline import pairs
from socksort.ksql.pipeline import PIPELINE_SQL
from socksort.ksql.pipeline.rows import PairRow
from socksort.ksql.pipeline.simulate import SessionSpec, simulate
from socksort.net import free_port

pytestmark = pytest.mark.broker

# Sessions start an hour ago: Kafka keeps records by their time, and the 2024 default of
# the simulator would be deleted by retention within minutes of landing.
RECENT = int(time.time() * 1000) - 3_600_000


def unique_pipeline(suffix: str) -> str:
    """ksql/pipeline.ksql with every Kafka topic renamed <topic>_<suffix>."""
    return re.sub(r"KAFKA_TOPIC='([^']+)'", lambda m: f"KAFKA_TOPIC='{m.group(1)}_{suffix}'",
                  PIPELINE_SQL.read_text())


class ServerProcess:
    """`socksort ksql-server` as a child process, stopped by its pid."""

    def __init__(self, bootstrap: str, workdir: Path, command_topic: str | None = None):
        self.bootstrap = bootstrap
        self.workdir = workdir
        self.command_topic = command_topic or f"_test_ksql_commands_{uuid.uuid4().hex[:8]}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.child: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> "ServerProcess":
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.workdir / f"ksql-server-{self.port}.log", "ab")
        self.child = subprocess.Popen(
            [sys.executable, "-m", "socksort", "ksql-server", "--bootstrap", self.bootstrap,
             "--listen", f"127.0.0.1:{self.port}", "--connect-url", "http://127.0.0.1:9",
             "--command-topic", self.command_topic],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.child.poll() is not None:
                raise AssertionError(f"ksql-server exited: {self.log_text()}")
            if self.healthy():
                return self
            time.sleep(0.2)
        raise AssertionError(f"ksql-server did not become healthy: {self.log_text()}")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthcheck", timeout=2) as response:
                return b'"isHealthy": true' in response.read()
        except OSError:
            return False

    def stop(self) -> None:
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signal.SIGTERM)
            try:
                self.child.wait(30)
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.wait(10)
        self.child = None

    def restart(self) -> "ServerProcess":
        self.stop()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        return self.start()

    def log_text(self) -> str:
        return "".join(p.read_text(errors="replace")[-3000:]
                       for p in sorted(self.workdir.glob("ksql-server-*.log")))


def wait_for(check, timeout: float = 60, interval: float = 0.3):
    """Poll ``check()`` until it returns something truthy; return that, or the last value."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = check()
    return value


def produce(bootstrap: str, topic: str, frames, key: bytes | None = b"sockfound") -> None:
    """Publish as Kafka Connect does: record time = the frame's ts, else now."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap})
    for frame in frames:
        payload = frame if isinstance(frame, bytes) else frame.to_json()
        ts = None if isinstance(frame, bytes) else frame.ts
        producer.produce(topic, value=payload, key=key, **({} if ts is None else {"timestamp": ts}))
    assert producer.flush(30) == 0


# --- fixtures and tests ------------------------------------------------------------------


@pytest.fixture
def server(stack, tmp_path):
    process = ServerProcess(stack.bootstrap_servers, tmp_path / "ksql").start()
    yield process
    process.stop()


@pytest.fixture
def pipeline(server):
    """The pipeline applied to ``server`` with unique topics; yields its input topic."""
    suffix = uuid.uuid4().hex[:8]
    rest_client.run(server.url, unique_pipeline(suffix))
    return f"data_mqtt_{suffix}"


def expected_pairs(session) -> list[PairRow]:
    return sorted(session.pairs.values(), key=lambda r: r.image)


def read_when(url: str, expected, timeout: float = 60):
    return wait_for(lambda: (lambda now: now if now == expected else None)(pairs.read(url)),
                    timeout) or pairs.read(url)


def test_info_reports_a_ksqldb_version_the_client_accepts(server):
    import ksql

    assert ksql.KSQLAPI(server.url).get_ksql_version() == "0.29.0"


def test_a_simulated_session_on_kafka_ends_with_the_true_pair_table(server, pipeline, stack):
    session = simulate(11, SessionSpec(fps=4, start_ms=RECENT))
    produce(stack.bootstrap_servers, pipeline, session.frames)
    assert read_when(server.url, expected_pairs(session)) == expected_pairs(session)


def test_socks_held_up_together_on_kafka_end_with_the_true_pair_table(server, pipeline, stack):
    from dataclasses import replace

    from socksort.ksql.pipeline.simulate import TOGETHER_SESSIONS

    session = simulate(11, replace(TOGETHER_SESSIONS, fps=4, start_ms=RECENT))
    assert any(len(s.designs) == 2 for s in session.showings)
    produce(stack.bootstrap_servers, pipeline, session.frames)
    assert read_when(server.url, expected_pairs(session)) == expected_pairs(session)


def test_a_restarted_server_rebuilds_the_same_tables(server, pipeline, stack):
    session = simulate(12, SessionSpec(fps=4, start_ms=RECENT))
    produce(stack.bootstrap_servers, pipeline, session.frames)
    before = read_when(server.url, expected_pairs(session))
    showings = rest_client.pull(server.url, "SELECT * FROM SOCK_SHOWINGS;").rows
    server.restart()
    assert pairs.read(server.url) == before
    assert sorted(rest_client.pull(server.url, "SELECT * FROM SOCK_SHOWINGS;").rows) == sorted(showings)


def test_after_a_restart_new_frames_add_to_the_rebuilt_tables(server, pipeline, stack):
    first, second = simulate(13, SessionSpec(fps=4, start_ms=RECENT)), simulate(14, SessionSpec(fps=4, start_ms=RECENT))
    produce(stack.bootstrap_servers, pipeline, first.frames)
    read_when(server.url, expected_pairs(first))
    server.restart()
    later = 10 * 60_000  # the second session starts ten minutes after the first
    shifted = [f.__class__(**{**f.__dict__, "ts": f.ts + later}) for f in second.frames]
    produce(stack.bootstrap_servers, pipeline, shifted)
    both = {}
    for s in (first, second):
        for image, row in s.pairs.items():
            both[image] = both.get(image, 0) + row.number_socks_seen
    expected = [PairRow(i, "Pair" if k % 2 == 0 else "Un-matched", k) for i, k in sorted(both.items())]
    assert read_when(server.url, expected) == expected


def test_bad_records_are_skipped_counted_and_logged(server, pipeline, stack):
    from socksort.contract import PROCESSING_LOG_TOPIC
    from socksort.ksql.kafka_io import read_topic

    session = simulate(15, SessionSpec(fps=4, start_ms=RECENT))
    produce(stack.bootstrap_servers, pipeline, [b"not json", b'{"image": "Mongo", "probability": "high"}'])
    produce(stack.bootstrap_servers, pipeline, session.frames)
    assert read_when(server.url, expected_pairs(session)) == expected_pairs(session)

    def ours():
        return [json.loads(m.value) for m in read_topic(stack.bootstrap_servers, PROCESSING_LOG_TOPIC)
                if json.loads(m.value)["message"].get("deserializationError", {}).get("topic") == pipeline]
    entries = wait_for(lambda: len(ours()) >= 2 and ours(), timeout=30)
    assert len(entries) == 2
    assert all(e["level"] == "ERROR" and e["logger"].startswith("processing.CSAS_SOCK_READINGS")
               for e in entries)


def processing_log_entries(bootstrap: str, logger: str) -> list[dict]:
    """The processing-log records a given query's logger wrote (the topic is shared)."""
    from socksort.contract import PROCESSING_LOG_TOPIC
    from socksort.ksql.kafka_io import read_topic

    entries = [json.loads(m.value) for m in read_topic(bootstrap, PROCESSING_LOG_TOPIC)]
    return [e for e in entries if e["logger"] == logger]


def stream_query(server, sql: str) -> tuple[threading.Thread, list]:
    """Run a push query on /query-stream in a thread; its JSON lines (header first) arrive
    in the returned list. Join the thread to wait for the query's end (its LIMIT)."""
    lines: list = []

    def consume():
        with httpx.stream("POST", f"{server.url}/query-stream", timeout=60, json={"sql": sql}) as response:
            for line in response.iter_lines():
                if line.strip():
                    lines.append(json.loads(line))

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    return reader, lines


def dividing_streams(server) -> str:
    """D_<suffix> over topic divide_<suffix> and Q_<suffix> = A / B from it; returns the suffix."""
    suffix = uuid.uuid4().hex[:8].upper()
    rest_client.run(server.url, f"CREATE STREAM D_{suffix} (A INT, B INT) WITH (KAFKA_TOPIC="
                                f"'divide_{suffix}', VALUE_FORMAT='JSON', PARTITIONS=1);"
                                f"CREATE STREAM Q_{suffix} AS SELECT A, A / B AS Q FROM D_{suffix};")
    return suffix


def test_an_expression_failing_on_a_record_yields_null_and_is_logged(server, stack):
    from socksort.ksql.kafka_io import read_topic

    suffix = dividing_streams(server)
    topic = f"divide_{suffix}"
    produce(stack.bootstrap_servers, topic, [b'{"A": 7, "B": 0}', b'{"A": 8, "B": 2}'], key=None)
    def written():
        return [json.loads(m.value) for m in read_topic(stack.bootstrap_servers, f"Q_{suffix}")]
    wait_for(lambda: len(written()) >= 2, 30)
    assert written() == [{"A": 7, "Q": None}, {"A": 8, "Q": 4}]
    logger = f"processing.CSAS_Q_{suffix}_0"
    entries = wait_for(lambda: processing_log_entries(stack.bootstrap_servers, logger), 30)
    assert [e["message"]["type"] for e in entries] == [1]
    error = entries[0]["message"]["recordProcessingError"]
    assert error["errorMessage"] == ("Error computing expression (A / B) for column Q with "
                                     "index 1: / by zero")
    assert json.loads(error["record"]) == {"A": 7, "B": 0}


def test_the_processing_log_stream_shows_errors_to_a_push_query(server, stack):
    suffix = dividing_streams(server)
    reader, lines = stream_query(server, "SELECT * FROM KSQL_PROCESSING_LOG EMIT CHANGES LIMIT 1;")
    assert wait_for(lambda: lines, 30)          # the header: the query is running
    produce(stack.bootstrap_servers, f"divide_{suffix}", [b'{"A": 7, "B": 0}'], key=None)
    reader.join(60)
    header, *rows = lines
    assert header["columnNames"] == ["LOGGER", "LEVEL", "TIME", "MESSAGE"]
    [[logger, level, _time, message]] = rows
    assert (logger, level, message["TYPE"]) == (f"processing.CSAS_Q_{suffix}_0", "ERROR", 1)
    assert message["RECORDPROCESSINGERROR"]["ERRORMESSAGE"].endswith("/ by zero")


def test_a_push_query_reads_processing_log_struct_fields_with_the_arrow(server, stack):
    suffix = dividing_streams(server)
    reader, lines = stream_query(server, "SELECT MESSAGE->TYPE AS T, MESSAGE->RECORDPROCESSINGERROR->ERRORMESSAGE "
                                         "AS E FROM KSQL_PROCESSING_LOG EMIT CHANGES LIMIT 1;")
    assert wait_for(lambda: lines, 30)          # the header: the query is running
    produce(stack.bootstrap_servers, f"divide_{suffix}", [b'{"A": 7, "B": 0}'], key=None)
    reader.join(60)
    header, *rows = lines
    assert header["columnNames"] == ["T", "E"]
    assert header["columnTypes"] == ["INTEGER", "STRING"]
    assert rows == [[1, "Error computing expression (A / B) for column Q with index 1: / by zero"]]


def test_the_processing_log_stream_is_listed_like_any_stream(server):
    [streams] = rest_client.run(server.url, "SHOW STREAMS;")
    [log_stream] = [s for s in streams["streams"] if s["name"] == "KSQL_PROCESSING_LOG"]
    assert log_stream["topic"] == "socksort_ksql_processing_log"


def test_show_properties_lists_the_requests_own_properties_as_overwritten(server):
    [listed] = rest_client.run(server.url, "SHOW PROPERTIES;", {"auto.offset.reset": "earliest"})
    assert listed["@type"] == "properties"
    assert listed["properties"]["auto.offset.reset"] == "earliest"
    assert listed["overwrittenProperties"] == ["auto.offset.reset"]
    [plain] = rest_client.run(server.url, "SHOW PROPERTIES;")
    assert "auto.offset.reset" not in plain["properties"]


def test_a_statement_after_a_failing_one_is_not_run_and_those_before_are_reported(server):
    suffix = uuid.uuid4().hex[:8].upper()
    response = httpx.post(f"{server.url}/ksql", json={"ksql": (
        f"CREATE STREAM OK_{suffix} (A INT) WITH (KAFKA_TOPIC='ok_{suffix}', VALUE_FORMAT='JSON', "
        f"PARTITIONS=1); CREATE STREAM BAD_{suffix} AS SELECT NOPE FROM OK_{suffix}; "
        f"CREATE STREAM NEVER_{suffix} (A INT) WITH (KAFKA_TOPIC='never_{suffix}', "
        "VALUE_FORMAT='JSON', PARTITIONS=1);")})
    body = response.json()
    assert response.status_code == 400
    assert body["statementText"] == f"CREATE STREAM BAD_{suffix} AS SELECT NOPE FROM OK_{suffix}"
    assert [e["commandStatus"]["message"] for e in body["entities"]] == ["Stream created"]
    [streams] = rest_client.run(server.url, "SHOW STREAMS;")
    names = {s["name"] for s in streams["streams"]}
    assert f"OK_{suffix}" in names and f"NEVER_{suffix}" not in names


def test_an_undefined_session_variable_is_a_statement_error_naming_it(server):
    response = httpx.post(f"{server.url}/ksql", json={
        "ksql": "SHOW STREAMS; PRINT '${topic}';", "sessionVariables": {"other": "x"}})
    body = response.json()
    assert response.status_code == 400
    assert body["@type"] == "statement_error" and body["entities"] == []
    assert body["message"] == "Cannot substitute variable 'topic': it is not defined"


def test_a_bad_statement_gets_ksqldb_statement_error(server):
    response = httpx.post(f"{server.url}/ksql", json={"ksql": "CREATE STREAM oops (;"})
    body = response.json()
    assert response.status_code == 400
    assert body["@type"] == "statement_error" and body["error_code"] == 40001
    assert body["statementText"].startswith("CREATE STREAM oops")


def test_select_on_the_ksql_endpoint_is_sent_to_query(server, pipeline):
    response = httpx.post(f"{server.url}/ksql", json={"ksql": "SELECT * FROM SOCK_PAIRS;"})
    assert response.status_code == 400
    assert response.json()["error_code"] == 40002


def test_list_streams_and_tables_have_ksqldb_shapes(server, pipeline):
    streams, tables = rest_client.run(server.url, "SHOW STREAMS; SHOW TABLES;")
    assert streams["@type"] == "streams"
    assert {s["name"] for s in streams["streams"]} >= {"SOCK_FRAMES"}
    assert tables["@type"] == "tables"
    assert {t["name"] for t in tables["tables"]} >= {"SOCK_SHOWINGS", "SOCK_PAIRS"}


def test_pull_query_on_query_endpoint_is_a_json_array_with_header_and_rows(server, pipeline, stack):
    session = simulate(16, SessionSpec(fps=4, start_ms=RECENT))
    produce(stack.bootstrap_servers, pipeline, session.frames)
    read_when(server.url, expected_pairs(session))
    items = httpx.post(f"{server.url}/query", json={"ksql": "SELECT * FROM SOCK_PAIRS;"}).json()
    assert items[0]["header"]["schema"] == "`IMAGE` STRING, `PAIR_SEEN` STRING, `NUMBER_SOCKS_SEEN` BIGINT"
    assert sorted(tuple(i["row"]["columns"]) for i in items[1:]) == [
        (p.image, p.pair_seen, p.number_socks_seen) for p in expected_pairs(session)]


def test_push_query_streams_new_rows_until_its_limit(server, pipeline, stack):
    session = simulate(17, SessionSpec(fps=4, start_ms=RECENT))
    reader, lines = stream_query(server, "SELECT * FROM SOCK_PAIRS EMIT CHANGES LIMIT 3;")
    assert wait_for(lambda: lines, 30)          # the header: the query is running
    produce(stack.bootstrap_servers, pipeline, session.frames)
    reader.join(60)
    header, *rows = lines
    assert header["columnNames"] == ["IMAGE", "PAIR_SEEN", "NUMBER_SOCKS_SEEN"]
    assert header["queryId"].startswith("transient_")
    assert len(rows) == 3 and all(len(r) == 3 for r in rows)


def test_print_shows_a_topics_records_in_ksqldb_format(server, stack):
    topic = f"print_{uuid.uuid4().hex[:8]}"
    produce(stack.bootstrap_servers, topic, [b'{"image":"Mongo"}', b'{"image":"Kafka"}'])
    body = httpx.post(f"{server.url}/query", timeout=30,
                      json={"ksql": f"PRINT '{topic}' FROM BEGINNING LIMIT 2;"}).text
    lines = [line for line in body.splitlines() if line.strip()]
    assert lines[0] == "Key format: KAFKA_STRING"
    assert lines[1] == "Value format: JSON or KAFKA_STRING"
    assert re.fullmatch(r'rowtime: \d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{3} Z, key: sockfound, '
                        r'value: \{"image":"Mongo"\}, partition: 0', lines[2])
    assert len(lines) == 4


def test_reset_starts_a_new_sorting_session(server, pipeline, stack, tmp_path):
    suffix = pipeline.removeprefix("data_mqtt_")
    sql = tmp_path / "pipeline.ksql"
    sql.write_text(unique_pipeline(suffix))
    first = simulate(18, SessionSpec(fps=4, start_ms=RECENT))
    produce(stack.bootstrap_servers, pipeline, first.frames)
    read_when(server.url, expected_pairs(first))
    pairs.reset(server.url, sql)
    assert pairs.read(server.url) == []
    second = simulate(19, SessionSpec(fps=4, start_ms=RECENT))
    produce(stack.bootstrap_servers, pipeline, second.frames)
    assert read_when(server.url, expected_pairs(second)) == expected_pairs(second)


def write_jsonl(path: Path, frames) -> Path:
    path.write_bytes(b"".join(frame.to_json() + b"\n" for frame in frames))
    return path


@pytest.mark.parametrize("via", ["mqtt", "kafka"])
def test_replay_through_the_stack_prints_the_sessions_pair_table(stack, run_cli, tmp_path, via):
    session = simulate(21 if via == "mqtt" else 22, SessionSpec(fps=4, start_ms=RECENT))
    frames = write_jsonl(tmp_path / "session.jsonl", session.frames)
    run_cli("pairs", "--reset", "--url", stack.ksql_url, check=True)
    result = run_cli("replay", frames, "--via", via, "--url", stack.ksql_url,
                     "--bootstrap", stack.bootstrap_servers, "--mqtt-url", stack.mqtt_url,
                     "--timeout", "60", check=True)
    assert json.loads(result.stdout) == [row.to_dict() for row in expected_pairs(session)]


def test_a_restart_after_a_reset_keeps_what_the_new_queries_wrote(server, pipeline, stack, tmp_path):
    from socksort.ksql.kafka_io import read_topic

    suffix = pipeline.removeprefix("data_mqtt_")
    sql = tmp_path / "pipeline.ksql"
    sql.write_text(unique_pipeline(suffix))
    pairs.reset(server.url, sql)
    session = simulate(23, SessionSpec(fps=4, start_ms=RECENT))
    produce(stack.bootstrap_servers, pipeline, session.frames)
    read_when(server.url, expected_pairs(session))
    # The pair table is final before the last outputs are acknowledged.
    assert wait_for(lambda: committed_to_end(stack.bootstrap_servers,
                                             f"{server.command_topic}.queries", pipeline), 30)
    written = read_topic(stack.bootstrap_servers, f"SOCK_PAIRS_{suffix}")
    server.restart()
    assert pairs.read(server.url) == expected_pairs(session)
    assert read_topic(stack.bootstrap_servers, f"SOCK_PAIRS_{suffix}") == written


def test_a_query_created_with_earliest_reads_the_topics_history(server, stack):
    topic = f"history_{uuid.uuid4().hex[:8]}"
    produce(stack.bootstrap_servers, topic, [b'{"image": "Mongo"}', b'{"image": "Mongo"}',
                                             b'{"image": "Kafka"}'])
    rest_client.run(server.url, f"CREATE STREAM H (IMAGE VARCHAR) WITH (KAFKA_TOPIC='{topic}', "
                                "VALUE_FORMAT='JSON');")
    rest_client.run(server.url, f"CREATE TABLE HC WITH (KAFKA_TOPIC='{topic}_counts') AS "
                                "SELECT IMAGE, COUNT(*) AS N FROM H GROUP BY IMAGE;",
                    {"auto.offset.reset": "earliest"})
    rows = wait_for(lambda: sorted(rest_client.pull(server.url, "SELECT * FROM HC;").rows)
                    == [["Kafka", 1], ["Mongo", 2]], 30)
    assert rows


def test_a_query_created_with_latest_ignores_the_topics_history(server, stack):
    topic = f"latest_{uuid.uuid4().hex[:8]}"
    produce(stack.bootstrap_servers, topic, [b'{"image": "Mongo"}'])
    rest_client.run(server.url, f"CREATE STREAM L (IMAGE VARCHAR) WITH (KAFKA_TOPIC='{topic}', "
                                "VALUE_FORMAT='JSON');")
    rest_client.run(server.url, f"CREATE TABLE LC WITH (KAFKA_TOPIC='{topic}_counts') AS "
                                "SELECT IMAGE, COUNT(*) AS N FROM L GROUP BY IMAGE;")
    produce(stack.bootstrap_servers, topic, [b'{"image": "Kafka"}'])
    rows = wait_for(lambda: rest_client.pull(server.url, "SELECT * FROM LC;").rows, 30)
    assert rows == [["Kafka", 1]]


def test_the_shell_runs_piped_statements_and_draws_results(server, pipeline):
    result = subprocess.run([sys.executable, "-m", "socksort", "ksql", "--url", server.url],
                            input="SHOW TABLES;\nSELECT * FROM SOCK_PAIRS;\nSELECT nope FROM nowhere;\n",
                            capture_output=True, text=True, timeout=120)
    out = result.stdout.splitlines()
    assert result.returncode == 0
    assert any(line.startswith("|Table Name ") for line in out)
    assert any(line.startswith("|IMAGE ") and "NUMBER_SOCKS_SEEN" in line for line in out)
    assert any("NOWHERE does not exist" in line for line in out)


def test_create_source_connector_goes_to_kafka_connect(stack, tmp_path):
    from socksort import config
    from socksort.connect import connector

    mqtt = config.mqtt_url(stack.mqtt_url)
    # The password through Connect's FileConfigProvider, as every path registers it: a
    # clear one would stay in the session stack's config topic (test_apply_secrets).
    password = connector.write_secrets(tmp_path / "secrets.properties", mqtt.password)
    tag = uuid.uuid4().hex[:6]
    name = f"test-conn-{tag}"
    statement = (f"CREATE SOURCE CONNECTOR `{name}` WITH ("
                 "'connector.class' = 'io.socksort.connect.mqtt.MqttSourceConnector', "
                 f"'mqtt.server.uri' = 'tcp://{mqtt.host}:{mqtt.port}', "
                 f"'mqtt.topics' = 'test/{tag}', 'kafka.topic' = 'conn_{tag}', "
                 f"'mqtt.username' = '{mqtt.username}', 'mqtt.password' = '{password}', "
                 "'tasks.max' = '1');")
    created = rest_client.run(stack.ksql_url, statement)
    try:
        assert created[0]["@type"] == "connector_info" and created[0]["info"]["name"] == name
        listed = wait_for(lambda: name in {c["name"] for c in rest_client.run(
            stack.ksql_url, "SHOW CONNECTORS;")[0]["connectors"]}, 30)
        assert listed
    finally:
        rest_client.run(stack.ksql_url, f"DROP CONNECTOR IF EXISTS `{name}`;")


def test_a_push_query_from_earliest_first_replays_the_tables_history(server, pipeline, stack):
    session = simulate(24, SessionSpec(fps=4, start_ms=RECENT))
    produce(stack.bootstrap_servers, pipeline, session.frames)
    read_when(server.url, expected_pairs(session))
    final: dict = {}
    deadline = time.monotonic() + 60
    with httpx.stream("POST", f"{server.url}/query-stream", timeout=60,
                      json={"sql": "SELECT * FROM SOCK_PAIRS EMIT CHANGES;",
                            "properties": {"auto.offset.reset": "earliest"}}) as response:
        lines = response.iter_lines()
        header = json.loads(next(lines))
        for line in lines:
            if time.monotonic() > deadline:
                break
            if line.strip():
                image, seen, count = json.loads(line)
                final[image] = (seen, count)
                if final == {p.image: (p.pair_seen, p.number_socks_seen) for p in expected_pairs(session)}:
                    break
    assert header["columnNames"] == ["IMAGE", "PAIR_SEEN", "NUMBER_SOCKS_SEEN"]
    assert final == {p.image: (p.pair_seen, p.number_socks_seen) for p in expected_pairs(session)}


def test_ksql_apply_applies_the_connector_and_the_pipeline_twice_without_harm(stack, run_cli):
    args = ("ksql-apply", "--url", stack.ksql_url, "--mqtt-url", stack.mqtt_url, "--json")
    home = {"SOCKSORT_HOME": str(stack.home)}    # its MQTT password file goes there
    first = json.loads(run_cli(*args, env=home, check=True).stdout)
    again = json.loads(run_cli(*args, env=home, check=True).stdout)
    assert first[0]["@type"] == "connector_info" and first[0]["info"]["name"] == "socksort-mqtt"
    assert [e["@type"] for e in again] == [e["@type"] for e in first]
    tables = rest_client.run(stack.ksql_url, "SHOW TABLES;")[0]["tables"]
    assert {"SOCK_SHOWINGS", "SOCK_PAIRS"} <= {t["name"] for t in tables}


def test_query_stream_answers_over_http2_as_ksqldb_clients_connect(server, pipeline, stack):
    session = simulate(25, SessionSpec(fps=4, start_ms=RECENT))
    produce(stack.bootstrap_servers, pipeline, session.frames)
    read_when(server.url, expected_pairs(session))
    with httpx.Client(http1=False, http2=True, timeout=30) as client:
        response = client.post(f"{server.url}/query-stream", json={"sql": "SELECT * FROM SOCK_PAIRS;"})
    assert response.http_version == "HTTP/2"
    header, *rows = [json.loads(line) for line in response.text.splitlines() if line.strip()]
    assert header["columnNames"] == ["IMAGE", "PAIR_SEEN", "NUMBER_SOCKS_SEEN"]
    assert sorted(map(tuple, rows)) == [(p.image, p.pair_seen, p.number_socks_seen)
                                        for p in expected_pairs(session)]


def test_close_query_ends_a_push_query_started_elsewhere(server, pipeline):
    import ksql

    header: dict = {}
    done = threading.Event()

    def consume():
        with httpx.Client(http1=False, http2=True, timeout=60) as client:
            with client.stream("POST", f"{server.url}/query-stream",
                               json={"sql": "SELECT * FROM SOCK_PAIRS EMIT CHANGES;"}) as response:
                for line in response.iter_lines():
                    if line.strip() and not header:
                        header.update(json.loads(line))
        done.set()

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    assert wait_for(lambda: header.get("queryId"), 30)
    assert ksql.KSQLAPI(server.url).close_query(header["queryId"]) is True
    assert done.wait(30)


def test_inserts_stream_adds_rows_and_acknowledges_each(server, stack):
    import ksql
    from socksort.ksql.kafka_io import read_topic

    topic = f"ins_{uuid.uuid4().hex[:8]}"
    rest_client.run(server.url, f"CREATE STREAM INS (ID INT KEY, NAME VARCHAR) WITH "
                                f"(KAFKA_TOPIC='{topic}', VALUE_FORMAT='JSON', PARTITIONS=1);")
    acks = ksql.KSQLAPI(server.url).inserts_stream("INS", [{"ID": 1, "NAME": "it's"},
                                                           {"ID": 2, "NOPE": "x"}])
    assert acks[0] == {"status": "ok", "seq": 0}
    assert acks[1]["status"] == "error" and acks[1]["seq"] == 1 and "NOPE" in acks[1]["message"]
    [record] = read_topic(stack.bootstrap_servers, topic)
    assert json.loads(record.value) == {"NAME": "it's"}


def test_starting_a_started_service_again_is_an_error_not_a_second_consumer(stack):
    from socksort.ksql.server import KsqlService

    service = KsqlService(stack.bootstrap_servers,
                          command_topic=f"_test_ksql_commands_{uuid.uuid4().hex[:8]}")
    service.start()
    try:
        consumer = service._thread
        with pytest.raises(RuntimeError, match="already started"):
            service.start()
        assert service._thread is consumer and [
            t for t in threading.enumerate() if t.name == "ksql-consumer"] == [consumer]
    finally:
        service.stop()


def test_dropping_a_source_ends_the_push_queries_reading_it(server):
    suffix = uuid.uuid4().hex[:8].upper()
    rest_client.run(server.url, f"CREATE STREAM GONE_{suffix} (A INT) WITH (KAFKA_TOPIC="
                                f"'gone_{suffix}', VALUE_FORMAT='JSON', PARTITIONS=1);")
    chunks: list = []
    done = threading.Event()

    def consume():
        with httpx.stream("POST", f"{server.url}/query", timeout=60,
                          json={"ksql": f"SELECT * FROM GONE_{suffix} EMIT CHANGES;"}) as response:
            chunks.extend(response.iter_text())
        done.set()

    threading.Thread(target=consume, daemon=True).start()
    assert wait_for(lambda: chunks, 30)          # the header: the query is running
    rest_client.run(server.url, f"DROP STREAM GONE_{suffix};")
    assert done.wait(30)
    items = json.loads("".join(chunks))
    assert items[-1] == {"finalMessage": f"Query terminated: its source GONE_{suffix} was dropped."}


def test_a_push_query_on_a_windowed_table_carries_the_window_in_rows_and_tombstones(server, stack):
    suffix = uuid.uuid4().hex[:8].upper()
    rest_client.run(server.url, f"CREATE STREAM E_{suffix} (K STRING KEY, TS BIGINT) WITH (KAFKA_TOPIC="
                                f"'events_{suffix}', VALUE_FORMAT='JSON', PARTITIONS=1, TIMESTAMP='TS');"
                                f"CREATE TABLE S_{suffix} AS SELECT K, COUNT(*) AS N FROM E_{suffix} "
                                "WINDOW SESSION (60 SECONDS) GROUP BY K;")
    chunks: list = []
    done = threading.Event()

    def consume():
        with httpx.stream("POST", f"{server.url}/query", timeout=60, json={
                "ksql": f"SELECT * FROM S_{suffix} EMIT CHANGES LIMIT 3;"}) as response:
            chunks.extend(response.iter_text())
        done.set()

    threading.Thread(target=consume, daemon=True).start()
    assert wait_for(lambda: chunks, 30)          # the header: the query is running
    produce(stack.bootstrap_servers, f"events_{suffix}", [b'{"TS": 1000}', b'{"TS": 1500}'], key=b"k")
    assert done.wait(60)
    header, *rows = json.loads("".join(chunks))
    assert header["header"]["schema"] == "`K` STRING, `WINDOWSTART` BIGINT, `WINDOWEND` BIGINT, `N` BIGINT"
    assert [r["row"] for r in rows[:3]] == [
        {"columns": ["k", 1000, 1000, 1]},
        {"columns": ["k", 1000, 1000, None], "tombstone": True},
        {"columns": ["k", 1000, 1500, 2]}]


def test_a_query_over_the_processing_log_does_not_log_its_own_errors_into_it(server, stack):
    suffix = dividing_streams(server)
    # TIME / 0 fails on every entry it reads: were its own errors logged, the entry after
    # the first would be its own, written before the second division below.
    reader, rows = stream_query(server, "SELECT LOGGER, `TIME` / 0 AS X FROM KSQL_PROCESSING_LOG "
                                        "EMIT CHANGES LIMIT 2;")
    assert wait_for(lambda: rows, 30)            # the header: the query is running
    produce(stack.bootstrap_servers, f"divide_{suffix}", [b'{"A": 7, "B": 0}'], key=None)
    assert wait_for(lambda: len(rows) >= 2, 30)
    produce(stack.bootstrap_servers, f"divide_{suffix}", [b'{"A": 8, "B": 0}'], key=None)
    reader.join(60)
    assert [r[0] for r in rows[1:]] == [f"processing.CSAS_Q_{suffix}_0"] * 2
