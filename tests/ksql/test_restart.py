"""A restarted ksql server holds what a server that never restarted holds (issue 11, item 1).

Each history is played on two ksql servers over the session's Kafka, each with its own
command topic and its own copy of the topics: ``steady`` never restarts, ``restarted`` is
killed (SIGKILL) or stopped (SIGTERM) and started again between steps. Right after a
restart, without waiting, the restarted server holds the tables the history implies, and
so does the steady one; after every step both hold those tables, and the changelog topics
they wrote say the same.
"""

from __future__ import annotations

import json
import random
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
from kafka_groups import committed_to_end

from socksort.stack.ksql_server import KsqlServer, rebuild_waits_for
from socksort.ksql.client import rest_client
from socksort.ksql.kafka_io import read_topic
from socksort.ksql.pipeline import PIPELINE_SQL, pairs
from socksort.ksql.pipeline.simulate import SessionSpec, simulate
from socksort.ksql.server.command_topic import COMMAND_TOPIC
from socksort.net import free_port

pytestmark = [pytest.mark.broker, pytest.mark.slow]

# A small pipeline shaped like ksql/pipeline.ksql where restarts are concerned: an input
# stream over two partitions, a table and a stream built from it, and a stream declared
# over the built stream's topic that a further table reads. When a reset terminates
# BRIGHT's query, bright_{run} becomes an input of BRIGHT_COUNTS for a moment.
SMALL_PIPELINE = """
CREATE STREAM IF NOT EXISTS READINGS (SENSOR VARCHAR KEY, COLOR VARCHAR, LEVEL BIGINT)
  WITH (KAFKA_TOPIC='readings_{run}', VALUE_FORMAT='JSON', PARTITIONS=2);
CREATE TABLE IF NOT EXISTS COLOR_COUNTS WITH (KAFKA_TOPIC='color_counts_{run}', VALUE_FORMAT='JSON') AS
  SELECT COLOR, COUNT(*) AS SEEN, SUM(LEVEL) AS TOTAL FROM READINGS GROUP BY COLOR EMIT CHANGES;
CREATE STREAM IF NOT EXISTS BRIGHT WITH (KAFKA_TOPIC='bright_{run}', VALUE_FORMAT='JSON') AS
  SELECT SENSOR, COLOR, LEVEL FROM READINGS WHERE LEVEL > 5 EMIT CHANGES;
CREATE STREAM IF NOT EXISTS BRIGHT_READINGS (SENSOR VARCHAR KEY, COLOR VARCHAR, LEVEL BIGINT)
  WITH (KAFKA_TOPIC='bright_{run}', VALUE_FORMAT='JSON');
CREATE TABLE IF NOT EXISTS BRIGHT_COUNTS WITH (KAFKA_TOPIC='bright_counts_{run}', VALUE_FORMAT='JSON') AS
  SELECT SENSOR, COUNT(*) AS SEEN FROM BRIGHT_READINGS GROUP BY SENSOR EMIT CHANGES;
"""
SMALL_TABLES = ("COLOR_COUNTS", "BRIGHT_COUNTS")
SMALL_CHANGELOGS = ("color_counts", "bright_counts")


# --- the servers ---------------------------------------------------------------------------

@dataclass
class Copy:
    """One server with its own copy of a history's topics."""

    name: str
    url: str
    topic: Callable[[str], str]          # the copy's name for a topic of the history
    group: str                           # the consumer group committing its input offsets
    restart: Callable[[str], None]       # "kill" or "stop", then start again
    workdir: Path
    log_path: Path                       # the server's log

    def sql(self, template: str) -> str:
        """``template`` with every KAFKA_TOPIC named as this copy names it."""
        return re.sub(r"KAFKA_TOPIC='([^']+)'",
                      lambda m: f"KAFKA_TOPIC='{self.topic(m.group(1))}'", template)

    def sql_file(self, template: str) -> Path:
        path = self.workdir / f"{self.name}-{uuid.uuid4().hex[:6]}.ksql"
        path.write_text(self.sql(template))
        return path


def launch(stack, workdir: Path) -> KsqlServer:
    """A ksql-server of our own on the session's Kafka, started as `stack up` starts one."""
    server = KsqlServer(workdir, stack.bootstrap_servers, free_port(), "http://127.0.0.1:9",
                        command_topic=f"_test_restart_{uuid.uuid4().hex[:8]}")
    server.die_with_parent = True
    return server.start()


def server_copy(name: str, server: KsqlServer, workdir: Path) -> Copy:
    """A server of our own; its topics are the history's with ``{run}`` (or, where a topic
    has none, an ending) replaced by a name of its own."""
    suffix = uuid.uuid4().hex[:8]

    def topic(history_topic: str) -> str:
        if "{run}" in history_topic:
            return history_topic.replace("{run}", suffix)
        return f"{history_topic}_{suffix}"

    def restart(how: str) -> None:
        getattr(server, how)()   # kill(): SIGKILL; stop(): SIGTERM, as `stack down` does
        server.start()           # on the same port, as `stack up` does

    return Copy(name, server.url, topic, f"{server.command_topic}.queries", restart, workdir,
                server.log_path)


@pytest.fixture
def servers(stack, tmp_path):
    """Two servers: (steady, restarted), each with its own topics."""
    started = [launch(stack, tmp_path / name) for name in ("steady", "restarted")]
    try:
        yield tuple(server_copy(name, server, tmp_path)
                    for name, server in zip(("steady", "restarted"), started))
    finally:
        for server in started:
            server.stop()


# --- what the servers hold ---------------------------------------------------------------

def wait_for(check, timeout: float = 90, interval: float = 0.3):
    deadline = time.monotonic() + timeout
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(interval)
    return value


def tables(copy: Copy, names) -> dict[str, list]:
    return {name: sorted(rest_client.pull(copy.url, f"SELECT * FROM {name};").rows) for name in names}


def changelog(bootstrap: str, topic: str) -> dict:
    """A table's topic read back as the table it describes: the last value of each key."""
    rows: dict = {}
    for msg in read_topic(bootstrap, topic):
        if msg.value is None:
            rows.pop(msg.key, None)
        else:
            rows[msg.key] = json.loads(msg.value)
    return rows


def changelogs(bootstrap: str, copy: Copy, topics) -> dict:
    return {topic: changelog(bootstrap, copy.topic(topic)) for topic in topics}


def caught_up(bootstrap: str, copy: Copy, topic: str) -> bool:
    """Whether the server committed its input ``topic`` to the end: every record of it
    processed and the outputs acknowledged."""
    return committed_to_end(bootstrap, copy.group, copy.topic(topic))


# --- the small pipeline's history and its truth ----------------------------------------------

@dataclass(frozen=True)
class Reading:
    sensor: str
    color: str
    level: int
    partition: int

    def value(self) -> bytes:
        return json.dumps({"COLOR": self.color, "LEVEL": self.level}).encode()


@dataclass
class Truth:
    """What COLOR_COUNTS and BRIGHT_COUNTS hold after a history: the running queries count
    the readings since they started (all of the topic's readings if they started earliest)."""

    in_topic: list[Reading] = field(default_factory=list)
    counted: list[Reading] = field(default_factory=list)

    def produced(self, readings: list[Reading]) -> None:
        self.in_topic += readings
        self.counted += readings

    def queries_started(self, earliest: bool) -> None:
        self.counted = list(self.in_topic) if earliest else []

    def topic_created_again(self) -> None:
        self.in_topic, self.counted = [], []

    def tables(self) -> dict[str, list]:
        colors: dict[str, list] = {}
        for r in self.counted:
            row = colors.setdefault(r.color, [r.color, 0, 0])
            row[1] += 1
            row[2] += r.level
        bright = Counter(r.sensor for r in self.counted if r.level > 5)
        return {"COLOR_COUNTS": sorted(colors.values()),
                "BRIGHT_COUNTS": sorted([sensor, n] for sensor, n in bright.items())}


class SmallHistory:
    """A history of the small pipeline, each step done on both servers, with the checks."""

    def __init__(self, stack, steady: Copy, restarted: Copy):
        self.bootstrap = stack.bootstrap_servers
        self.copies = (steady, restarted)
        self.steady, self.restarted = steady, restarted
        self.truth = Truth()
        self.rng = random.Random(11)

    def play(self, script: str) -> None:
        """Run the steps of ``script``, one a line (``#`` starts a comment)."""
        for line in script.strip().splitlines():
            name, *args = line.split("#")[0].split()
            steps = {"apply": lambda: self.apply(earliest=args == ["earliest"]),
                     "produce": lambda: self.produce(int(args[0])),
                     "restart": lambda: self.restart(args[0]),
                     "reset": self.reset, "tear_down": self.tear_down,
                     "drop_input": self.drop_input, "settled": self.settled}
            steps[name]()

    # steps

    def apply(self, earliest: bool = False) -> None:
        props = {"auto.offset.reset": "earliest" if earliest else "latest"}
        for copy in self.copies:
            rest_client.run(copy.url, copy.sql(SMALL_PIPELINE), props)
        self.truth.queries_started(earliest)

    def reset(self) -> None:
        """`socksort pairs --reset`, which works on any pipeline file."""
        for copy in self.copies:
            pairs.reset(copy.url, copy.sql_file(SMALL_PIPELINE))
        self.truth.queries_started(earliest=False)

    def tear_down(self) -> None:
        """The first half of a reset: TERMINATE the queries, DROP what they built."""
        for copy in self.copies:
            for statement in pairs.reset_statements(copy.url, copy.sql(SMALL_PIPELINE)):
                rest_client.run(copy.url, statement)

    def drop_input(self) -> None:
        """DROP the input stream with its topic: applied again, the pipeline reads a new topic
        of the same name, its offsets from 0 again."""
        for copy in self.copies:
            rest_client.run(copy.url, "DROP STREAM READINGS DELETE TOPIC;")
        self.truth.topic_created_again()

    def produce(self, count: int) -> None:
        from confluent_kafka import Producer

        readings = [Reading(f"sensor-{self.rng.randint(1, 4)}", self.rng.choice(("red", "green", "blue")),
                            self.rng.randint(0, 9), self.rng.randint(0, 1)) for _ in range(count)]
        # Record times are now (as Kafka Connect writes them): older ones would fall to retention.
        producer = Producer({"bootstrap.servers": self.bootstrap})
        for copy in self.copies:
            for r in readings:
                producer.produce(copy.topic("readings_{run}"), key=r.sensor.encode(),
                                 value=r.value(), partition=r.partition)
        assert producer.flush(30) == 0
        self.truth.produced(readings)

    def restart(self, how: str) -> None:
        self.restarted.restart(how)
        # No waiting: the launcher returns once the server has rebuilt its state, which
        # takes in every record produced before the restart.
        assert rebuild_waits_for(self.restarted.url) is None
        rebuilt, expected = tables(self.restarted, SMALL_TABLES), self.truth.tables()
        assert rebuilt == expected, f"after a {how} restart; logs: {self.restarted.workdir}"
        assert wait_for(lambda: tables(self.steady, SMALL_TABLES) == rebuilt)
        # Every command found its place in the input; none had to be forced at the end.
        assert "ran past the end of their input" not in self.restarted.log_path.read_text()

    # checks

    def settled(self) -> None:
        """Both servers hold the truth, and their changelog topics agree."""
        expected = self.truth.tables()
        wait_for(lambda: all(tables(c, SMALL_TABLES) == expected for c in self.copies))
        assert tables(self.steady, SMALL_TABLES) == expected
        assert tables(self.restarted, SMALL_TABLES) == tables(self.steady, SMALL_TABLES)
        topics = [f"{t}_{{run}}" for t in SMALL_CHANGELOGS]
        wait_for(lambda: changelogs(self.bootstrap, self.restarted, topics)
                 == changelogs(self.bootstrap, self.steady, topics))
        assert (changelogs(self.bootstrap, self.restarted, topics)
                == changelogs(self.bootstrap, self.steady, topics))


def test_restarts_between_repeated_resets_keep_the_tables_of_a_server_that_never_restarted(
        stack, servers):
    SmallHistory(stack, *servers).play("""
        apply
        produce 60
        settled
        restart kill
        reset
        produce 50
        settled
        reset
        produce 40
        settled
        restart stop      # the issue's case: two resets, then a restart
        settled
        produce 30
        settled
        reset
        reset             # a reset with nothing counted in between
        produce 25
        restart kill      # before the new records are read
        settled
        produce 20
        restart stop
        settled
    """)


def test_restarts_after_the_input_topic_is_dropped_and_created_again_keep_the_same_tables(
        stack, servers):
    SmallHistory(stack, *servers).play("""
        apply
        produce 50
        settled
        tear_down
        drop_input
        apply
        restart kill      # the new topic is still empty
        produce 40
        settled
        reset
        produce 30
        settled
        restart stop
        tear_down
        drop_input
        apply
        produce 35
        settled
        reset
        tear_down
        drop_input
        apply earliest
        produce 20
        settled
        restart kill
        produce 25
        settled
    """)


SENSOR_LEVELS = """
CREATE TABLE SENSOR_LEVELS WITH (KAFKA_TOPIC='sensor_levels_{run}', VALUE_FORMAT='JSON') AS
  SELECT SENSOR, SUM(LEVEL) AS LEVELS FROM READINGS GROUP BY SENSOR EMIT CHANGES;
"""


def test_a_query_added_beside_running_ones_is_rebuilt_from_the_records_it_saw(stack, servers):
    """READINGS has two partitions and is read already: the new query starts where the
    server is in each partition, and the replay must start it at exactly those offsets."""
    history = SmallHistory(stack, *servers)
    history.play("apply \n produce 60 \n settled")
    for copy in history.copies:
        rest_client.run(copy.url, copy.sql(SENSOR_LEVELS))
    since = len(history.truth.in_topic)
    history.play("produce 70 \n settled \n restart kill")
    levels = Counter()
    for r in history.truth.in_topic[since:]:
        levels[r.sensor] += r.level
    expected = sorted([sensor, total] for sensor, total in levels.items())
    for copy in history.copies:
        assert tables(copy, ["SENSOR_LEVELS"]) == {"SENSOR_LEVELS": expected}, copy.name


OTHER_INPUT = """
CREATE STREAM OTHER_READINGS (SENSOR VARCHAR KEY, COLOR VARCHAR, LEVEL BIGINT)
  WITH (KAFKA_TOPIC='other_{run}', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE TABLE OTHER_COUNTS WITH (KAFKA_TOPIC='other_counts_{run}', VALUE_FORMAT='JSON') AS
  SELECT COLOR, COUNT(*) AS SEEN FROM OTHER_READINGS GROUP BY COLOR EMIT CHANGES;
"""


def test_an_input_held_back_for_a_command_is_read_on_when_another_input_ends_first(
        stack, servers):
    """Found by CI on the stack's engine: READINGS reaches where a reset ran and waits there
    while OTHER_READINGS, read to its end, still has to reach it. Once the reset ran, the next
    reset waits for READINGS, which must be read on, not called past the end of its input."""
    from confluent_kafka import Producer

    history = SmallHistory(stack, *servers)
    history.play("apply")
    producer = Producer({"bootstrap.servers": stack.bootstrap_servers})
    for copy in history.copies:
        rest_client.run(copy.url, copy.sql(OTHER_INPUT))
    history.play("produce 40")
    for copy in history.copies:
        for i in range(1500):   # more of it than of READINGS: it ends last in the replay
            producer.produce(copy.topic("other_{run}"), key=b"s",
                             value=json.dumps({"COLOR": "red", "LEVEL": i % 10}).encode())
    assert producer.flush(30) == 0
    history.play("""
        settled
        reset             # ran with OTHER_READINGS at 1500
        produce 30
        settled
        reset             # waits for READINGS only
        produce 20
        settled
        restart kill
        settled
    """)
    assert tables(history.restarted, ["OTHER_COUNTS"]) == {"OTHER_COUNTS": [["red", 1500]]}


def test_queries_that_start_earliest_after_a_teardown_are_rebuilt_from_the_whole_topic(
        stack, servers):
    SmallHistory(stack, *servers).play("""
        apply
        produce 40
        settled
        reset
        produce 30
        settled
        tear_down
        apply earliest    # reads the topic's 70 readings
        settled
        restart kill
        produce 20
        settled
        restart stop
        settled
    """)


# --- the issue's own history: the real pipeline, the stack's engine, `stack up` ---------------

def session_frames(seed: int, showings_per_design: int, shift_minutes: int) -> list:
    """A simulated sorting session of three designs, its frames moved later in time."""
    session = simulate(seed, SessionSpec(fps=4, designs=(3, 3),
                                         showings_per_design=(showings_per_design,) * 2))
    return [f.__class__(**{**f.__dict__, "ts": f.ts + shift_minutes * 60_000})
            for f in session.frames]


def stack_copy(stack, workdir: Path) -> Copy:
    def restart(how: str) -> None:
        getattr(stack.ksql, how)()
        stack.up()

    return Copy("stack", stack.ksql_url, lambda t: t, f"{COMMAND_TOPIC}.queries", restart,
                workdir, stack.ksql.log_path)


def test_the_stacks_engine_restarted_after_two_resets_keeps_the_pair_table(
        stack, run_cli, tmp_path, capsys):
    """The issue's history: ksql-apply, pairs --reset, 9 showings, pairs --reset, 3 showings,
    then SIGKILL + `stack up`, more showings, a clean stop + `stack up`, a third reset."""
    from confluent_kafka import Producer

    template = PIPELINE_SQL.read_text()
    engine = stack_copy(stack, tmp_path)
    steady_server = launch(stack, tmp_path / "steady")
    steady = server_copy("steady", steady_server, tmp_path)
    copies = (engine, steady)

    def reset() -> None:
        run_cli("pairs", "--reset", "--url", engine.url, check=True)
        pairs.reset(steady.url, steady.sql_file(template))

    def show(frames) -> None:
        producer = Producer({"bootstrap.servers": stack.bootstrap_servers})
        for copy in copies:
            for frame in frames:
                producer.produce(copy.topic("data_mqtt"), key=b"sockfound", value=frame.to_json())
        assert producer.flush(30) == 0
        assert wait_for(lambda: all(caught_up(stack.bootstrap_servers, c, "data_mqtt")
                                    for c in copies))

    def same_pairs(after: str) -> list:
        kept, truth = pairs.read(engine.url), pairs.read(steady.url)
        assert kept == truth, f"after {after}: the restarted engine's pairs differ"
        return truth

    try:
        run_cli("ksql-apply", "--url", engine.url, "--mqtt-url", stack.mqtt_url, check=True)
        rest_client.run(steady.url, steady.sql(template))
        reset()
        show(session_frames(31, showings_per_design=3, shift_minutes=0))     # 9 showings
        assert same_pairs("9 showings")
        reset()
        show(session_frames(32, showings_per_design=1, shift_minutes=10))    # 3 showings
        before = same_pairs("3 showings")
        assert before

        capsys.readouterr()
        logged = len(engine.log_path.read_text())
        engine.restart("kill")
        assert "waiting for the ksql engine to rebuild its state" in capsys.readouterr().err
        assert rebuild_waits_for(engine.url) is None     # `stack up` returned after the rebuild
        assert pairs.read(engine.url) == before, "SIGKILL + stack up lost the pair table"
        assert "ran past the end of their input" not in engine.log_path.read_text()[logged:]
        show(session_frames(33, showings_per_design=1, shift_minutes=20))
        assert same_pairs("more showings after the SIGKILL restart") != before

        engine.restart("stop")
        same_pairs("a clean restart")
        reset()
        show(session_frames(34, showings_per_design=2, shift_minutes=30))
        engine.restart("kill")
        assert same_pairs("a third reset, showings and a SIGKILL restart")
    finally:
        steady_server.stop()


def test_a_rebuilding_server_says_what_it_waits_for(stack, tmp_path, capsys):
    from confluent_kafka import Producer

    server = launch(stack, tmp_path / "server")
    copy = server_copy("server", server, tmp_path)
    try:
        topic = copy.topic("many_{run}")
        rest_client.run(server.url, copy.sql(
            "CREATE STREAM MANY (K VARCHAR) WITH (KAFKA_TOPIC='many_{run}', VALUE_FORMAT='JSON', "
            "PARTITIONS=1); CREATE TABLE MANY_COUNT WITH (KAFKA_TOPIC='many_count_{run}') AS "
            "SELECT K, COUNT(*) AS C FROM MANY GROUP BY K EMIT CHANGES;"))
        producer = Producer({"bootstrap.servers": stack.bootstrap_servers})
        for n in range(30_000):
            producer.produce(topic, value=b'{"K": "k%d"}' % (n % 7))
            producer.poll(0)
        assert producer.flush(30) == 0
        assert wait_for(lambda: caught_up(stack.bootstrap_servers, copy, "many_{run}"))
        before = sorted(rest_client.pull(server.url, "SELECT * FROM MANY_COUNT;").rows)

        capsys.readouterr()
        copy.restart("kill")
        printed = capsys.readouterr().err
        assert "waiting for the ksql engine to rebuild its state" in printed
        assert "the ksql engine has rebuilt its state" in printed
        log = server.log_path.read_text()
        # The first report comes with the first batch (at most 1 000 of 30 000 records).
        assert re.search(rf"rebuilding: 2 of 2 commands replayed; {topic}/0 read to offset "
                         r"\d+ of 30000", log), log[-2000:]
        assert sorted(rest_client.pull(server.url, "SELECT * FROM MANY_COUNT;").rows) == before
    finally:
        server.stop()
