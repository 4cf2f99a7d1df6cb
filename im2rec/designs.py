"""Sock designs: what makes one synthetic sock look different from another.

A design is a base colour, an accent colour drawn in a pattern (stripes, dots, diamonds,
chevrons or an emblem) and a heel/toe colour. Designs come in pairs that share a base
*and* accent colour and differ only in pattern and heel/toe, so a person tells them apart
at a glance while their mean colour is nearly the same: a classifier has to look at the
pattern. Design ``k`` depends only on ``k`` and the designs seed, so datasets and shows
made with different photo seeds show the same socks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from socksort.errors import UserError

PATTERNS = ("stripes", "dots", "diamonds", "chevrons", "emblem")

# name: (base RGB, accent RGB, second heel/toe RGB). Bases are deliberately ordinary sock
# colours; the second heel colour is chosen close in brightness to the accent so the
# heel does not give the design away by mean colour either. Bases that look alike under
# odd white balance (charcoal, forest) get accents far apart (yellow, sky blue), because
# the same pattern can occur on both.
PALETTE: dict[str, tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]] = {
    "navy": ((32, 44, 104), (226, 226, 214), (196, 200, 210)),
    "charcoal": ((62, 62, 68), (226, 186, 48), (214, 160, 70)),
    "burgundy": ((128, 28, 44), (236, 220, 186), (222, 206, 200)),
    "forest": ((34, 88, 52), (150, 206, 240), (186, 214, 236)),
    "mustard": ((206, 158, 44), (40, 52, 110), (70, 52, 96)),
    "grey": ((150, 150, 156), (176, 40, 52), (150, 52, 82)),
}

MAX_DESIGNS = len(PALETTE) * len(PATTERNS)
DEFAULT_DESIGNS_SEED = 2017  # fixed so every dataset and show agrees unless asked otherwise


@dataclass(frozen=True)
class Design:
    index: int
    name: str
    base: tuple[int, int, int]      # RGB
    accent: tuple[int, int, int]    # RGB, the pattern's colour
    heel: tuple[int, int, int]      # RGB, heel and toe
    pattern: str
    period: float                   # pattern repeat as a fraction of the sprite size
    phase: float                    # pattern offset in [0, 1)

    def to_dict(self) -> dict:
        return asdict(self)


def _catalogue(designs_seed: int) -> list[tuple[str, str, int]]:
    """Every (base colour, pattern, position in pair) in design-index order.

    Index 2g and 2g+1 share a base colour; bases cycle so the first designs cover as many
    colours as possible and each pair uses two different patterns.
    """
    rng = np.random.default_rng([designs_seed, 0])
    bases = list(PALETTE)
    base_order = [bases[i] for i in rng.permutation(len(bases))]
    pattern_order = {base: [PATTERNS[i] for i in rng.permutation(len(PATTERNS))] for base in bases}
    used = {base: 0 for base in bases}
    order: list[tuple[str, str, int]] = []
    while len(order) < MAX_DESIGNS:
        for base in base_order:
            for position in range(2):
                if used[base] < len(PATTERNS):
                    order.append((base, pattern_order[base][used[base]], position))
                    used[base] += 1
    return order


def design(index: int, designs_seed: int = DEFAULT_DESIGNS_SEED) -> Design:
    if not 0 <= index < MAX_DESIGNS:
        raise UserError(f"design index {index} is out of range: there are {MAX_DESIGNS} designs")
    base_name, pattern, position = _catalogue(designs_seed)[index]
    base, accent, second_heel = PALETTE[base_name]
    rng = np.random.default_rng([designs_seed, 1, index])
    return Design(
        index=index,
        name=f"{base_name}-{pattern}",
        base=base,
        accent=accent,
        heel=accent if position == 0 else second_heel,
        pattern=pattern,
        period=float(rng.uniform(0.085, 0.12)),
        phase=float(rng.uniform(0, 1)),
    )


def designs(count: int, designs_seed: int = DEFAULT_DESIGNS_SEED) -> list[Design]:
    if not 1 <= count <= MAX_DESIGNS:
        raise UserError(f"--classes {count}: choose between 1 and {MAX_DESIGNS} designs")
    return [design(i, designs_seed) for i in range(count)]
