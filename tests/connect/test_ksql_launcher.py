"""How `stack up` reads a ksql server's rebuild from its /healthcheck (no server needed)."""

from socksort.net import HttpError
from socksort.stack.ksql_server import rebuild_waits_for


def answering(body):
    def fetch(url, timeout):
        assert url == "http://ksql/healthcheck"
        return body
    return fetch


def test_a_rebuilding_server_is_waited_for_with_what_it_says_it_waits_for():
    body = {"isHealthy": False, "details": {
        "kafka": {"isHealthy": True},
        "commandRunner": {"isHealthy": False, "waitingFor": "3 of 41 commands replayed"}}}
    assert rebuild_waits_for("http://ksql", answering(body)) == "3 of 41 commands replayed"


def test_a_rebuilt_server_is_not_waited_for():
    body = {"isHealthy": True, "details": {"commandRunner": {"isHealthy": True, "waitingFor": ""}}}
    assert rebuild_waits_for("http://ksql", answering(body)) is None


def test_a_real_ksqldb_replaying_its_commands_is_waited_for_without_details():
    body = {"isHealthy": False, "details": {"commandRunner": {"isHealthy": False}}}
    assert rebuild_waits_for("http://ksql", answering(body)) == "its command replay"


def test_a_server_that_cannot_reach_kafka_is_waited_for_and_says_so():
    def fetch(url, timeout):
        raise HttpError(503, '{"isHealthy": false}')
    assert rebuild_waits_for("http://ksql", fetch).startswith("/healthcheck answered HTTP 503")
