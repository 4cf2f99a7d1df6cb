"""The seed's own payload through the real stack: paho publishes `{"image", "probability"}`
(no ts, device or seq, as the seed's DeepLens function does) to real Mosquitto, our
connector bridges it into Kafka, and the ksql engine running ksql/pipeline.ksql ends with the
true pair table. Two such cameras publish at once, each to a topic of its own under
`sockfound/`, and their showings are kept apart.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from socksort import mqtt

pytestmark = pytest.mark.broker

FPS = 10


def socksort(*args, timeout: float = 120) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "socksort", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"socksort {args[0]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done


def frames(*spans: tuple[str, float, float]) -> list[tuple[str, float]]:
    """(label, probability) per frame at FPS for each (label, seconds, probability) span."""
    return [(label, probability) for label, seconds, probability in spans
            for _ in range(round(seconds * FPS))]


def pair_table(stack) -> dict[str, int]:
    rows = json.loads(socksort("pairs", "--json", "--url", stack.ksql_url).stdout)
    return {row["image"]: row["number_socks_seen"] for row in rows}


def test_two_seed_cameras_on_topics_of_their_own_are_counted_through_the_stack(stack):
    socksort("ksql-apply", "--url", stack.ksql_url, "--mqtt-url", stack.mqtt_url)
    socksort("pairs", "--reset", "--url", stack.ksql_url)
    left = frames(("Blank", 1, 41.0), ("Mongo", 1.5, 93.0), ("Kafka", 0.3, 62.0), ("Mongo", 0.5, 90.0),
                  ("Blank", 0.9, 39.0), ("Polka", 0.1, 64.0), ("Blank", 0.4, 88.0),
                  ("Mongo", 1.5, 95.0), ("Blank", 1.5, 97.0))
    right = frames(("Blank", 1.5, 96.0), ("Kafka", 2, 91.0), ("Blank", 1, 40.0), ("Mongo", 1.2, 89.0),
                   ("Blank", 2.2, 94.0))
    client = mqtt.connect(stack.mqtt_url)
    try:
        began = time.monotonic()
        infos = []
        for i in range(max(len(left), len(right))):
            for topic, camera in (("sockfound/left", left), ("sockfound/right", right)):
                if i < len(camera):
                    label, probability = camera[i]
                    payload = json.dumps({"image": label, "probability": probability})
                    infos.append(client.publish(topic, payload, qos=1))
            time.sleep(max(0.0, began + (i + 1) / FPS - time.monotonic()))
        for info in infos:
            info.wait_for_publish(30)
    finally:
        client.disconnect()
        client.loop_stop()
    want = {"Mongo": 3, "Kafka": 1}
    deadline = time.monotonic() + 60
    while (got := pair_table(stack)) != want and time.monotonic() < deadline:
        time.sleep(0.5)
    assert got == want
