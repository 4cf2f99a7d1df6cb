"""What the edge loop measures while it runs, and ``/metrics`` (Prometheus text) from it.

The loop only adds durations and ticks here; reading them — for the status snapshot and
the Prometheus exposition — happens on the HTTP threads, apart from the camera loop.
"""

from __future__ import annotations

import collections
import time

from socksort.edge_lambda.status import EdgeStatus

STAGES = ("capture", "preprocess", "inference", "match", "annotate", "encode", "publish")
TIMING_WINDOW = 4096


class StageTimes:
    """Recent per-stage durations (seconds) plus running totals for /metrics."""

    def __init__(self):
        self.recent = {s: collections.deque(maxlen=TIMING_WINDOW) for s in STAGES}
        self.total = {s: 0.0 for s in STAGES}
        self.count = {s: 0 for s in STAGES}

    def add(self, stage: str, seconds: float) -> None:
        self.recent[stage].append(seconds)
        self.total[stage] += seconds
        self.count[stage] += 1

    def mean_ms(self, stage: str) -> float:
        values = self.recent[stage]
        return 1000 * sum(values) / len(values) if values else 0.0


class RateMeter:
    def __init__(self, window: int = 60):
        self._times: collections.deque[float] = collections.deque(maxlen=window)

    def tick(self) -> None:
        self._times.append(time.monotonic())

    @property
    def rate(self) -> float:
        if len(self._times) < 2:
            return 0.0
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0


def prometheus_text(status: EdgeStatus, times: StageTimes) -> str:
    """The Prometheus text exposition (format 0.0.4) of one status snapshot and the timings."""
    lines = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        lines.append(f"# HELP socksort_edge_{name} {help_text}")
        lines.append(f"# TYPE socksort_edge_{name} {kind}")
        for labels, value in samples:
            lines.append(f"socksort_edge_{name}{labels} {value:g}")

    camera, outputs = status.camera, status.outputs
    metric("frames_captured_total", "counter", "Frames read from the source.", [("", camera.frames)])
    metric("frames_dropped_total", "counter", "Frames overwritten before inference took them.",
           [("", camera.dropped)])
    metric("frames_classified_total", "counter", "Frames classified and published.", [("", status.classified)])
    metric("camera_up", "gauge", "1 while the source delivers frames.", [("", 1 if camera.up else 0)])
    metric("camera_reopens_total", "counter", "Times a lost camera was reopened.", [("", camera.reopens)])
    metric("fps", "gauge", "Classified frames per second, recent window.", [("", status.fps)])
    recent = sorted(times.recent["inference"])
    quantiles = [(f'{{quantile="{q}"}}', 1000 * recent[min(len(recent) - 1, int(q * len(recent)))])
                 for q in (0.5, 0.99)] if recent else []
    metric("inference_ms", "summary", "Milliseconds per inference (quantiles over recent frames).",
           quantiles + [("_sum", 1000 * times.total["inference"]), ("_count", times.count["inference"])])
    metric("stage_ms", "summary", "Milliseconds per frame spent in each stage of the loop.",
           [(f'_{part}{{stage="{stage}"}}', value) for stage in STAGES[1:]
            for part, value in (("sum", 1000 * times.total[stage]), ("count", times.count[stage]))])
    for name, attr, help_text in (
            ("published_total", "published", "Messages acknowledged by the receiver."),
            ("publish_errors_total", "errors", "Messages that failed to publish."),
            ("publish_dropped_total", "dropped", "Messages dropped from a full offline buffer."),
            ("publish_pending", "pending", "Messages waiting in the offline buffer.")):
        metric(name, "gauge" if name.endswith("pending") else "counter", help_text,
               [(f'{{output="{out.name}"}}', getattr(out, attr)) for out in outputs])
    metric("output_connected", "gauge", "1 while the output is connected.",
           [(f'{{output="{out.name}"}}', 1 if out.state == "connected" else 0) for out in outputs])
    return "\n".join(lines) + "\n"
