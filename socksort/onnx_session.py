"""ONNX Runtime sessions set up the way the edge runs them.

The edge, the INT8 comparison and anything that times a model against the edge must use
the same options, or a speed-up measured in one place is not the one the camera gets.
"""

from __future__ import annotations

import os
from pathlib import Path

from socksort.errors import UserError, first_line


def session_options(threads: int | None):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # Spinning worker threads win on an idle machine but starve the capture, encoder
    # and everything else sharing a small device's cores (measured: 2-3x slower here).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def edge_session(model: Path | bytes, threads: int | None = None, name: Path | None = None):
    """A CPU session on the file ``model`` (or a serialised graph, ``name`` the file it came
    from); a graph ONNX Runtime cannot load is a one-line UserError."""
    import onnxruntime as ort

    graph = model if isinstance(model, bytes) else str(model)
    try:
        return ort.InferenceSession(graph, session_options(threads), providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise UserError(f"cannot load {name or model}: {first_line(exc)}") from None
