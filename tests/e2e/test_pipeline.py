"""End to end: a synthetic show with known truth → the real edge function → real Mosquitto →
real Kafka Connect (our MQTT source connector) → real Kafka → the embedded ksql engine →
SOCK_PAIRS, which must equal the truth. The dashboard watches the same run in headless
Chromium: its pair table fills in live and ends equal to the truth.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from socksort.config import HostPort, mqtt_url
from socksort.dashboard.truth import compare, expected_pairs, load_counts
from socksort.net import free_port, wait_for_port

pytestmark = [pytest.mark.broker, pytest.mark.browser, pytest.mark.slow]

DEVICE = "e2e-camera"


def socksort(*args, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "socksort", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})
    assert done.returncode == 0, f"socksort {args[0]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done


def pairs(stack) -> list[dict]:
    return json.loads(socksort("pairs", "--json", "--url", stack.ksql_url).stdout)


@pytest.fixture(scope="module")
def pipeline(stack):
    """The pipeline SQL applied to the shared stack's engine, in a new sorting session."""
    if not stack.ksql_url:
        pytest.fail("the stack has no ksql engine")
    # ksql-apply keeps the MQTT password in a file under SOCKSORT_HOME: the stack's, not the checkout's.
    socksort("ksql-apply", "--url", stack.ksql_url, "--mqtt-url", stack.mqtt_url,
             env={"SOCKSORT_HOME": str(stack.home)})
    socksort("pairs", "--reset", "--url", stack.ksql_url)
    assert pairs(stack) == []
    return stack


@pytest.fixture(scope="module")
def dashboard(pipeline, tmp_path_factory):
    from socksort.dashboard.app import Settings
    from socksort.dashboard.cli import start_dashboard, stop_dashboard

    edge_port = free_port()
    settings = Settings(listen=HostPort("127.0.0.1", free_port()), edge_url=f"http://127.0.0.1:{edge_port}",
                        ksql_url=pipeline.ksql_url, connect_url=pipeline.connect_url,
                        mqtt_url=mqtt_url(pipeline.mqtt_url), connector="socksort-mqtt", health_every=0.5)
    parts = start_dashboard(settings)
    yield parts[1], edge_port
    stop_dashboard(*parts)


@pytest.fixture(scope="module")
def show_run(pipeline, dashboard, sock_model, sock_show, chromium, screenshot, tmp_path_factory):
    """Play the show once through the real edge with the dashboard open; return what was seen."""
    server, edge_port = dashboard
    video, truth = sock_show
    page = chromium.new_page()
    page.goto(server.url)
    log = tmp_path_factory.mktemp("e2e-edge") / "edge.log"
    with open(log, "wb") as out:
        edge = subprocess.Popen(
            [sys.executable, "-m", "socksort", "edge", "--model", str(sock_model), "--source", str(video),
             "--mqtt-url", pipeline.mqtt_url, "--http", f"127.0.0.1:{edge_port}", "--device", DEVICE,
             "--threads", "1"], stdout=out, stderr=subprocess.STDOUT)
    try:
        assert wait_for_port("127.0.0.1", edge_port, timeout=120), log.read_text()
        # While the show plays: frames reach the page's stream, and the table starts to fill.
        page.wait_for_function("document.getElementById('stream').naturalWidth > 0", timeout=60_000)
        page.wait_for_selector("#pairs tbody tr", timeout=120_000)
        # The README's picture: the show in full swing, a pair already on the table.
        try:
            page.wait_for_function("document.querySelectorAll('#pairs tbody tr').length >= 2 && "
                                   "document.querySelector('#pairs tr.pair') && "
                                   "document.getElementById('overall').classList.contains('ok')",
                                   timeout=60_000)
            screenshot(page, "dashboard.png")
        except PlaywrightTimeout:
            pass  # the show ended first: nothing to picture live, and nothing wrong with that
        assert edge.wait(timeout=240) == 0, log.read_text()
    finally:
        if edge.poll() is None:
            edge.kill()
    counts = load_counts(truth)
    # The last showing is closed by the blank wall after it; give the stream a moment to drain.
    deadline = time.monotonic() + 60
    rows = pairs(pipeline)
    while not compare(rows, counts).all_match and time.monotonic() < deadline:
        time.sleep(1)
        rows = pairs(pipeline)
    yield {"page": page, "rows": rows, "counts": counts, "log": log}
    page.close()


def test_sock_pairs_equals_the_truth_of_the_show(show_run):
    result = compare(show_run["rows"], show_run["counts"])
    assert result.all_match, "\n".join(result.wrong)
    assert show_run["rows"] == expected_pairs(show_run["counts"])


def test_the_dashboard_pair_table_shows_the_truth(show_run):
    page = show_run["page"]
    want = expected_pairs(show_run["counts"])
    selector = " && ".join(
        f"document.querySelector(`#pairs tr[data-image='{row['image']}'] td.count`)?.textContent === "
        f"'{row['number_socks_seen']}'" for row in want)
    page.wait_for_function(f"() => {selector} && "
                           f"document.querySelectorAll('#pairs tbody tr').length === {len(want)}",
                           timeout=15_000)
    for row in want:
        tr = page.locator(f"#pairs tr[data-image='{row['image']}']")
        assert tr.locator("td.seen").inner_text() == row["pair_seen"]
        assert ("pair" in tr.get_attribute("class").split()) == (row["pair_seen"] == "Pair")


def test_the_timeline_shows_the_smoothed_showings(show_run, painted_pixels):
    page = show_run["page"]
    counts = show_run["counts"]
    showings = page.evaluate("() => fetch('/api/live').then(r => r.json()).then(s => s.showings)")
    # Every design the show held up appears as a showing (ghost showings may add more).
    assert set(counts) <= {s["image"] for s in showings}
    assert len(showings) >= sum(counts.values())
    # ... and the showings lane of the canvas is painted in more than its background grey.
    assert painted_pixels(page, "showings", more_than=200) > 200


def test_a_reset_from_the_command_line_empties_the_page_table(show_run, pipeline):
    page = show_run["page"]
    assert page.locator("#pairs tbody tr").count() > 0
    socksort("pairs", "--reset", "--url", pipeline.ksql_url)
    page.wait_for_function("document.querySelectorAll('#pairs tbody tr').length === 0", timeout=30_000)
    assert page.is_visible("#pairs-empty")


def test_the_new_session_button_does_what_pairs_reset_does(show_run, pipeline):
    from socksort.ksql.client import writing_queries

    page = show_run["page"]
    before = writing_queries(pipeline.ksql_url, ("SOCK_PAIRS",))
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_response("**/api/session", timeout=120_000) as answer:
        page.click("#new-session")
    assert answer.value.status == 200, answer.value.text()
    # The pipeline's tables were made anew: another query writes SOCK_PAIRS now.
    after = writing_queries(pipeline.ksql_url, ("SOCK_PAIRS",))
    assert before["SOCK_PAIRS"] != after["SOCK_PAIRS"]
    assert pairs(pipeline) == []
    page.wait_for_function("document.getElementById('link').textContent === 'live'", timeout=10_000)
    assert page.locator("#pairs tbody tr").count() == 0
