"""Pairing photos by look (`socksort match`): the pairing on constructed similarities, then the
command end to end on synthetic photos, then bad input."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from socksort.training.look import LookSpec, combine
from socksort.training.match import cosine_similarities, greedy_pairs, pair_up


def similarity(n: int, values: dict[tuple[int, int], float], rest: float = 0.0) -> np.ndarray:
    s = np.full((n, n), rest)
    np.fill_diagonal(s, 1.0)
    for (i, j), v in values.items():
        s[i, j] = s[j, i] = v
    return s


def pairs_of(matching) -> list[tuple[int, int]]:
    return [(p.a, p.b) for p in matching.pairs]


def exhaustive_best(s: np.ndarray) -> float:
    """The greatest total similarity of a matching with the most pairs, by trying them all."""
    def best(free: tuple[int, ...]) -> float:
        if len(free) < 2:
            return 0.0
        first, rest = free[0], free[1:]
        options = [s[first, other] + best(tuple(f for f in rest if f != other)) for other in rest]
        if len(free) % 2:   # an odd count: the first photo may be the one left single
            options.append(best(rest))
        return max(options)
    return best(tuple(range(len(s))))


# --- pairing on constructed similarities --------------------------------------------------

def test_an_even_count_is_paired_completely():
    s = similarity(6, {(0, 3): 0.9, (1, 4): 0.8, (2, 5): 0.7})
    matching = pair_up(s)
    assert pairs_of(matching) == [(0, 3), (1, 4), (2, 5)]
    assert matching.single == []


def test_an_even_count_is_paired_completely_even_when_every_photo_is_unlike_the_others():
    matching = pair_up(similarity(4, {}, rest=-0.5))
    assert len(matching.pairs) == 2 and matching.single == []


def test_an_odd_count_leaves_exactly_one_single():
    s = similarity(5, {(0, 1): 0.9, (2, 3): 0.8, (3, 4): 0.3, (2, 4): 0.2})
    matching = pair_up(s)
    assert pairs_of(matching) == [(0, 1), (2, 3)]
    assert matching.single == [4]


def test_the_pairing_is_optimal_where_greedy_pairing_is_wrong():
    # Greedy takes the best pair (0, 1) and is left with (2, 3); giving it up pays twice over.
    s = similarity(4, {(0, 1): 0.9, (0, 2): 0.85, (1, 3): 0.85, (2, 3): 0.1})
    assert greedy_pairs(s) == [(0, 1), (2, 3)]
    assert pairs_of(pair_up(s)) == [(0, 2), (1, 3)]


def test_the_pairing_has_the_greatest_total_similarity_of_all_pairings():
    rng = np.random.default_rng(16)
    for n in range(2, 10):
        for _ in range(5):
            x = rng.uniform(-1, 1, (n, n))
            s = (x + x.T) / 2
            total = sum(p.similarity for p in pair_up(s).pairs)
            assert total == pytest.approx(exhaustive_best(s), abs=1e-9)


def test_tied_similarities_still_pair_every_photo_and_the_same_way_every_time():
    s = np.ones((6, 6))
    first = pairs_of(pair_up(s))
    assert sorted(i for pair in first for i in pair) == list(range(6))
    assert all(pairs_of(pair_up(s)) == first for _ in range(3))


def test_a_tie_between_two_pairings_is_settled_by_the_rest_of_the_basket():
    # (0, 1) and (0, 2) are equally good for photo 0; only pairing it with 1 leaves 2 with 3.
    s = similarity(4, {(0, 1): 0.8, (0, 2): 0.8, (2, 3): 0.7, (1, 3): 0.1})
    assert pairs_of(pair_up(s)) == [(0, 1), (2, 3)]


def test_min_similarity_leaves_photos_too_unlike_any_other_single():
    s = similarity(6, {(0, 1): 0.9, (2, 3): 0.8}, rest=0.1)
    matching = pair_up(s, min_similarity=0.5)
    assert pairs_of(matching) == [(0, 1), (2, 3)]
    assert matching.single == [4, 5]


def test_min_similarity_prefers_two_pairs_that_clear_it_to_one_better_pair():
    s = similarity(4, {(0, 1): 0.95, (0, 2): 0.6, (1, 3): 0.6}, rest=0.0)
    assert pairs_of(pair_up(s, min_similarity=0.5)) == [(0, 2), (1, 3)]


def test_min_similarity_above_every_similarity_leaves_every_photo_single():
    matching = pair_up(similarity(4, {(0, 1): 0.4}, rest=0.2), min_similarity=0.9)
    assert matching.pairs == [] and matching.single == [0, 1, 2, 3]


def test_a_pair_whose_runner_up_is_nearly_as_similar_is_weak():
    s = similarity(4, {(0, 1): 0.80, (2, 3): 0.9, (1, 2): 0.78})
    weak = {(p.a, p.b): p for p in pair_up(s).pairs}
    assert weak[(0, 1)].weak and weak[(0, 1)].runner_up.similarity == pytest.approx(0.78)
    assert {weak[(0, 1)].runner_up.photo, weak[(0, 1)].runner_up.other} == {1, 2}


def test_a_pair_far_more_similar_than_any_alternative_is_not_weak():
    s = similarity(4, {(0, 1): 0.9, (2, 3): 0.9}, rest=0.1)
    assert not any(p.weak for p in pair_up(s).pairs)


def test_similarities_are_cosines_whatever_the_vectors_length():
    s = cosine_similarities(np.array([[1.0, 0.0], [10.0, 0.0], [0.0, 3.0]]))
    assert s[0, 1] == pytest.approx(1.0) and s[0, 2] == pytest.approx(0.0)


def test_combined_components_count_as_much_as_their_weights_say():
    # Photo 0 is like photo 1 in the first component and like photo 2 in the second.
    comps = {"pooled": np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]),
             "colour": np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])}
    s = cosine_similarities(combine(comps, LookSpec(("centre",), (("pooled", 3.0), ("colour", 1.0)), False)))
    assert s[0, 1] == pytest.approx(0.75) and s[0, 2] == pytest.approx(0.25)


# --- socksort match on synthetic photos -------------------------------------------------------

@pytest.fixture(scope="module")
def socks(tmp_path_factory):
    """Two photos each of three designs; the first two designs share base and accent colour."""
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("match") / "socks"
    subprocess.run([sys.executable, "-m", "socksort", "synth", "dataset", "--out", str(out), "--classes", "3",
                    "--per-class", "2", "--seed", "7"], check=True, capture_output=True)
    return sorted(p for p in out.glob("*/*.jpg") if p.parent.name != "Blank")


def design_of(path: str) -> str:
    return path.split("/")[-2]


def test_match_pairs_the_photos_of_each_design(run_cli, socks):
    answer = json.loads(run_cli("match", "--json", *socks, check=True).stdout)
    assert {(design_of(p["a"]), design_of(p["b"])) for p in answer["pairs"]} == \
        {(d, d) for d in {design_of(str(p)) for p in socks}}
    assert answer["single"] == []


def test_match_json_gives_the_paths_exactly_as_given(run_cli, socks, tmp_path):
    for i, photo in enumerate(socks[:3]):
        shutil.copy(photo, tmp_path / f"{i}.jpg")
    given = ["./0.jpg", "1.jpg", str(tmp_path / "2.jpg")]
    answer = json.loads(run_cli("match", "--json", *given, cwd=tmp_path, check=True).stdout)
    seen = [p["a"] for p in answer["pairs"]] + [p["b"] for p in answer["pairs"]] + answer["single"]
    assert sorted(seen) == sorted(given)
    assert len(answer["pairs"]) == 1 and len(answer["single"]) == 1
    assert set(answer["pairs"][0]) >= {"a", "b", "similarity"}


def test_match_prints_each_pair_with_its_similarity_and_the_photo_left_single(run_cli, socks):
    result = run_cli("match", *socks[:5], check=True)
    pairs = [line for line in result.stdout.splitlines() if line.startswith("pair ")]
    singles = [line for line in result.stdout.splitlines() if line.startswith("single ")]
    assert len(pairs) == 2 and all("similarity" in line for line in pairs)
    assert len(singles) == 1


def test_match_with_min_similarity_one_leaves_every_photo_single(run_cli, socks):
    answer = json.loads(run_cli("match", "--json", "--min-similarity", "1", *socks[:4], check=True).stdout)
    assert answer["pairs"] == [] and sorted(answer["single"]) == sorted(map(str, socks[:4]))


# --- bad input ---------------------------------------------------------------------------------

def one_error_line(result) -> str:
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("socksort: error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr
    return errors[0]


def test_a_single_photo_is_refused(run_cli, socks):
    assert "at least 2 photos" in one_error_line(run_cli("match", socks[0]))


def test_a_missing_photo_is_named(run_cli, socks, tmp_path):
    error = one_error_line(run_cli("match", socks[0], tmp_path / "nowhere.jpg"))
    assert "nowhere.jpg is not a readable image" in error


def test_a_file_that_is_not_an_image_is_named(run_cli, socks, tmp_path):
    (tmp_path / "notes.jpg").write_text("not a photo")
    assert "notes.jpg is not a readable image" in one_error_line(run_cli("match", socks[0], tmp_path / "notes.jpg"))


def test_a_truncated_jpeg_is_named(run_cli, socks, truncated_jpeg):
    error = one_error_line(run_cli("match", socks[0], truncated_jpeg))
    assert "cut-short.jpg is not a readable image (a truncated JPEG" in error


def test_a_min_similarity_outside_minus_one_to_one_is_refused(run_cli, socks):
    result = run_cli("match", "--min-similarity", "2", *socks[:2])
    assert result.returncode == 2
    assert "argument --min-similarity: '2': must be between -1 and 1" in result.stderr.splitlines()[-1]


def test_match_with_a_trained_model_folder_pairs_on_its_features(run_cli, socks, tiny_training):
    answer = json.loads(run_cli("match", "--json", "--model", tiny_training.model, *socks[:4], check=True).stdout)
    assert len(answer["pairs"]) == 2 and answer["features"].startswith(f"model folder {tiny_training.model}")
