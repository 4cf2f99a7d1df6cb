"""The page's copy of SOCK_PAIRS and SOCK_SHOWINGS, rebuilt from push-query rows."""

from socksort.dashboard.tables import PairTable, Showings, showing_bounds


def row(image, seen, count):
    return {"IMAGE": image, "PAIR_SEEN": seen, "NUMBER_SOCKS_SEEN": count}


def test_rows_upsert_by_image_and_the_snapshot_is_sorted_like_pairs_json():
    table = PairTable()
    table.apply(row("Mongo", "Un-matched", 1))
    table.apply(row("Google", "Un-matched", 1))
    table.apply(row("Mongo", "Pair", 2))
    assert table.snapshot() == [
        {"image": "Google", "pair_seen": "Un-matched", "number_socks_seen": 1},
        {"image": "Mongo", "pair_seen": "Pair", "number_socks_seen": 2},
    ]


def test_a_row_without_values_deletes_that_image():
    table = PairTable()
    table.apply(row("Google", "Pair", 2))
    assert table.apply(row("Google", None, None)) is True
    assert table.snapshot() == []


def test_a_repeated_row_is_not_a_change():
    table = PairTable()
    assert table.apply(row("Google", "Pair", 2)) is True
    assert table.apply(row("Google", "Pair", 2)) is False


def test_column_names_match_whatever_their_case():
    table = PairTable()
    table.apply({"image": "Google", "pair_seen": "Pair", "number_socks_seen": 2})
    assert table.snapshot()[0]["number_socks_seen"] == 2


def test_clear_forgets_everything_before_a_replay():
    table = PairTable()
    table.apply(row("Google", "Pair", 2))
    table.clear()
    assert table.snapshot() == []


def test_showing_bounds_come_from_window_columns():
    assert showing_bounds({"IMAGE": "G", "WINDOWSTART": 1000, "WINDOWEND": 4000}) == (1000, 4000)
    assert showing_bounds({"IMAGE": "G"}) is None


def test_a_showing_that_grows_replaces_its_earlier_row():
    showings = Showings()
    showings.apply({"IMAGE": "G", "WINDOWSTART": 1000, "WINDOWEND": 2000})
    showings.apply({"IMAGE": "G", "WINDOWSTART": 1000, "WINDOWEND": 3500})
    assert showings.snapshot() == [{"image": "G", "start": 1000, "end": 3500, "device": None}]


def test_a_showing_whose_leading_design_changes_stays_one_showing():
    showings = Showings()
    showings.apply({"DEVICE": "cam", "SHOWING_START": 1000, "IMAGE": "Ghost", "SHOWING_END": 1100})
    showings.apply({"DEVICE": "cam", "SHOWING_START": 1000, "IMAGE": "Google", "SHOWING_END": 4000})
    assert showings.snapshot() == [{"image": "Google", "start": 1000, "end": 4000, "device": "cam"}]


def test_showings_older_than_the_kept_span_are_forgotten():
    showings = Showings(keep_ms=10_000)
    showings.apply({"IMAGE": "A", "WINDOWSTART": 0, "WINDOWEND": 1000})
    showings.apply({"IMAGE": "B", "WINDOWSTART": 20_000, "WINDOWEND": 21_000})
    assert [s["image"] for s in showings.snapshot()] == ["B"]


def test_a_counted_column_is_passed_on_so_the_page_can_dim_filtered_showings():
    showings = Showings()
    showings.apply({"DEVICE": "cam", "SHOWING_START": 1000, "IMAGE": "Ghost", "SHOWING_END": 1100, "COUNTED": False})
    showings.apply({"DEVICE": "cam", "SHOWING_START": 5000, "IMAGE": "Google", "SHOWING_END": 9000})
    first, second = showings.snapshot()
    assert first["counted"] is False
    assert "counted" not in second
