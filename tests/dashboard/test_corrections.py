"""A person's corrections laid over the pair table (``dashboard/corrections.py``): what each
does to the counts the pipeline made, in order, and how they are kept."""

from __future__ import annotations

import pytest

from socksort.dashboard.corrections import CorrectionLog, Join, Name, Split, apply, names
from socksort.errors import UserError


def table(**counts: int) -> list[dict]:
    """SOCK_PAIRS rows as the push query gives them, from label=count."""
    return [{"image": label.replace("_", "-"), "pair_seen": "Pair" if n % 2 == 0 else "Un-matched",
             "number_socks_seen": n} for label, n in counts.items()]


def counts(rows: list[dict]) -> dict[str, tuple[str, int]]:
    return {row["image"]: (row["pair_seen"], row["number_socks_seen"]) for row in rows}


def test_without_corrections_the_table_is_the_pipelines():
    assert counts(apply([], table(sock_1=2, sock_2=1))) == {"sock-1": ("Pair", 2), "sock-2": ("Un-matched", 1)}


def test_a_split_pair_is_two_singles():
    rows = apply([Split("sock-1", "sock-3")], table(sock_1=2, sock_2=1))
    assert counts(rows) == {"sock-1": ("Un-matched", 1), "sock-2": ("Un-matched", 1), "sock-3": ("Un-matched", 1)}


def test_a_split_off_sock_that_is_shown_again_becomes_a_pair():
    # After the split the edge publishes the third showing as sock-3, and the pipeline counts it.
    rows = apply([Split("sock-1", "sock-3")], table(sock_1=2, sock_3=1))
    assert counts(rows)["sock-3"] == ("Pair", 2)


def test_a_split_of_a_label_not_counted_yet_moves_nothing():
    assert counts(apply([Split("sock-1", "sock-3")], table(sock_2=1))) == {"sock-2": ("Un-matched", 1)}


def test_two_joined_singles_are_one_pair_under_the_first_label():
    rows = apply([Join("sock-2", "sock-5")], table(sock_2=1, sock_5=1, sock_7=1))
    assert counts(rows) == {"sock-2": ("Pair", 2), "sock-7": ("Un-matched", 1)}


def test_corrections_replay_in_order():
    # The pair sock-1 was wrong: its second showing belongs with sock-4.
    rows = apply([Split("sock-1", "sock-6"), Join("sock-4", "sock-6")], table(sock_1=2, sock_4=1))
    assert counts(rows) == {"sock-1": ("Un-matched", 1), "sock-4": ("Pair", 2)}


def test_a_named_label_is_shown_with_its_name():
    rows = apply([Name("sock-1", "navy stripes")], table(sock_1=2, sock_2=1))
    assert [row.get("name") for row in rows] == ["navy stripes", None]


def test_a_named_single_joined_to_an_unnamed_one_gives_the_pair_its_name():
    assert names([Name("sock-5", "navy stripes"), Join("sock-2", "sock-5")]) == {"sock-2": "navy stripes"}


def test_the_pairs_own_name_wins_over_the_joined_singles():
    corrections = [Name("sock-2", "navy"), Name("sock-5", "navy stripes"), Join("sock-2", "sock-5")]
    assert names(corrections) == {"sock-2": "navy"}


def test_a_later_name_replaces_an_earlier_one():
    assert names([Name("sock-1", "navy"), Name("sock-1", "navy stripes")]) == {"sock-1": "navy stripes"}


def test_the_log_is_kept_in_its_file_across_a_restart(tmp_path):
    path = tmp_path / "corrections.json"
    log = CorrectionLog(path)
    for correction in (Split("sock-1", "sock-3"), Join("sock-3", "sock-2"), Name("sock-3", "navy stripes")):
        log.add(correction)
    assert CorrectionLog(path).items() == [Split("sock-1", "sock-3"), Join("sock-3", "sock-2"),
                                           Name("sock-3", "navy stripes")]


def test_clearing_the_log_empties_its_file(tmp_path):
    path = tmp_path / "corrections.json"
    log = CorrectionLog(path)
    log.add(Name("sock-1", "navy"))
    log.clear()
    assert CorrectionLog(path).items() == []


def test_a_file_that_is_not_a_corrections_file_is_one_clear_error(tmp_path):
    path = tmp_path / "corrections.json"
    path.write_text('{"corrections": [{"shuffle": {}}]}')
    with pytest.raises(UserError, match="is not a corrections file"):
        CorrectionLog(path)
