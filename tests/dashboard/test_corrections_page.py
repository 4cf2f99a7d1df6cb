"""Correcting an open-set session on the dashboard page, in real headless Chromium, against the
real edge page of a --match camera: each sock's crops, Split, Join and Name."""

import pytest

pytestmark = pytest.mark.browser


def row(page, label: str) -> str:
    return f"#pairs tbody tr[data-image='{label}']"


def open_page(page, open_set_dashboard):
    _, api = open_set_dashboard
    # Not "load": the camera stream, relayed from an edge with no frames, would hold it back.
    page.goto(api.base + "/", wait_until="domcontentloaded")
    page.wait_for_selector(row(page, "sock-1") + " .looks img", timeout=15_000)
    return page


def test_each_sock_shows_a_crop_of_each_of_its_showings(open_set_dashboard, browser_page):
    page = open_page(browser_page, open_set_dashboard)
    # The crops are in the page before their pictures have arrived.
    page.wait_for_function("sel => [...document.querySelectorAll(sel)].every(i => i.complete)",
                           arg=row(page, "sock-1") + " .looks img", timeout=15_000)
    shown = page.eval_on_selector_all(row(page, "sock-1") + " .looks img",
                                      "imgs => imgs.map(i => [i.dataset.showing, i.complete && i.naturalWidth])")
    assert shown == [["1", 40], ["2", 40]]
    assert page.is_visible("#correct") and page.script_errors == []


def test_split_turns_the_pair_into_two_singles(open_set_dashboard, browser_page):
    page = open_page(browser_page, open_set_dashboard)
    page.click(row(page, "sock-1") + " button[data-action='split']")
    page.wait_for_selector(row(page, "sock-3"), timeout=10_000)
    assert page.inner_text(row(page, "sock-1") + " td.seen") == "Un-matched"
    assert "sock-1 split: its second showing is now sock-3" in page.inner_text("#correct-state")


def test_ticking_two_singles_and_join_makes_them_one_pair(open_set_dashboard, browser_page):
    page = open_page(browser_page, open_set_dashboard)
    page.click(row(page, "sock-1") + " button[data-action='split']")
    page.wait_for_selector(row(page, "sock-3") + " input.pick", timeout=10_000)
    assert page.is_disabled("#join")
    page.check(row(page, "sock-2") + " input.pick")
    page.check(row(page, "sock-3") + " input.pick")
    page.click("#join")
    page.wait_for_function(f"!document.querySelector(\"{row(page, 'sock-3')}\")", timeout=10_000)
    assert page.inner_text(row(page, "sock-2") + " td.seen").endswith("Pair")


def test_naming_a_sock_shows_its_name_and_says_how_many_photos_it_taught(open_set_dashboard, browser_page):
    page = open_page(browser_page, open_set_dashboard)
    page.once("dialog", lambda dialog: dialog.accept("navy stripes"))
    page.click(row(page, "sock-1") + " button[data-action='name']")
    page.wait_for_selector(row(page, "sock-1") + " .name", timeout=10_000)
    assert page.inner_text(row(page, "sock-1") + " .name") == "navy stripes"
    assert page.inner_text("#correct-state") == "sock-1 is navy stripes; 4 photos added to teach it"


def test_a_correction_that_fails_is_said_on_the_page(open_set_dashboard, album_edge, browser_page):
    page = open_page(browser_page, open_set_dashboard)
    album_edge.stop()   # the camera went away
    page.click(row(page, "sock-1") + " button[data-action='split']")
    page.wait_for_selector("#correct-state.bad", timeout=10_000)
    assert page.inner_text("#correct-state").startswith("split failed: the edge at ")
    assert page.inner_text(row(page, "sock-1") + " td.seen").endswith("Pair")
