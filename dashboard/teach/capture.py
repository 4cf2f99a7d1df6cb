"""Taking one example from the edge's camera, as ``socksort capture`` would.

The edge serves ``/snapshot.jpg?raw=1``, the frame as the camera saw it, without the
prediction drawn on it (a drawn label would teach the model its own guesses). An edge from
before that option answers 404 to it, and then its plain ``/snapshot.jpg`` is used.
"""

from __future__ import annotations

from dataclasses import dataclass

from socksort import images
from socksort.examples import Added, ExampleStore, near_duplicate, validate_label
from socksort.dashboard.teach import fetch
from socksort.dashboard.teach.web import MAX_IMAGE

SNAPSHOT_TIMEOUT = 10.0   # the edge waits up to 3 s for a fresh frame


@dataclass(frozen=True)
class Captured:
    added: Added | None        # None: skipped
    duplicate_of: str | None   # the id of the photo it was too like


def snapshot(edge_url: str) -> bytes:
    base = edge_url.rstrip("/")
    try:
        return fetch.get(f"{base}/snapshot.jpg?raw=1", MAX_IMAGE, timeout=SNAPSHOT_TIMEOUT).data
    except fetch.FetchFailed as exc:
        if exc.status != 404:
            raise
    return fetch.get(f"{base}/snapshot.jpg", MAX_IMAGE, timeout=SNAPSHOT_TIMEOUT).data


def capture(store: ExampleStore, label: str, edge_url: str) -> Captured:
    """One frame from the edge into class ``label``, unless it shows the same view as the
    class's last photo."""
    label = validate_label(label)
    data = snapshot(edge_url)
    frame = images.decode(data, f"the frame from {edge_url}")
    last = _last(store, label)
    if last is not None:
        try:
            previous = images.read(last.path)
        except images.UnreadableImage:
            previous = None
        if previous is not None and near_duplicate(frame, previous):
            return Captured(None, last.id)
    return Captured(store.add(data, label, name=f"the frame from {edge_url}"), None)


def _last(store: ExampleStore, label: str):
    """The class's most recently stored photo."""
    newest, newest_time = None, -1
    for example in store.examples(label):
        try:
            stamp = example.path.stat().st_mtime_ns
        except FileNotFoundError:
            continue
        if stamp > newest_time:
            newest, newest_time = example, stamp
    return newest
