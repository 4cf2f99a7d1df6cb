"""Subscribing in tests so that no message can pass by unseen."""

from __future__ import annotations

import threading


def subscribe_acked(client, topic: str, qos: int = 1, timeout: float = 10) -> None:
    """Subscribe a connected paho client and wait for the broker's SUBACK: a message
    published before it may find no subscriber."""
    granted = threading.Event()
    client.on_subscribe = lambda *args: granted.set()
    client.subscribe(topic, qos=qos)
    assert granted.wait(timeout), f"no SUBACK for {topic}"
