"""Does the pair table say what the show really showed?

A synthetic show's ``truth.json`` counts how often each design was shown
(``counts``). The right ``SOCK_PAIRS`` has, for each design shown k times, the row
``NUMBER_SOCKS_SEEN = k`` and ``PAIR_SEEN = 'Pair'`` exactly when k is even — and no row
for a design never shown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from socksort.errors import UserError


def expected_pairs(counts: dict[str, int]) -> list[dict]:
    """The pair table a correct pipeline shows, in the shape of ``pairs --json``."""
    return [{"image": design, "pair_seen": "Pair" if k % 2 == 0 else "Un-matched", "number_socks_seen": k}
            for design, k in sorted(counts.items()) if k > 0]


def load_counts(truth_path: Path) -> dict[str, int]:
    try:
        truth = json.loads(Path(truth_path).read_text())
        counts = truth["counts"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{truth_path}: not a show truth file ({exc})") from None
    if not isinstance(counts, dict) or not all(isinstance(k, int) for k in counts.values()):
        raise UserError(f"{truth_path}: 'counts' must map each design to how often it was shown")
    return counts


@dataclass(frozen=True)
class Comparison:
    matching: int
    designs: int
    wrong: tuple[str, ...]   # one line per design that differs

    @property
    def all_match(self) -> bool:
        return self.matching == self.designs

    def line(self) -> str:
        return f"pairs: {self.matching}/{self.designs} designs match the truth"


def compare(rows: list[dict], counts: dict[str, int]) -> Comparison:
    """Compare ``pairs --json`` rows with the show's counts, design by design.

    Every design that is in either the truth or the table counts; a design the table has
    and the truth has not (a ghost counted as a sock) is a mismatch like a wrong count.
    """
    want = {row["image"]: row for row in expected_pairs(counts)}
    have = {row["image"]: {"image": row["image"], "pair_seen": row["pair_seen"],
                           "number_socks_seen": row["number_socks_seen"]} for row in rows}
    wrong = []
    for design in sorted(set(want) | set(have)):
        expected, got = want.get(design), have.get(design)
        if expected != got:
            shown = expected["number_socks_seen"] if expected else 0
            seen = f"{got['number_socks_seen']} ({got['pair_seen']})" if got else "no row"
            wrong.append(f"{design}: shown {shown}x, table says {seen}")
    designs = len(set(want) | set(have))
    return Comparison(designs - len(wrong), designs, tuple(wrong))
