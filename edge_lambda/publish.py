"""Where predictions go: MQTT (paho), Greengrass v1 (greengrasssdk iot-data) and
Greengrass v2 (the nucleus IPC client). Each publisher owns a bounded buffer and a thread,
so a slow or absent broker never stalls the camera loop.

MQTT delivery is deliberate about whose queue holds what. Our buffer holds the messages
not yet handed to paho; it is bounded and drops its oldest message first, counting it.
The sender hands a message to paho only while connected and only while fewer than
``max_inflight`` are unacknowledged. paho keeps every QoS 1 message it accepted until the
broker's PUBACK and re-sends the unacknowledged ones after a reconnect, so nothing that
left our buffer is lost in an outage, and paho's own queue never grows past
``max_inflight``.
"""

from __future__ import annotations

import collections
import os
import ssl
import threading
import time
import uuid
from dataclasses import dataclass

from socksort.config import MqttUrl
from socksort.errors import UserError

# paho-mqtt (0.1 s to import) is imported when an MQTT publisher is built; greengrasssdk
# and awsiot exist only on a Greengrass device, so they too are imported where a publisher
# for one is built.

DEFAULT_BUFFER = 1000
QOS_AT_LEAST_ONCE = "1"   # awsiot.greengrasscoreipc.model.QOS.AT_LEAST_ONCE
LATENCY_WINDOW = 4096


@dataclass
class Outgoing:
    payload: bytes
    captured: float | None   # time.monotonic() of the frame, for frame-to-publish latency


class BoundedBuffer:
    """A FIFO of outgoing messages that drops its oldest entry when full, counting it.

    ``in_hand`` counts messages a sender took but has not yet settled (delivered, handed to
    paho's in-flight window, or failed): without it a flush could see an empty buffer and an
    empty window while the last message is between the two, and stop before it is sent.
    """

    def __init__(self, size: int):
        self._items: collections.deque[Outgoing] = collections.deque()
        self._size = max(1, size)
        self._cond = threading.Condition()
        self.dropped = 0
        self.in_hand = 0

    def put(self, item: Outgoing) -> None:
        with self._cond:
            if len(self._items) >= self._size:
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self._cond.notify_all()

    def get(self, ready, timeout: float) -> Outgoing | None:
        """The oldest item once ``ready()`` is true, or None after ``timeout`` seconds."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._items and ready(), timeout):
                return None
            self.in_hand += 1
            return self._items.popleft()

    def settled(self) -> None:
        """The item from the last ``get`` is delivered, in flight elsewhere, or failed."""
        with self._cond:
            self.in_hand -= 1

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def __len__(self) -> int:
        return len(self._items)


class Publisher:
    """Common counters; subclasses deliver."""

    name = "?"

    def __init__(self, buffer_size: int = DEFAULT_BUFFER):
        self.buffer = BoundedBuffer(buffer_size)
        self.published = 0          # acknowledged by the receiver
        self.errors = 0
        self.state = "starting"
        self.last_error = ""
        self.log = None   # callable(str): told when the connection state changes
        self.latencies: collections.deque[float] = collections.deque(maxlen=LATENCY_WINDOW)
        self.send_seconds = 0.0
        self._running = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def dropped(self) -> int:
        return self.buffer.dropped

    @property
    def pending(self) -> int:
        return len(self.buffer)

    def publish(self, payload: bytes, captured: float | None = None) -> None:
        """Queue one message; never blocks."""
        self.buffer.put(Outgoing(payload, captured))

    def start(self) -> "Publisher":
        self._running.set()
        self._thread = threading.Thread(target=self._send_loop, name=f"edge-{self.name}", daemon=True)
        self._thread.start()
        return self

    def flush(self, timeout: float) -> bool:
        """Wait until everything queued is acknowledged; False if time ran out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle():
                return True
            time.sleep(0.02)
        return self.idle()

    def idle(self) -> bool:
        return self.pending == 0 and self.buffer.in_hand == 0

    def stop(self, flush_timeout: float = 5.0) -> None:
        self.flush(flush_timeout)
        self._running.clear()
        self.buffer.wake()
        if self._thread:
            self._thread.join(timeout=5)

    def _set_state(self, state: str, error: str = "") -> None:
        """Change state; a change is logged once, so an outage is one line, not thousands."""
        changed = state != self.state
        self.state, self.last_error = state, error
        if changed and self.log is not None:
            self.log(f"{self.name} {state}" + (f": {error}" if error else ""))

    def _record(self, item: Outgoing) -> None:
        self.published += 1
        if item.captured is not None:
            self.latencies.append(time.monotonic() - item.captured)

    def _send_loop(self) -> None:
        raise NotImplementedError


class CallPublisher(Publisher):
    """Delivers each message with one blocking call (the Greengrass SDK clients)."""

    def send(self, payload: bytes) -> None:
        raise NotImplementedError

    def _send_loop(self) -> None:
        self._set_state("connected")
        while self._running.is_set():
            item = self.buffer.get(lambda: True, timeout=0.2)
            if item is None:
                continue
            began = time.monotonic()
            try:
                self.send(item.payload)
            except Exception as exc:  # the core is down or refused: count, say so, go on
                self.errors += 1
                self._set_state("error", f"{type(exc).__name__}: {exc}")
            else:
                self._set_state("connected")
                self._record(item)
            finally:
                self.send_seconds += time.monotonic() - began
                self.buffer.settled()


class GreengrassV1Publisher(CallPublisher):
    """Greengrass v1 (DeepLens): greengrasssdk's iot-data client, as the seed published."""

    name = "greengrass-v1"

    def __init__(self, topic: str, client=None, buffer_size: int = DEFAULT_BUFFER):
        super().__init__(buffer_size)
        self.topic = topic
        if client is None:
            import greengrasssdk
            client = greengrasssdk.client("iot-data")
        self._client = client

    def send(self, payload: bytes) -> None:
        self._client.publish(topic=self.topic, queueFullPolicy="AllOrException", payload=payload)


class GreengrassV2Publisher(CallPublisher):
    """Greengrass v2: PublishToIoTCore through the nucleus IPC client (awsiotsdk)."""

    name = "greengrass-v2"

    def __init__(self, topic: str, client=None, buffer_size: int = DEFAULT_BUFFER):
        super().__init__(buffer_size)
        self.topic = topic
        if client is None:
            from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2
            client = GreengrassCoreIPCClientV2()
        self._client = client

    def send(self, payload: bytes) -> None:
        self._client.publish_to_iot_core(topic_name=self.topic, qos=QOS_AT_LEAST_ONCE, payload=payload)


def thing_topic(thing: str) -> str:
    return f"$aws/things/{thing}/infer"


def greengrass_publisher(env=os.environ) -> Publisher | None:
    """The Greengrass publisher for the environment we run in, if any.

    Both nuclei set AWS_IOT_THING_NAME; only v2 hands its components an IPC socket.
    """
    thing = env.get("AWS_IOT_THING_NAME")
    if not thing:
        return None
    if env.get("AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT") or env.get("SVCUID"):
        return GreengrassV2Publisher(thing_topic(thing))
    return GreengrassV1Publisher(thing_topic(thing))


@dataclass(frozen=True)
class TlsOptions:
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure: bool = False       # skip hostname checks (self-signed test brokers only)


class MqttPublisher(Publisher):
    """QoS 1 to an MQTT broker with paho-mqtt 2.x; see the module docstring for the queues."""

    name = "mqtt"

    def __init__(self, url: MqttUrl, topic: str, *, client_id: str | None = None,
                 buffer_size: int = DEFAULT_BUFFER, max_inflight: int = 20,
                 tls: TlsOptions | None = None, keepalive: int = 30,
                 backoff: tuple[int, int] = (1, 30)):
        super().__init__(buffer_size)
        import paho.mqtt.client as mqtt
        self.url = url
        self.topic = topic
        self.max_inflight = max_inflight
        self.keepalive = keepalive
        self._mqtt = mqtt
        self._inflight: dict[int, Outgoing] = {}
        self._lock = threading.RLock()
        self._acked_early: set[int] = set()  # PUBACKs that beat publish() returning its mid
        self.connects = 0
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                             client_id=client_id or f"socksort-edge-{uuid.uuid4().hex[:8]}",
                             protocol=mqtt.MQTTv311, clean_session=True)
        if url.username:
            client.username_pw_set(url.username, url.password)
        self._tls = bool(url.tls or tls)
        if self._tls:
            tls = tls or TlsOptions()
            try:
                client.tls_set(ca_certs=tls.ca_file, certfile=tls.cert_file, keyfile=tls.key_file,
                               cert_reqs=ssl.CERT_REQUIRED)
            except (OSError, ValueError) as exc:   # ssl.SSLError is an OSError
                raise UserError(f"cannot use the MQTT TLS files ({tls.ca_file or 'system CAs'}, "
                                f"{tls.cert_file or 'no client certificate'}): {exc}") from None
            client.tls_insecure_set(tls.insecure)
        client.max_inflight_messages_set(max_inflight)
        client.reconnect_delay_set(*backoff)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail
        client.on_publish = self._on_publish
        self._client = client
        self._connected = threading.Event()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    def idle(self) -> bool:
        return super().idle() and self.inflight == 0

    def start(self) -> "MqttPublisher":
        self.state = "connecting"
        try:
            # Asynchronous: an unreachable broker at start is a reported state, not a crash.
            self._client.connect_async(self.url.host, self.url.port, keepalive=self.keepalive)
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot use MQTT broker {self.url}: {exc}") from None
        self._client.loop_start()
        return super().start()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def stop(self, flush_timeout: float = 5.0) -> None:
        super().stop(flush_timeout)
        self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()
        self.state = "stopped"

    def _ready(self) -> bool:
        return self._connected.is_set() and len(self._inflight) < self.max_inflight

    def _send_loop(self) -> None:
        while self._running.is_set():
            item = self.buffer.get(self._ready, timeout=0.2)
            if item is None:
                continue
            began = time.monotonic()
            try:
                self._hand_over(item)
            finally:
                self.send_seconds += time.monotonic() - began
                self.buffer.settled()

    def _hand_over(self, item: Outgoing) -> None:
        # Never call paho while holding our lock: paho runs on_publish while holding its
        # own message lock, so the opposite order would deadlock.
        info = self._client.publish(self.topic, item.payload, qos=1)
        if info.rc in (self._mqtt.MQTT_ERR_SUCCESS, self._mqtt.MQTT_ERR_NO_CONN):
            # Either sent or parked in paho's session: paho re-sends it on reconnect.
            with self._lock:  # the PUBACK may have beaten us here
                if info.mid in self._acked_early:
                    self._acked_early.discard(info.mid)
                    self._record(item)
                else:
                    self._inflight[info.mid] = item
        else:
            self.errors += 1
            self.last_error = f"publish refused: {self._mqtt.error_string(info.rc)}"

    def _on_publish(self, client, userdata, mid, reason_code=None, properties=None) -> None:
        with self._lock:
            item = self._inflight.pop(mid, None)
            if item is None:
                self._acked_early.add(mid)
                return
            self._record(item)
        self.buffer.wake()

    def _on_connect(self, client, userdata, flags, reason_code, properties=None) -> None:
        if reason_code.is_failure:
            self._set_state("refused", f"broker refused the connection: {reason_code}")
            return
        self.connects += 1
        self._set_state("connected")
        self._connected.set()
        self.buffer.wake()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties=None) -> None:
        self._connected.clear()
        if self.state not in ("stopped", "refused"):   # keep saying why it was refused
            self._set_state("disconnected", f"lost the broker: {reason_code}")

    def _on_connect_fail(self, client, userdata) -> None:
        self._connected.clear()
        # paho does not say why; over TLS a failed handshake is the usual reason.
        how = " over TLS (is it listening for TLS, with a certificate the CA file accepts?)" if self._tls else ""
        self._set_state("disconnected", f"cannot reach the broker at {self.url}{how}")
