"""Which tests share an xdist worker.

`make test` runs the suite on two xdist workers (the machine's two cores; much of the suite
waits on brokers and real-time shows). A session fixture is made once per worker, so the
tests sharing a costly one run on one worker, grouped by the first family they use. (The
Lambda zip's tests, which fill .cache/lambda-vendor/, all use the colour model: one worker.)
"""

from __future__ import annotations

from typing import Iterable

SHARED_FIXTURES = (
    ("stack", frozenset({"stack", "sock_dataset", "sock_model", "sock_show"})),
    ("edge-models", frozenset({"colour_model", "colour_box_model", "efficientnet", "rgb_video"})),
    ("tiny-training", frozenset({"tiny_dataset", "tiny_training"})),
)


def group_of(fixtures: Iterable[str]) -> str | None:
    """The group of a test using these fixtures, or None when any worker may take it."""
    used = set(fixtures)
    return next((group for group, family in SHARED_FIXTURES if used & family), None)
