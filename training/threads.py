"""How many cores training's math may use, settled before MXNet loads.

MXNet sizes its OpenMP pool once, when the library loads. Left to itself it takes *half*
the processors it sees on x86 (it assumes every core is hyper-threaded), so on this
2-core machine every operator of the fine-tune ran on one thread while the other core
idled: about 5 images/s at one core's worth of CPU. The data loader's worker processes
were not the cause: augmentation costs them a few percent of a core.

``configure`` sets the OpenMP thread count to the cores this process may run on, unless
the user chose one (``OMP_NUM_THREADS`` set, or ``SOCKSORT_TRAIN_THREADS``):

- ``SOCKSORT_TRAIN_THREADS=auto`` (the default): every usable core.
- ``SOCKSORT_TRAIN_THREADS=N``: N threads.
- ``SOCKSORT_TRAIN_THREADS=mxnet``: leave MXNet's own choice, the threading before this
  module existed (the benchmark's baseline).

Idle OpenMP threads wait passively: spinning ones take the core from the data loader's
workers and from everything else on a shared machine. Values already in the environment
always win. Nothing changes once MXNet is loaded: ``configure`` then only reports that.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass

from socksort.errors import UserError

ENV = "SOCKSORT_TRAIN_THREADS"
MXNET_DEFAULT = "mxnet"


@dataclass(frozen=True)
class Threads:
    requested: str                  # "auto", "mxnet" or a number, as given
    settings: dict[str, str]        # the environment defaults this request asks for
    applied: dict[str, str]         # the ones actually set (the rest were there already)
    mxnet_loaded: bool              # MXNet was loaded before: nothing could change


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:           # not Linux
        return os.cpu_count() or 1


def settings(requested: str, cores: int) -> dict[str, str]:
    """The environment defaults for a ``SOCKSORT_TRAIN_THREADS`` value on ``cores`` cores."""
    value = requested.strip().lower()
    if value == MXNET_DEFAULT:
        return {}
    if value == "auto":
        count = cores
    else:
        try:
            count = int(value)
        except ValueError:
            count = 0
        if count < 1:
            raise UserError(f"{ENV}={requested!r} must be 'auto', '{MXNET_DEFAULT}' or a positive number of threads")
    return {"OMP_NUM_THREADS": str(count), "OMP_WAIT_POLICY": "PASSIVE",
            # One engine thread runs the operators; OpenMP parallelises inside each.
            "MXNET_CPU_WORKER_NTHREADS": "1"}


def configure(environ: MutableMapping[str, str] = os.environ,
              modules: Mapping[str, object] = sys.modules, cores: int | None = None) -> Threads:
    """Default the thread settings in ``environ`` (before MXNet loads; user values win)."""
    requested = environ.get(ENV) or "auto"      # set but empty: the default
    wanted = settings(requested, cores or usable_cores())
    loaded = "mxnet" in modules
    applied = {}
    if not loaded:
        for name, value in wanted.items():
            if name not in environ:
                environ[name] = value
                applied[name] = value
    return Threads(requested, wanted, applied, loaded)
