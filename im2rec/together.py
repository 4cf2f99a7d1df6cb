"""Two socks held up together in a ``synth show`` (``--max-socks 2``).

Which showings hold two socks, and which second sock they hold, comes from a random stream
of its own, ``(seed, 4)``, so a show with ``--max-socks 1`` draws exactly what it drew
before this existed. About half the showings hold two: at least one a pair (a second sock
of the same design) and at least one two different designs, when the show and its designs
allow; the second design is never the one shown just before or after, where others exist,
so no design is seen twice in a row unless the plan put it there.

The two socks hang side by side, each filling most of its half of the frame, at slightly
different angles; they may overlap a little (at most HELD_OVERLAP of a sock's area at
rest). The hand moves them as one: they slide in and out together and sway together
about the middle of the frame with the same jitter a single held sock has.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from socksort.im2rec import render, scene
from socksort.im2rec.designs import Design

STREAM = 4            # the random stream of these choices, apart from the plan's and the room's
HELD_OVERLAP = 0.1    # most of a sock's area the other may hide while they are held still
TRIES = 30


@dataclass(frozen=True)
class Held:
    """What a showing holds up: its designs and, for two socks, where they hang at rest
    (:func:`rest`); one sock hangs at its motion's pose."""

    designs: tuple[Design, ...]
    rest: tuple[np.ndarray, ...] | None = None

    @property
    def sprites(self) -> list[render.Sprite]:
        return [render.sprite(d) for d in self.designs]


def held_matrices(held: Held, motion, t: float, width: int, height: int) -> list[np.ndarray]:
    """Where each held sock is t seconds into the hold (``motion``: the showing's
    ``show.Motion``, its pose and the hand's jitter)."""
    if held.rest is None:
        return [render.placement(render.sprite(held.designs[0]), motion.pose_at(t), width, height)]
    return sway(held.rest, motion.wobble, t, width, height)


def held(slots: list, chosen: dict[str, Design], seed: int, width: int, height: int) -> list[Held]:
    """What each slot holds once partners are chosen; two socks get their places at rest
    from a stream of their own."""
    rng = np.random.default_rng([seed, STREAM, 1])
    helds = []
    for slot in slots:
        designs = tuple(chosen[name] for name in slot.designs)
        helds.append(Held(designs, rest(rng, designs, width, height) if len(designs) == 2 else None))
    return helds


def partners(slots: list, names: list[str], seed: int) -> list:
    """The slots with a second sock (``partner``) added to about half of them."""
    rng = np.random.default_rng([seed, STREAM])
    kinds: list[str | None] = [None] * len(slots)
    # the first places in a random order take one of each kind, the rest are drawn
    for rank, n in enumerate(rng.permutation(len(slots))):
        fixed = ("pair", "other", None)
        kinds[n] = fixed[rank] if rank < len(fixed) else \
            (None, None, "pair", "other")[int(rng.integers(4))]
    result = []
    for n, (slot, kind) in enumerate(zip(slots, kinds)):
        others = [name for name in names if name != slot.design]
        if kind == "other" and others:
            near = {s.design for s in slots[max(n - 1, 0):n + 2]}
            apart = [name for name in others if name not in near] or others
            partner = apart[int(rng.integers(len(apart)))]
        elif kind is not None:
            partner = slot.design
        else:
            partner = None
        result.append(replace(slot, partner=partner))
    return result


def rest(rng: np.random.Generator, chosen: tuple[Design, Design], width: int,
         height: int) -> tuple[np.ndarray, np.ndarray]:
    """Where the two socks hang while held still: the first design on a random side, the
    second design drawn on top of it."""
    left_first = bool(rng.integers(2))
    for attempt in range(TRIES + 1):
        matrices = []
        for design, side in zip(chosen, (-1, 1) if left_first else (1, -1)):
            # the last try moves neither inward: centred in its half, a box at most 0.45 of the
            # frame's width wide cannot reach the other sock, so the limit always holds
            inward = 0.0 if attempt == TRIES else float(rng.uniform(0, 0.06))
            centre = (width * (0.5 + side * (0.25 - inward)), height * (0.5 + rng.uniform(-0.04, 0.04)))
            matrices.append(scene.sized(design, float(rng.uniform(-25, 25)), bool(rng.integers(2)),
                                        float(rng.uniform(-0.08, 0.08)),
                                        float(rng.uniform(0.75, 0.9)) * min(width / 2, height), centre))
        placed = [scene.Placed(d, m) for d, m in zip(chosen, matrices)]
        if attempt == TRIES or scene.fits(placed, HELD_OVERLAP):
            return matrices[0], matrices[1]
    raise AssertionError("unreachable")


def sway(matrices: tuple[np.ndarray, ...], wobble: tuple[float, ...], t: float, width: int,
         height: int) -> list[np.ndarray]:
    """The held socks t seconds into the hold: turned, scaled and moved together about the
    middle of the frame by the hand's jitter (the terms a single sock's pose has)."""
    f, ph = wobble[:3], wobble[3:]
    angle = math.radians(3.0 * math.sin(2 * math.pi * f[0] * t + ph[0]))
    scale = 1 + 0.02 * math.sin(2 * math.pi * f[1] * t + ph[1])
    shift = (width * 0.012 * math.sin(2 * math.pi * f[2] * t + ph[2]),
             height * 0.012 * math.sin(2 * math.pi * f[1] * 1.3 * t + ph[0]))
    cos, sin = math.cos(angle) * scale, math.sin(angle) * scale
    turn = np.array([[cos, sin], [-sin, cos]])
    middle = np.array([width / 2, height / 2])
    moved = []
    for m in matrices:
        linear = turn @ m[:, :2]
        offset = turn @ (m[:, 2] - middle) + middle + shift
        moved.append(np.hstack([linear, offset[:, None]]).astype(np.float32))
    return moved
