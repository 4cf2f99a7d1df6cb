"""Pairing photos by look: an optimal matching on their similarities, and how sure each pair is.

Greedy pairing (take the most similar two, repeat) goes wrong whenever the best pair steals
a photo that two other pairs needed: it can never trade one slightly better pair for two
much better ones. Here the pairs maximise first the number of pairs, then their total
similarity, solved exactly as two small integer programs (one 0/1 variable per allowed
pair, each photo in at most one pair) by SciPy's HiGHS. A basket of a few dozen photos has a few
hundred pairs to choose from: milliseconds.

Among pairings of equal total (ties), the solver picks one, the same one for the same photos
in the same order: HiGHS is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from socksort.errors import UserError

# SciPy (0.3 s to import) is imported inside the function that solves the matching.

# A pair's runner-up this close to its similarity or closer makes the pair weak evidence.
WEAK_MARGIN = 0.05


@dataclass(frozen=True)
class RunnerUp:
    """The best alternative partner one photo of a pair had: ``photo`` with ``other``."""
    photo: int
    other: int
    similarity: float


@dataclass(frozen=True)
class Pair:
    a: int
    b: int
    similarity: float
    runner_up: RunnerUp | None   # None when there was no other photo to pair with

    @property
    def weak(self) -> bool:
        return self.runner_up is not None and self.runner_up.similarity >= self.similarity - WEAK_MARGIN


@dataclass(frozen=True)
class Matching:
    pairs: list[Pair]
    single: list[int]


def cosine_similarities(embeddings: np.ndarray) -> np.ndarray:
    """N x N cosine similarities of the rows of ``embeddings`` (a zero row is like nothing)."""
    x = np.asarray(embeddings, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = x / np.where(norms > 0, norms, 1.0)
    return x @ x.T


def pair_up(similarity: np.ndarray, min_similarity: float | None = None) -> Matching:
    """The most pairs, then the greatest total similarity; with ``min_similarity``, photos
    less similar than that to every photo still free stay single."""
    s = _checked(similarity)
    n = len(s)
    allowed = [(i, j) for i in range(n) for j in range(i + 1, n)
               if min_similarity is None or s[i, j] >= min_similarity]
    chosen = _optimal(s, allowed) if allowed else []
    paired = {i for pair in chosen for i in pair}
    pairs = [Pair(i, j, float(s[i, j]), _runner_up(s, i, j)) for i, j in sorted(chosen)]
    return Matching(pairs, [i for i in range(n) if i not in paired])


def greedy_pairs(similarity: np.ndarray) -> list[tuple[int, int]]:
    """Most similar two first, then the next among the rest: the baseline optimal pairing beats."""
    s = _checked(similarity)
    order = sorted(((s[i, j], i, j) for i in range(len(s)) for j in range(i + 1, len(s))),
                   key=lambda t: (-t[0], t[1], t[2]))
    taken: set[int] = set()
    pairs = []
    for _, i, j in order:
        if i not in taken and j not in taken:
            pairs.append((i, j))
            taken.update((i, j))
    return sorted(pairs)


def _checked(similarity: np.ndarray) -> np.ndarray:
    s = np.asarray(similarity, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] != s.shape[1]:
        raise ValueError("similarity must be a square matrix")
    if not np.all(np.isfinite(s)):
        raise UserError("the photos' similarities are not finite numbers (an all-black photo?)")
    return s


def _optimal(s: np.ndarray, allowed: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The most pairs among ``allowed``, and of those the greatest total similarity."""
    n = len(s)
    incidence = np.zeros((n, len(allowed)))
    for k, (i, j) in enumerate(allowed):
        incidence[i, k] = incidence[j, k] = 1.0
    most = n // 2 if len(allowed) == n * (n - 1) // 2 else len(_solve(np.ones(len(allowed)), incidence))
    weights = np.array([s[i, j] for i, j in allowed])
    return [allowed[k] for k in _solve(weights, incidence, count=most)]


def _solve(weights: np.ndarray, incidence: np.ndarray, count: int | None = None) -> np.ndarray:
    """Indices of the chosen pairs: each photo in at most one, ``count`` pairs if given,
    the greatest total weight."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    constraints = [LinearConstraint(incidence, 0, 1)]
    if count is not None:
        constraints.append(LinearConstraint(np.ones((1, len(weights))), count, count))
    result = milp(-weights, integrality=np.ones(len(weights)), bounds=Bounds(0, 1),
                  constraints=constraints, options={"mip_rel_gap": 0.0})
    if result.x is None:
        raise RuntimeError(f"the pairing did not solve: {result.message}")
    return np.flatnonzero(result.x > 0.5)


def _runner_up(s: np.ndarray, a: int, b: int) -> RunnerUp | None:
    """The most similar photo either of the pair had besides its partner."""
    best: RunnerUp | None = None
    for photo, partner in ((a, b), (b, a)):
        for other in range(len(s)):
            if other in (photo, partner):
                continue
            if best is None or s[photo, other] > best.similarity:
                best = RunnerUp(photo, other, float(s[photo, other]))
    return best
