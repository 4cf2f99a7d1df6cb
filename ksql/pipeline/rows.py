"""Rows of the pipeline's tables as plain dataclasses: what SOCK_PAIRS and SOCK_SHOWINGS hold."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class PairRow:
    """One row of SOCK_PAIRS."""

    image: str
    pair_seen: str
    number_socks_seen: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ShowingRow:
    """One row of SOCK_SHOWINGS: a sock held up once."""

    device: str
    start: int
    end: int
    image: str
    frames: int
    weight: float
