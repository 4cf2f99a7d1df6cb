"""A person's corrections to an open-set session (``socksort edge --match``), laid over the
pair table the pipeline counted.

The edge labels showings ``sock-1``, ``sock-2``, … and the pipeline counts showings per
label. When the person says the camera was wrong, the edge relabels from then on (its
album, ``/showings/split`` and ``/showings/join``), but the frames already counted keep their
labels. So the dashboard keeps what was corrected, in order, and replays it over every pair
table it shows:

- :class:`Split` of a pair: one of its showings counts under the new label instead;
- :class:`Join` of two singles: the second's showings count under the first's label;
- :class:`Name`: the label is shown with the person's name (``"navy stripes"``).

Corrections belong to one sorting session: a new session clears them. They are kept in a
JSON file, replaced atomically, so a restarted dashboard still shows them.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from socksort import atomic
from socksort.errors import UserError

PAIR, UNMATCHED = "Pair", "Un-matched"   # SOCK_PAIRS' PAIR_SEEN values


@dataclass(frozen=True)
class Split:
    label: str
    new_label: str


@dataclass(frozen=True)
class Join:
    label: str
    joined: str


@dataclass(frozen=True)
class Name:
    label: str
    name: str


Correction = Union[Split, Join, Name]
_KINDS = {"split": Split, "join": Join, "name": Name}


def apply(corrections: list[Correction], rows: list[dict]) -> list[dict]:
    """SOCK_PAIRS rows (``image``, ``pair_seen``, ``number_socks_seen``) as corrected, sorted
    by label; a named label's row gains ``name``. A split of a label the table has not
    counted yet moves nothing."""
    counts = {row["image"]: int(row["number_socks_seen"] or 0) for row in rows}
    for correction in corrections:
        if isinstance(correction, Split) and counts.get(correction.label, 0) > 0:
            counts[correction.label] -= 1
            counts[correction.new_label] = counts.get(correction.new_label, 0) + 1
        elif isinstance(correction, Join):
            moved = counts.pop(correction.joined, 0)
            counts[correction.label] = counts.get(correction.label, 0) + moved
    named = names(corrections)
    out = []
    for label in sorted(label for label, count in counts.items() if count > 0):
        row = {"image": label, "pair_seen": PAIR if counts[label] % 2 == 0 else UNMATCHED,
               "number_socks_seen": counts[label]}
        if label in named:
            row["name"] = named[label]
        out.append(row)
    return out


def names(corrections: list[Correction]) -> dict[str, str]:
    """Each named label's name after every correction: a joined single's name goes with it
    to the pair unless the pair has one of its own."""
    named: dict[str, str] = {}
    for correction in corrections:
        if isinstance(correction, Join) and correction.joined in named:
            named.setdefault(correction.label, named.pop(correction.joined))
        elif isinstance(correction, Name):
            named[correction.label] = correction.name
    return named


class CorrectionLog:
    """The session's corrections, in order, kept in ``path`` (None: in memory only)."""

    def __init__(self, path: Path | None):
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self._items: list[Correction] = self._load()

    def items(self) -> list[Correction]:
        with self._lock:
            return list(self._items)

    def add(self, correction: Correction) -> None:
        with self._lock:
            self._items.append(correction)
            self._save()

    def clear(self) -> None:
        with self._lock:
            self._items = []
            self._save()

    def _save(self) -> None:
        if self.path is None:
            return
        kinds = {cls: kind for kind, cls in _KINDS.items()}
        data = [{kinds[type(c)]: vars(c)} for c in self._items]
        atomic.write_bytes(self.path, json.dumps({"corrections": data}, indent=1).encode())

    def _load(self) -> list[Correction]:
        if self.path is None or not self.path.exists():
            return []
        try:
            data = json.loads(self.path.read_text())["corrections"]
            return [_KINDS[kind](**fields) for item in data for kind, fields in item.items()]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise UserError(f"{self.path} is not a corrections file ({exc}); move it away to start afresh") from None
