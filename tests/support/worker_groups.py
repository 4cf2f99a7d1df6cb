"""Which tests share an xdist worker.

`make test` runs the suite on two xdist workers (the machine's two cores; much of the suite
waits on brokers and real-time shows). A session fixture is made once per worker, so the
tests sharing a costly one run on one worker, grouped by the first family they use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

SHARED_FIXTURES = (
    ("stack", frozenset({"stack", "sock_dataset", "sock_model", "sock_show"})),
    ("edge-models", frozenset({"colour_model", "colour_box_model", "efficientnet", "rgb_video"})),
    ("tiny-training", frozenset({"tiny_dataset", "tiny_training"})),
)
# Modules that fill one download cache under .cache/ (two workers would fill it at once):
# the Lambda zip's vendored wheels, whose tests mostly use the edge's colour model anyway.
SHARED_CACHES = {"test_lambda_zip.py": "edge-models", "test_package_device_python.py": "edge-models"}


def group_of(fixtures: Iterable[str], module: Path) -> str | None:
    """The group a test runs in under xdist, or None when any worker may take it."""
    if module.name in SHARED_CACHES:
        return SHARED_CACHES[module.name]
    used = set(fixtures)
    for group, family in SHARED_FIXTURES:
        if used & family:
            return group
    return None


def xdist_group(item) -> str | None:
    return group_of(getattr(item, "fixturenames", ()), item.path)
