"""One call to a Kafka Connect worker's REST API, retried while the worker's group rebalances.

During a rebalance Connect refuses a request it would accept a moment later: 409 ("Cannot
complete request momentarily due to stalled/no leader") or 500 ("...rebalance is expected").
ksqlDB's own Connect client retries such answers too, so both ``stack up``'s registration
and the ksql server's CONNECTOR statements go through here.
"""

from __future__ import annotations

import time

from socksort.net import HttpError, json_request

REBALANCE_WAIT_S = 60.0


def is_rebalancing(exc: HttpError) -> bool:
    return exc.status == 409 or (exc.status == 500 and "rebalanc" in exc.message.lower())


def connect_request(url: str, method: str = "GET", body: object | None = None,
                    wait_s: float = REBALANCE_WAIT_S, timeout: float = 30) -> object:
    """``json_request``, retried for ``wait_s`` seconds while Connect answers that it rebalances."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return json_request(url, method, body, timeout=timeout)
        except HttpError as exc:
            if not is_rebalancing(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(0.5)
