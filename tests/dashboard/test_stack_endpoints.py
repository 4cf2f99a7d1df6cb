"""Where the dashboard looks when no endpoint is given: the running stack's own report."""

from socksort.dashboard.stack import DEFAULTS, endpoints

REPORT = {
    "mosquitto": {"state": "running", "pid": 1, "mqtt_url": "mqtt://socksort:pw@127.0.0.1:21883"},
    "kafka": {"state": "running", "pid": 2, "bootstrap_servers": "127.0.0.1:29092"},
    "connect": {"state": "running", "pid": 3, "connect_url": "http://127.0.0.1:28083"},
    "ksql": {"state": "stopped", "pid": None, "ksql_url": "http://127.0.0.1:28088"},
}


def test_running_services_give_their_endpoints():
    found = endpoints(REPORT)
    assert found["mqtt_url"] == "mqtt://socksort:pw@127.0.0.1:21883"
    assert found["connect_url"] == "http://127.0.0.1:28083"
    assert found["bootstrap_servers"] == "127.0.0.1:29092"


def test_a_stopped_service_leaves_the_contract_default():
    assert endpoints(REPORT)["ksql_url"] == DEFAULTS["ksql_url"] == "http://127.0.0.1:8088"


def test_no_stack_at_all_means_the_contract_defaults():
    assert endpoints(None) == DEFAULTS
