"""What the running edge function reports about itself: ``/status.json``, ``/healthz``,
``socksort edge --json`` and the numbers behind ``/metrics``.

One snapshot, taken by :meth:`EdgeLoop.status`, as plain dataclasses; :meth:`EdgeStatus.to_dict`
is the JSON shape the page and scripts read.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from socksort.schema import Prediction


@dataclass(frozen=True)
class CameraStatus:
    state: str       # starting | live | lost | ended | stopped
    source: str
    frames: int      # read from the source
    dropped: int     # read, but overwritten before the model saw them
    reopens: int     # times a lost camera was opened again
    error: str
    up: bool         # the capture is alive (starting or live): /metrics' camera_up, not in the JSON

    def to_dict(self) -> dict:
        return {"state": self.state, "source": self.source, "frames": self.frames, "dropped": self.dropped,
                "reopens": self.reopens, "error": self.error}


@dataclass(frozen=True)
class OutputStatus:
    """One publisher: where predictions go, and how many got there."""

    name: str
    state: str       # starting | connected | offline | refused ...
    published: int   # acknowledged by the receiver
    pending: int     # waiting in its bounded buffer
    dropped: int     # dropped from that buffer when it was full
    errors: int
    error: str

    @classmethod
    def of(cls, publisher) -> "OutputStatus":
        return cls(publisher.name, publisher.state, publisher.published, publisher.pending, publisher.dropped,
                   publisher.errors, publisher.last_error)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ModelStatus:
    """The model serving, and with ``--models`` what the store follower has to say."""

    id: str | None = None         # model.json's id; None for a folder without one (or no model yet)
    folder: str = ""
    classes: tuple[str, ...] = ()
    store: str = ""               # the followed store, empty with a fixed --model
    error: str = ""               # why the store's current model was refused (the old one serves on)
    waiting: str = ""             # why no model serves yet (an empty store)
    loading: str | None = None    # the id being loaded right now


@dataclass(frozen=True)
class MatchStatus:
    """``--match``: the camera session's showings so far."""

    showings: int = 0             # decided showings (ghosts not counted)
    pairs: int = 0                # showings matched two by two
    ghosts: int = 0               # runs of sock frames too short to be a showing
    holding: int = 0              # frames held while the showing in view is undecided
    learning: bool = False        # still learning the empty scene: nothing counts as a sock yet
    threshold: str = "calibrated"  # or the fixed similarity, as given

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class EdgeStatus:
    device: str
    backbone: str            # empty until the model is loaded
    runtime: str
    camera: CameraStatus
    fps: float               # classified frames per second, recent window
    uptime_seconds: float
    classified: int
    latest: Prediction | None
    outputs: tuple[OutputStatus, ...]
    model: ModelStatus = ModelStatus()
    match: MatchStatus | None = None   # None without --match

    @property
    def problems(self) -> list[str]:
        """What keeps the edge from doing its job: a lost camera, an output not delivering,
        no model to classify with, a deployed model refused (an older one serving instead)."""
        found = [f"camera lost: {self.camera.error}"] if self.camera.state == "lost" else []
        found += [f"{out.name} {out.state}: {out.error}" for out in self.outputs
                  if out.state not in ("connected", "starting")]
        if self.model.waiting:
            found.append(self.model.waiting)
        if self.model.error:
            found.append(self.model.error)
        return found

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        """``/status.json``."""
        return {
            "status": "ok" if self.ok else "degraded",
            "problems": self.problems,
            "device": self.device,
            "model": {"id": self.model.id, "folder": self.model.folder, "backbone": self.backbone,
                      "runtime": self.runtime, "classes": list(self.model.classes),
                      "store": self.model.store, "error": self.model.error,
                      "waiting": self.model.waiting, "loading": self.model.loading},
            "camera": self.camera.to_dict(),
            "fps": round(self.fps, 2),
            "uptime_seconds": round(self.uptime_seconds, 1),
            "classified": self.classified,
            "latest": self.latest.to_dict() if self.latest else None,
            "outputs": [out.to_dict() for out in self.outputs],
            **({"match": self.match.to_dict()} if self.match else {}),
        }
