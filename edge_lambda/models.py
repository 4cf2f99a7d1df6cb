"""Which model the edge serves: a fixed folder (``--model``), or the current model of a
store (``--models``) followed while the edge runs.

A :class:`StoreFollower` watches the store on a thread of its own. Each poll costs two
``stat`` calls (the ``deployed`` pointer and the store folder, whose mtime changes when a
model folder is renamed into it); only when one of them changed does it work out which
model should serve: the deployed one, else the newest (``ModelStore.current()``). When
that is not the model serving now it loads it (card, runtime, warm-up) right there, off
the inference thread, and hands the loaded model to ``on_model``; the loop takes it up
between two frames.

A model that does not load is refused: the one serving keeps serving and ``error`` says
why until a later deploy loads (or points back at the serving model). A deployed id whose
folder exists but is incomplete counts as a refused deploy, not as "nothing deployed":
falling back to the newest model would swap to a model nobody asked for.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from socksort.edge_lambda.classify import Classifier
from socksort.errors import first_line
from socksort.modelcard import ModelCard
from socksort.modelstore import DEPLOYED, ID_PATTERN, ModelStore

POLL_SECONDS = 0.25   # two stat calls a poll: a deploy is seen within a quarter second for nothing


@dataclass(frozen=True)
class Loaded:
    """A model ready to classify: swapped in as one reference, so a frame never sees half of one."""

    folder: Path
    classifier: Classifier

    @property
    def card(self) -> ModelCard:
        return self.classifier.card

    @property
    def id(self) -> str | None:
        return self.classifier.card.id


@dataclass(frozen=True)
class Target:
    """The model a store says should serve, or why none can."""

    id: str | None
    folder: Path | None


def target(store: ModelStore) -> Target:
    """The deployed model, else the newest complete one; ``Target(None, None)`` when the store
    has none. A deployed id whose folder exists is the target even when the folder is broken
    (loading it then says what is wrong)."""
    try:
        text = (store.root / DEPLOYED).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):   # no pointer (yet): nothing deployed
        text = ""
    if ID_PATTERN.fullmatch(text) and (store.root / text).is_dir():
        return Target(text, store.root / text)
    models = store.models()
    if not models:
        return Target(None, None)
    return Target(models[-1].id, models[-1].folder)


def _signature(store: ModelStore) -> tuple:
    """What changes when a deploy happens or a model folder appears or goes."""
    out = []
    for path in (store.root / DEPLOYED, store.root):
        try:
            st = os.stat(path)
            out.append((st.st_ino, st.st_mtime_ns, st.st_size))
        except OSError:
            out.append(None)
    return tuple(out)


class StoreFollower:
    """Follows a model store's current model; see the module's docstring.

    ``load(folder) -> Loaded`` raises (``UserError`` naming what is wrong, or anything else)
    for a model that cannot serve. ``on_model(loaded)`` is called from the follower's thread
    (or from :meth:`check` by whoever calls it) with each model that loaded.
    """

    def __init__(self, root: str | os.PathLike, load: Callable[[Path], Loaded],
                 on_model: Callable[[Loaded], None], *, poll: float = POLL_SECONDS, log=None):
        self.store = ModelStore(root)
        self._load = load
        self._on_model = on_model
        self.poll = poll
        self.log = log or (lambda text: None)
        self.serving: str | None = None     # id of the model handed over last
        self.serving_folder: Path | None = None
        self.loading: str | None = None     # id being loaded right now
        self.error = ""                     # why the store's current model was refused
        self.waiting = ""                   # why nothing serves yet (empty store)
        self.swaps = 0
        self._seen: tuple | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="edge-models", daemon=True)

    def start(self) -> "StoreFollower":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)   # a model being loaded finishes first

    def _follow(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                self.check()
            except Exception as exc:   # the follower must outlive a surprise: say it, try again
                self.error = f"cannot read the model store {self.store.root}: {first_line(exc)}"

    def check(self) -> bool:
        """One poll: load and hand over the store's current model if it changed. True when
        a model was handed over."""
        signature = _signature(self.store)
        if signature == self._seen:
            return False
        self._seen = signature
        want = target(self.store)
        if want.folder is None:
            if self.serving_folder is None:
                self.waiting = f"no model in {self.store.root} yet: waiting for one"
            return False
        self.waiting = ""
        if self.serving_folder is not None and want.folder == self.serving_folder:
            self.error = ""   # pointed back at what serves (a rollback of a refused deploy)
            return False
        self.loading = want.id
        began = time.monotonic()
        try:
            loaded = self._load(want.folder)
        except Exception as exc:
            self.error = f"model {want.id} refused: {first_line(exc)}"
            self.log(self.error + (f"; still serving {self.serving}" if self.serving_folder else ""))
            return False
        finally:
            self.loading = None
        self._on_model(loaded)
        self.log(f"now serving model {want.id}" + (f" (was {self.serving})" if self.serving_folder else "")
                 + f", loaded in {time.monotonic() - began:.2f} s")
        self.serving, self.serving_folder, self.error = want.id, want.folder, ""
        self.swaps += 1
        return True


