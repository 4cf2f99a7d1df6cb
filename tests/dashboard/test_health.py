"""Health checks name the part that is down and say why."""

from socksort.dashboard import health
from socksort.dashboard.health import Check, Health, connector_state
from socksort.net import free_port

NOWHERE = f"http://127.0.0.1:{free_port()}"


def running(name, tasks=("RUNNING",)):
    return {name: {"status": {"name": name, "connector": {"state": "RUNNING", "worker_id": "w"},
                              "tasks": [{"id": i, "state": s, "worker_id": "w"} for i, s in enumerate(tasks)],
                              "type": "source"}}}


def test_a_running_connector_with_running_tasks_is_up():
    check = connector_state(running("mqtt-source"), None)
    assert check.ok and "mqtt-source RUNNING" in check.detail


def test_a_paused_connector_is_down_and_named():
    listing = running("mqtt-source")
    listing["mqtt-source"]["status"]["connector"]["state"] = "PAUSED"
    check = connector_state(listing, None)
    assert not check.ok and check.detail == "connector mqtt-source is PAUSED"


def test_a_failed_task_is_down_with_the_first_line_of_its_trace():
    listing = running("mqtt-source", tasks=("RUNNING", "FAILED"))
    listing["mqtt-source"]["status"]["tasks"][1]["trace"] = "org.eclipse.paho.MqttException: refused\n\tat x"
    check = connector_state(listing, None)
    assert not check.ok
    assert check.detail == "connector mqtt-source task 1 is FAILED: org.eclipse.paho.MqttException: refused"


def test_a_worker_without_connectors_bridges_nothing():
    assert connector_state({}, None).detail == "no connector is configured on Kafka Connect"


def test_a_named_connector_that_is_missing_is_down_even_if_others_run():
    check = connector_state(running("other"), "mqtt-source")
    assert not check.ok and "'mqtt-source' does not exist" in check.detail


def test_unreachable_services_are_down_and_say_where_they_were_looked_for():
    for check in (health.camera(NOWHERE), health.connector(NOWHERE), health.ksql(NOWHERE)):
        assert not check.ok
        assert NOWHERE in check.detail and "no answer" in check.detail


def test_ksql_unhealthy_names_the_sick_component():
    def fetch(url):
        assert url.endswith("/healthcheck")
        return 200, {"isHealthy": False, "details": {"metastore": {"isHealthy": True},
                                                     "kafka": {"isHealthy": False}}}
    check = health.ksql("http://ksql", fetch=fetch)
    assert not check.ok and check.detail == "unhealthy: kafka"


def test_an_edge_healthz_error_status_is_a_down_camera_with_its_problems():
    body = {"status": "degraded", "problems": ["camera lost: cannot open /dev/video0"],
            "camera": "lost", "outputs": {"mqtt": "connected"}}
    check = health.camera("http://edge", fetch=lambda url: (503, body))
    assert not check.ok and check.detail == "camera lost: cannot open /dev/video0"


def test_a_healthy_edge_reports_its_camera_state():
    body = {"status": "ok", "problems": [], "camera": "streaming", "outputs": {"mqtt": "connected"}}
    check = health.camera("http://edge", fetch=lambda url: (200, body))
    assert check.ok and check.detail == "camera streaming"


def test_overall_health_is_ok_only_when_every_part_is_and_names_the_failing_ones():
    up = Check("camera", "Camera", True, "streaming")
    down = Check("connector", "Kafka Connect connector", False, "connector mqtt-source is PAUSED")
    assert Health((up,)).ok
    mixed = Health((up, down))
    assert not mixed.ok and mixed.failing == [down]
    assert mixed.summary() == "down: Kafka Connect connector (connector mqtt-source is PAUSED)"


def test_a_camera_whose_show_has_ended_is_idle_not_down():
    ended = health.camera_finished()
    up = Check("ksql", "ksql engine", True, "healthy")
    overall = Health((ended, up))
    assert ended.idle and not ended.ok
    assert overall.ok and overall.failing == [] and overall.idle == [ended]
    assert overall.summary() == "Show ended — the camera has finished its recording; the other parts are up"


def test_a_part_really_down_still_turns_the_health_bad_after_the_show_has_ended():
    down = Check("connector", "Kafka Connect connector", False, "connector mqtt-source is PAUSED")
    overall = Health((health.camera_finished(), down))
    assert not overall.ok and overall.failing == [down]
