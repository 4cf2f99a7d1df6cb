"""Discounting how photos of one sock differ (`look.Nuisance`): fitted on constructed features
whose nuisance and whose sock-to-sock differences lie along known directions."""

from __future__ import annotations

import numpy as np
import pytest

from socksort.errors import UserError
from socksort.training import look
from socksort.training.look import LookSpec, combine, fit_nuisance, load_nuisances, save_nuisances
from socksort.training.match import cosine_similarities

# Socks sit round a circle in axes 0 and 2; along axis 1 every sock's photos wander (the floor
# they lie on); axis 3 is what every photo shares; nothing ever moves along axis 4.
NUISANCE_AXIS, UNTOUCHED_AXIS, DIMENSIONS = 1, 4, 5


def photos(socks: int = 6, per_sock: int = 4, spread: float = 1.0, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    rows, names = [], []
    for sock in range(socks):
        angle = 2 * np.pi * sock / socks
        for _ in range(per_sock):
            x = np.zeros(DIMENSIONS)
            x[0], x[2] = 2 * np.cos(angle), 2 * np.sin(angle)
            x[NUISANCE_AXIS] = rng.normal(0.0, spread)
            x[3] = 3.0
            rows.append(x)
            names.append(f"sock-{sock}")
    return np.array(rows), names


def test_the_nuisance_is_the_direction_one_socks_photos_vary_along():
    nuisance = fit_nuisance(*photos())
    strongest = nuisance.directions[:, 0]
    assert abs(strongest[NUISANCE_AXIS]) > 0.99


def test_discounting_shrinks_the_nuisance_and_keeps_what_tells_socks_apart():
    features, names = photos()
    nuisance = fit_nuisance(features, names)
    x = look._unit(features)
    step = np.eye(DIMENSIONS) * 0.01
    moved = nuisance.discount(x, ridge=0.1) - nuisance.discount(x + step[NUISANCE_AXIS], ridge=0.1)
    kept = nuisance.discount(x, ridge=0.1) - nuisance.discount(x + step[UNTOUCHED_AXIS], ridge=0.1)
    assert np.linalg.norm(moved, axis=1).max() < 0.005       # shrunk more than half
    assert np.linalg.norm(kept, axis=1) == pytest.approx(np.full(len(x), 0.01))


def test_a_gentler_ridge_shrinks_the_nuisance_less():
    features, names = photos()
    nuisance = fit_nuisance(features, names)
    step = np.eye(DIMENSIONS)[NUISANCE_AXIS] * 0.01
    x = look._unit(features)[:1]
    strong, gentle = (np.linalg.norm(nuisance.discount(x, r) - nuisance.discount(x + step, r)) for r in (0.1, 10.0))
    assert strong < gentle < 0.01


def test_discounted_photos_of_one_sock_are_more_alike_than_photos_of_neighbouring_socks():
    # Nuisance larger than the gap between neighbouring socks: plain cosines confuse them.
    # Fitted on one set of photos, judged on others, over five draws.
    plain = LookSpec(("centre",), (("pooled", 1.0),), centre=False)
    discounted = LookSpec(("centre",), (("pooled", 1.0),), centre=False, discount=0.1)
    right = {plain: [], discounted: []}
    for draw in range(5):
        nuisance = fit_nuisance(*photos(socks=8, spread=3.0, seed=2 * draw + 1))
        test, names = photos(socks=8, spread=3.0, seed=2 * draw + 2)
        for spec in right:
            s = cosine_similarities(combine({"pooled": test}, spec, {"pooled": nuisance}))
            np.fill_diagonal(s, -np.inf)
            right[spec] += [names[i] == names[j] for i, j in enumerate(s.argmax(axis=1))]
    assert np.mean(right[plain]) < 0.8
    assert np.mean(right[discounted]) > 0.9


def test_without_discount_the_nuisance_is_not_applied():
    features, names = photos()
    nuisance = fit_nuisance(features, names)
    spec = LookSpec(("centre",), (("pooled", 1.0),), centre=False)
    assert np.allclose(combine({"pooled": features}, spec, {"pooled": nuisance}),
                       combine({"pooled": features}, spec))


def test_a_nuisance_needs_some_sock_with_two_photos():
    with pytest.raises(ValueError, match="no sock has two photos"):
        fit_nuisance(np.eye(3), ["a", "b", "c"])


def test_a_nuisance_needs_a_name_for_every_photo():
    with pytest.raises(ValueError, match="3 rows of features but 2 sock names"):
        fit_nuisance(np.eye(3), ["a", "a"])


def test_a_saved_nuisance_loads_back_the_same(tmp_path):
    nuisance = fit_nuisance(*photos())
    save_nuisances(tmp_path / "n.npz", {"pooled": nuisance}, "constructed")
    back = load_nuisances(tmp_path / "n.npz")["pooled"]
    x = look._unit(photos(seed=3)[0])
    assert np.allclose(back.discount(x, 1.0), nuisance.discount(x, 1.0), atol=1e-5)


@pytest.mark.parametrize("damage", ["missing", "not a zip"])
def test_a_missing_or_damaged_nuisance_file_is_one_line_naming_it(tmp_path, damage):
    path = tmp_path / "n.npz"
    if damage == "not a zip":
        path.write_bytes(b"half a file")
    with pytest.raises(UserError, match="cannot read the look nuisance .*n.npz") as caught:
        load_nuisances(path)
    assert "\n" not in str(caught.value)


def test_the_shipped_nuisance_covers_what_the_default_look_discounts():
    shipped = load_nuisances()
    assert look.DEFAULT.discount > 0
    network = [name for name in look.DEFAULT.components() if name != "colour"]
    assert network and sorted(shipped) == sorted(network)
    for name in network:
        assert shipped[name].mean.shape == (1280,) and shipped[name].directions.shape[0] == 1280


def test_a_cut_out_sock_cannot_be_discounted_by_the_nuisance_of_photos_as_taken():
    with pytest.raises(ValueError, match="cut-out"):
        LookSpec(("centre",), (("pooled", 1.0),), isolate=True, discount=1.0)
