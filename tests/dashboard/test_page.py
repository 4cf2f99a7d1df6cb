"""The page in real headless Chromium, against a dashboard whose upstreams are all down."""

import pytest

pytestmark = pytest.mark.browser


def test_the_page_loads_and_names_every_part_that_is_down(dashboard_without_upstreams, browser_page):
    page = browser_page
    page.goto(dashboard_without_upstreams.url)
    page.wait_for_selector("#health li[data-part='ksql']", timeout=15_000)
    for part in ("camera", "mqtt", "connector", "ksql"):
        assert page.get_attribute(f"#health li[data-part='{part}']", "data-ok") == "false"
    overall = page.locator("#overall")
    assert "bad" in overall.get_attribute("class")
    banner = overall.inner_text()
    for title in ("Camera", "MQTT", "Kafka Connect connector", "ksql engine"):
        assert title in banner
    assert page.script_errors == []


def test_the_stream_panel_says_the_camera_is_unavailable(dashboard_without_upstreams, browser_page):
    page = browser_page
    page.goto(dashboard_without_upstreams.url)
    page.wait_for_selector("#stream-missing:not([hidden])", timeout=10_000)
    assert "unavailable" in page.inner_text("#stream-missing")


def test_the_live_connection_indicator_turns_live(dashboard_without_upstreams, browser_page):
    page = browser_page
    page.goto(dashboard_without_upstreams.url)
    page.wait_for_function("document.getElementById('link').textContent === 'live'", timeout=10_000)
    assert page.inner_text("#pairs-empty") == "No sock shown yet in this session."


def test_the_timeline_draws_its_lanes_and_time_axis(dashboard_without_upstreams, browser_page):
    page = browser_page
    page.goto(dashboard_without_upstreams.url)
    page.wait_for_function("document.getElementById('link').textContent === 'live'", timeout=10_000)
    # Something was painted: the canvas is not all transparent.
    painted = page.evaluate("""() => {
        const c = document.getElementById('timeline');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
        return n;
    }""")
    assert painted > 1000


def test_after_the_show_has_ended_the_camera_is_shown_as_finished_not_down(dashboard_without_upstreams,
                                                                           browser_page):
    page = browser_page
    page.goto(dashboard_without_upstreams.url)
    page.wait_for_selector("#health li[data-part='camera'].bad", timeout=15_000)
    dashboard_without_upstreams.dashboard.camera_ended()
    camera = page.wait_for_selector("#health li[data-part='camera'].idle", timeout=15_000)
    assert camera.inner_text().split("\n")[-1] == "Show ended — the camera has finished its recording"
    assert "Camera" not in page.inner_text("#overall")   # the others are still down, and named
    page.wait_for_selector("#stream-missing.ended:not([hidden])", timeout=10_000)
    assert page.inner_text("#stream-missing") == "Show ended — the camera has finished its recording"
    assert page.script_errors == []
