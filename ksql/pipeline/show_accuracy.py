"""Did the pipeline count a rendered show right, and if not, why not?

A synthetic show (``socksort synth show``) comes with ``truth.json``: every showing's
design and frames. The camera's predictions for that video, run through the pipeline
(:func:`socksort.ksql.pipeline.accuracy.run_pipeline`), end in a ``SOCK_PAIRS`` table; the show is
*exactly right* when that table equals the one its truth implies, row for row.

For a show that is not, :func:`judge` says for each design that differs what the truth
and the table say, and why, from the frames themselves: two showings the pipeline made one
(and the frames between them that were not read as wall), a showing it split or missed
(and what its frames were read as), a showing it counted where there was none (and
where: on the wall, at a sock's entry or exit, inside another design's showing).

Frame numbers come from the predictions' ``seq`` (the edge counts classified frames
from 0; read unthrottled it classifies every frame of the video, so ``seq`` is the
frame number); times are seconds into the video.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from socksort.contract import BLANK_LABEL
from socksort.errors import UserError
from socksort.ksql.pipeline.accuracy import PipelineResult
from socksort.ksql.pipeline.rows import PairRow
from socksort.ksql.pipeline.simulate import TOGETHER, pair_rows
from socksort.schema import Prediction


@dataclass(frozen=True)
class TrueShowing:
    """A showing as truth.json states it: the sock is mostly in view for first <= f < end."""

    n: int
    design: str
    first: int
    end: int
    enter: int            # the sock starts to come in (frames before show only wall) ...
    leave: int            # ... and is gone again
    back_to_back: bool
    designs: tuple[str, ...] = ()   # one per sock held up ([d, d]: a pair held together)

    @property
    def socks(self) -> tuple[str, ...]:
        """The designs of the socks held up (truth written before ``designs``: the design)."""
        return self.designs or (self.design,)


@dataclass(frozen=True)
class ShowTruth:
    name: str
    fps: float
    frames: int
    showings: tuple[TrueShowing, ...]

    @property
    def pairs(self) -> dict[str, PairRow]:
        """The SOCK_PAIRS a correct pipeline ends with."""
        return pair_rows(Counter(d for s in self.showings for d in s.socks))

    def second(self, frame: float) -> float:
        return frame / self.fps


def load_truth(path: Path, name: str | None = None) -> ShowTruth:
    """A show's truth.json (format socksort-show/1, with enter/leave frames)."""
    try:
        data = json.loads(Path(path).read_text())
        showings = tuple(TrueShowing(s["n"], s["design"], s["start_frame"], s["end_frame"],
                                     s["enter_frame"], s["leave_frame"], bool(s["back_to_back"]),
                                     tuple(s.get("designs") or (s["design"],)))
                         for s in data["showings"])
        truth = ShowTruth(name or Path(path).parent.name, float(data["fps"]), int(data["frames"]), showings)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{path}: not the truth.json of a `socksort synth show` video ({exc}); "
                        "render the show again") from None
    return truth


@dataclass(frozen=True)
class Span:
    """A showing the pipeline found, in frame numbers (first and last frame, inclusive)."""

    image: str
    first: int
    last: int
    socks: int = 1        # socks of this design in the showing (2: a pair held up together)


@dataclass(frozen=True)
class Difference:
    """One design whose SOCK_PAIRS row is not what the truth says, and why."""

    design: str
    expected: PairRow | None
    got: PairRow | None
    reasons: tuple[str, ...]

    def line(self) -> str:
        shown = self.expected.number_socks_seen if self.expected else 0
        seen = f"{self.got.number_socks_seen} ({self.got.pair_seen})" if self.got else "no row"
        why = "; ".join(self.reasons) or "no showing-level cause found"
        return f"{self.design}: shown {shown}x, table says {seen}: {why}"


@dataclass(frozen=True)
class Reading:
    """How the classifier read the show's frames, whatever the pipeline made of them."""

    showing_frames: int   # frames of showings (sock mostly in view) ...
    showing_right: int    # ... read as their design
    wall_frames: int      # frames with only the wall in view ...
    wall_ghosts: int      # ... read as some design
    moving_frames: int    # frames with the sock partly in view, coming in or going out ...
    moving_other: int     # ... read as a design other than the one moving


@dataclass(frozen=True)
class Verdict:
    name: str
    expected: dict[str, PairRow]
    got: dict[str, PairRow]
    differences: tuple[Difference, ...]
    reading: Reading

    @property
    def right(self) -> bool:
        return self.expected == self.got

    def lines(self) -> list[str]:
        return [f"{self.name}: {d.line()}" for d in self.differences]


# --- the frames, by number ----------------------------------------------------------------

class Frames:
    """The predictions of one show indexed by frame number."""

    def __init__(self, truth: ShowTruth, predictions: list[Prediction]):
        if not predictions:
            raise UserError(f"{truth.name}: no predictions to judge")
        self.truth = truth
        self.by_number = {p.seq: p for p in predictions}
        first = min(predictions, key=lambda p: p.seq)
        self.origin_ms = first.ts - first.seq * 1000 / truth.fps

    def number(self, ts_ms: int) -> int:
        return round((ts_ms - self.origin_ms) * self.truth.fps / 1000)

    def read(self, first: int, end: int) -> list[Prediction]:
        return [self.by_number[f] for f in range(first, end) if f in self.by_number]

    def describe(self, first: int, end: int, skip: str | None = None) -> str:
        """What the frames first <= f < end were read as, e.g. '3 frames read as a (41-52 %) at 12.3-12.4 s'."""
        frames = [p for p in self.read(first, end) if p.image != skip]
        if not frames:
            return f"no frames read as anything but {skip}" if skip else "no frames"
        parts = []
        for image, count in Counter(p.image for p in frames).most_common():
            mine = [p for p in frames if p.image == image]
            low, high = min(p.probability for p in mine), max(p.probability for p in mine)
            at = sorted(self.truth.second(p.seq) for p in mine)
            parts.append(f"{count} read as {image} ({_range(low, high, ' %', '.0f')}) "
                         f"at {_range(at[0], at[-1], ' s', '.2f')}")
        return ", ".join(parts)


def _range(low: float, high: float, unit: str, fmt: str) -> str:
    return f"{low:{fmt}}{unit}" if f"{low:{fmt}}" == f"{high:{fmt}}" else f"{low:{fmt}}-{high:{fmt}}{unit}"


def _spans(frames: Frames, result: PipelineResult) -> list[Span]:
    # A showing read as two socks held together is one span per design ('A + B': two spans,
    # 'A + A': one span of two socks).
    spans = []
    for row in result.showings:
        held = row.image.split(TOGETHER)
        spans += [Span(design, frames.number(row.start), frames.number(row.end), held.count(design))
                  for design in sorted(set(held))]
    return sorted(spans, key=lambda s: s.first)


def _overlaps(span: Span, showing: TrueShowing) -> bool:
    return span.first < showing.end and span.last >= showing.first


# --- why a design's row is wrong -------------------------------------------------------------

def _where(truth: ShowTruth, span: Span) -> str:
    """Where a span without a true showing of its design lies: on the wall, at an entry or
    exit, or inside another design's showing."""
    inside = [s for s in truth.showings if _overlaps(span, s)]
    if inside:
        return "during " + " and ".join(f"showing {s.n} of {s.design}" for s in inside)
    moving = [s for s in truth.showings if span.first < s.first and span.last >= s.enter
              or span.first < s.leave and span.last >= s.end]
    if moving:
        return "while " + " and ".join(
            f"showing {s.n}'s sock was {'coming in' if span.first < s.first else 'going out'}" for s in moving)
    return "on the empty wall"


def _reasons(truth: ShowTruth, frames: Frames, spans: list[Span], design: str) -> list[str]:
    mine = [s for s in truth.showings if design in s.socks]
    found = [s for s in spans if s.image == design]
    reasons = []
    matched: dict[Span, list[TrueShowing]] = {span: [s for s in mine if _overlaps(span, s)] for span in found}
    for span, showings in matched.items():
        for a, b in zip(showings, showings[1:]):
            gap = f"{truth.second(b.enter - a.leave):.2f} s of wall"
            twins = ", back to back" if b.back_to_back else ""
            between = "; ".join(f"{part}: {frames.describe(first, end, skip=BLANK_LABEL)}" for part, first, end in (
                (f"{a.n} going out", a.end, a.leave), ("wall", a.leave, b.enter), (f"{b.n} coming in", b.enter, b.first)))
            reasons.append(f"showings {a.n} and {b.n} ({gap}{twins}) became one; between them, {between}")
        if not showings:
            reasons.append(f"an extra showing at {truth.second(span.first):.2f}-{truth.second(span.last):.2f} s "
                           f"{_where(truth, span)}: {frames.describe(span.first, span.last + 1)}")
    for showing in mine:
        hits = [span for span in found if _overlaps(span, showing)]
        when = f"{truth.second(showing.first):.2f}-{truth.second(showing.end):.2f} s"
        if not hits:
            others = sorted({span.image for span in spans if _overlaps(span, showing)})
            as_what = f"it became a showing of {', '.join(others)}" if others else "no showing was found"
            reasons.append(f"showing {showing.n} ({when}) was missed, {as_what}: its frames: "
                           f"{frames.describe(showing.first, showing.end)}")
        elif len(hits) == 1 and hits[0].socks != showing.socks.count(design):
            held = showing.socks.count(design)
            reasons.append(f"showing {showing.n} ({when}) held {held} {design} sock{'s' if held > 1 else ''} "
                           f"up, read as {hits[0].socks}: its frames: "
                           f"{frames.describe(showing.first, showing.end)}")
        elif len(hits) > 1:
            cuts = ", ".join(f"{truth.second(a.last):.2f}-{truth.second(b.first):.2f} s" for a, b in zip(hits, hits[1:]))
            reasons.append(f"showing {showing.n} ({when}) was split in {len(hits)} at {cuts}: there "
                           f"{frames.describe(hits[0].last + 1, hits[-1].first, skip=design)}")
    return reasons


def _reading(truth: ShowTruth, frames: Frames) -> Reading:
    in_view = {f: s.socks for s in truth.showings for f in range(s.first, s.end)}
    # the sock's first and last frames of movement show only wall (it is just outside)
    moving = {f: s.socks for s in truth.showings
              for f in (*range(s.enter + 1, s.first), *range(s.end, s.leave - 1))}
    wall = set(range(truth.frames)) - {f for s in truth.showings for f in range(s.enter + 1, s.leave - 1)}
    counts = Counter()
    for number, prediction in frames.by_number.items():
        if number in in_view:
            counts["showing"] += 1
            counts["showing right"] += prediction.image in in_view[number]
        elif number in moving:
            counts["moving"] += 1
            counts["moving other"] += prediction.image not in (BLANK_LABEL, *moving[number])
        elif number in wall:
            counts["wall"] += 1
            counts["wall ghosts"] += prediction.image != BLANK_LABEL
    return Reading(counts["showing"], counts["showing right"], counts["wall"], counts["wall ghosts"],
                   counts["moving"], counts["moving other"])


def judge(truth: ShowTruth, predictions: list[Prediction], result: PipelineResult) -> Verdict:
    """Compare the pipeline's final tables for a show's predictions with its truth."""
    frames = Frames(truth, predictions)
    spans = _spans(frames, result)
    expected, got = truth.pairs, result.pairs
    differences = tuple(
        Difference(design, expected.get(design), got.get(design),
                   tuple(_reasons(truth, frames, spans, design)))
        for design in sorted(set(expected) | set(got)) if expected.get(design) != got.get(design))
    return Verdict(truth.name, expected, got, differences, _reading(truth, frames))
