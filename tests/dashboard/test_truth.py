"""Comparing the pair table with a show's truth: the line the demo prints and the e2e asserts."""

import json

import pytest

from socksort.dashboard.truth import compare, expected_pairs, load_counts
from socksort.errors import UserError


def test_even_counts_are_pairs_and_odd_ones_are_unmatched():
    assert expected_pairs({"b": 3, "a": 2, "never": 0}) == [
        {"image": "a", "pair_seen": "Pair", "number_socks_seen": 2},
        {"image": "b", "pair_seen": "Un-matched", "number_socks_seen": 3},
    ]


def test_a_table_equal_to_the_truth_matches_every_design():
    counts = {"a": 2, "b": 1}
    result = compare(expected_pairs(counts), counts)
    assert result.all_match and result.line() == "pairs: 2/2 designs match the truth"


def test_a_wrong_count_and_a_ghost_design_are_both_mismatches():
    counts = {"a": 2, "b": 1}
    rows = [{"image": "a", "pair_seen": "Un-matched", "number_socks_seen": 3},
            {"image": "b", "pair_seen": "Un-matched", "number_socks_seen": 1},
            {"image": "ghost", "pair_seen": "Un-matched", "number_socks_seen": 1}]
    result = compare(rows, counts)
    assert result.line() == "pairs: 1/3 designs match the truth"
    assert result.wrong == ("a: shown 2x, table says 3 (Un-matched)", "ghost: shown 0x, table says 1 (Un-matched)")


def test_a_design_missing_from_the_table_is_a_mismatch():
    result = compare([], {"a": 1})
    assert not result.all_match and result.wrong == ("a: shown 1x, table says no row",)


def test_a_file_that_is_not_a_truth_file_is_a_one_line_error(tmp_path):
    path = tmp_path / "truth.json"
    path.write_text(json.dumps({"showings": []}))
    with pytest.raises(UserError, match="not a show truth file"):
        load_counts(path)
