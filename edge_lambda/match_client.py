"""``socksort edge --match --match-service URL``: the showings of this camera decided by the
match service (``match_service.py``), with every other camera's looks.

:class:`RemotePool` stands where the camera's own :class:`~showings.Pool` would: the matcher
asks it to decide each showing as the showing closes. When the service does not answer, the
showing is decided here, among this camera's own showings, with a label of this camera's
(``sock-<device>-<n>``), so it can never be taken for another camera's sock; the service is
asked again after ``RETRY_AFTER`` seconds.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from typing import Callable

import numpy as np

from socksort.edge_lambda.showings import LABEL_PREFIX, Pool, Showing, Threshold

TIMEOUT = 2.0        # seconds a showing's close may wait for the service (the camera waits too)
RETRY_AFTER = 10.0   # seconds without asking after the service failed


class RemotePool:
    def __init__(self, url: str, device: str, model: str, crops: Callable[[list], list[bytes]],
                 threshold: Threshold = Threshold(), log: Callable[[str], None] = lambda text: None):
        self.url = url.rstrip("/")
        self.device = device
        self.model = model
        self.crops = crops
        self.log = log
        self.threshold = threshold
        self.showings: list[Showing] = []      # this camera's, as decided (by the service or here)
        self.fallbacks = 0                     # showings decided here because the service failed
        self._local = Pool(threshold, prefix=f"{LABEL_PREFIX}{device}-")
        self._quiet_until = 0.0

    def decide(self, look: np.ndarray | None, samples: list, started_ms: int) -> Showing:
        showing = None
        if look is not None and time.monotonic() >= self._quiet_until:
            showing = self._ask(look, samples, started_ms)
        if showing is None:
            self.fallbacks += 1
            showing = self._local.decide(look, samples, started_ms)
        self.showings.append(showing)
        return showing

    def _ask(self, look: np.ndarray, samples: list, started_ms: int) -> Showing | None:
        body = {"device": self.device, "model": self.model, "look": [float(x) for x in look],
                "crops": [base64.b64encode(c).decode() for c in self.crops(samples)], "started_ms": started_ms}
        request = urllib.request.Request(f"{self.url}/decide", data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                answer = json.loads(response.read())
            return Showing(int(answer["id"]), str(answer["label"]), look, answer.get("partner"))
        except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError) as exc:
            self._quiet_until = time.monotonic() + RETRY_AFTER
            self.log(f"the match service at {self.url} did not decide a showing ({_reason(exc)}); "
                     f"deciding it here with this camera's own label")
            return None


def _reason(exc: Exception) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        try:
            return f"HTTP {exc.code}: {json.loads(exc.read())['error']}"
        except (ValueError, KeyError, TypeError, OSError):
            return f"HTTP {exc.code}"
    return str(getattr(exc, "reason", exc))
