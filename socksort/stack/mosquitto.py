"""Debian's Mosquitto with the project's own configuration, started and stopped by us.

The broker listens on one local address only, never lets anonymous clients in (a
password file made with ``mosquitto_passwd``), keeps persistent sessions on disk, and
queues far more than Mosquitto's default 1000 messages per offline client: the Connect
worker's session must survive a worker restart while the camera keeps publishing.

Everything lives in ``workdir``: ``mosquitto.conf``, ``passwd``, ``password`` (the
generated secret, reused by later starts), ``data/`` and ``mosquitto.log``.
:meth:`Mosquitto.start` returns only once the broker answered a CONNECT with these
credentials with a successful CONNACK.

Given :class:`TlsFiles` and a ``tls_port``, the broker also listens for MQTT over TLS
(as ``mqtts://``, port 8883 on real brokers) next to the plain listener, with the same
password rule (the tests make a throwaway CA for it: ``tests/support/certificates.py``).
"""

from __future__ import annotations

import getpass
import os
import secrets
import shutil
import socket
import struct
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from socksort import atomic, contract, progress
from socksort.errors import UserError
from socksort.stack import processes

MOSQUITTO = "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = "/usr/bin/mosquitto_passwd"

# Queued QoS 1 messages per offline persistent session (Mosquitto's default is 1000).
MAX_QUEUED_MESSAGES = 1_000_000
# Unacknowledged QoS 1 messages in flight to one client; the connector acknowledges only
# after Kafka did, so the default 20 would cap throughput at 20 per Kafka round trip.
MAX_INFLIGHT_MESSAGES = 1000


@dataclass(frozen=True)
class TlsFiles:
    """PEM files of a TLS listener: the CA clients trust, the server's certificate and key."""

    cafile: Path
    certfile: Path
    keyfile: Path


class Mosquitto(processes.Launcher):
    """One broker process. ``url`` carries the credentials a local client needs."""

    what = "Mosquitto"
    stop_timeout = 15.0

    def __init__(self, workdir: Path, port: int = 1883, host: str = "127.0.0.1",
                 username: str = "socksort", password: str | None = None,
                 tls: TlsFiles | None = None, tls_port: int | None = None,
                 message_size_limit: int = contract.MQTT_MAX_PAYLOAD_BYTES):
        """``message_size_limit``: the largest payload accepted, 0 for MQTT's own limit (256 MB)."""
        if (tls is None) != (tls_port is None):
            raise ValueError("a TLS listener needs both its files (tls) and its port (tls_port)")
        self.workdir = Path(workdir)
        self.port = port
        self.host = host
        self.username = username
        self._password = password
        self.tls = tls
        self.tls_port = tls_port
        self.message_size_limit = message_size_limit

    # --- what clients need ------------------------------------------------------------

    @property
    def password(self) -> str:
        if self._password is None:
            self._password = self._stored_password()
        return self._password

    @property
    def url(self) -> str:
        return (f"mqtt://{quote(self.username, safe='')}:{quote(self.password, safe='')}"
                f"@{self.host}:{self.port}")

    @property
    def tls_url(self) -> str | None:
        """``mqtts://`` with the credentials, for the TLS listener (None without one)."""
        if self.tls_port is None:
            return None
        return (f"mqtts://{quote(self.username, safe='')}:{quote(self.password, safe='')}"
                f"@{self.host}:{self.tls_port}")

    @property
    def log_path(self) -> Path:
        return self.workdir / "mosquitto.log"

    @property
    def config_path(self) -> Path:
        return self.workdir / "mosquitto.conf"

    # --- lifecycle ----------------------------------------------------------------------

    def start(self, timeout: float = 15) -> "Mosquitto":
        if self.pid is not None:
            return self
        for tool in (MOSQUITTO, MOSQUITTO_PASSWD):
            if not Path(tool).exists():
                raise UserError(f"{tool} not found; install the Debian package: apt-get install mosquitto")
        processes.ensure_port_free(self.port, "MQTT (Mosquitto)", " or choose another port with --mqtt-port")
        if self.tls is not None:
            for role, path in (("CA", self.tls.cafile), ("certificate", self.tls.certfile), ("key", self.tls.keyfile)):
                if not Path(path).is_file():
                    raise UserError(f"the TLS listener's {role} file {path} does not exist")
            processes.ensure_port_free(self.tls_port, "MQTT over TLS (Mosquitto)", "")
        self._write_config()
        listening = f"{self.host}:{self.port}" + (f" and TLS :{self.tls_port}" if self.tls else "")
        progress.step(f"starting Mosquitto on {listening} (logs: {self.log_path})")
        self._spawn([MOSQUITTO, "-c", str(self.config_path)], self.log_path)
        progress.step(f"waiting for an MQTT CONNACK from {listening} as {self.username!r}")
        self._wait_ready(self._accepts_us, timeout, self.log_path)
        return self

    def answers(self) -> bool:
        """Whether the broker lets our credentials in (what ``stack status`` asks)."""
        return self._accepts_us() is True

    def _accepts_us(self) -> bool | str:
        """True once every listener let us in; else why not (the readiness wait shows it)."""
        listeners = [(self.port, None)]
        if self.tls is not None:
            # The TLS listener is checked the way a client would: verifying the server's
            # certificate against the CA, for the host name clients use.
            listeners.append((self.tls_port, ssl.create_default_context(cafile=str(self.tls.cafile))))
        for port, context in listeners:
            try:
                code = connack(self.host, port, self.username, self.password, tls=context)
            except OSError as exc:
                return f"{'TLS ' if context else ''}port {port}: {exc}"
            if code != 0:
                return f"{'TLS ' if context else ''}port {port}: CONNACK return code {code}"
        return True

    # --- internals ----------------------------------------------------------------------

    def _stored_password(self) -> str:
        """The secret saved by an earlier start in this workdir, or a new one saved now."""
        path = self.workdir / "password"
        if path.exists():
            return path.read_text().strip()
        secret = secrets.token_urlsafe(18)
        self.workdir.mkdir(parents=True, exist_ok=True)
        with atomic.atomic_write(path, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(secret + "\n")
        return secret

    def _write_config(self) -> None:
        if ":" in self.username:
            raise UserError(f"MQTT username {self.username!r} must not contain ':'")
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        passwd = self.workdir / "passwd"
        # Written in plain text with owner-only rights, then hashed in place by
        # mosquitto_passwd -U, so the password never appears on a command line.
        with atomic.atomic_write(passwd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(f"{self.username}:{self.password}\n")
        result = subprocess.run([MOSQUITTO_PASSWD, "-U", str(passwd)], capture_output=True, text=True)
        if result.returncode != 0:
            raise UserError(f"mosquitto_passwd could not hash {passwd}: {result.stderr.strip() or result.stdout.strip()}")
        atomic.write_text(self.config_path, "\n".join(self.config_lines(passwd, data)) + "\n")

    def config_lines(self, passwd: Path, data: Path) -> list[str]:
        """mosquitto.conf for this broker (docker-compose's copy is checked against it)."""
        return [
            "# Written by socksort.stack.mosquitto; regenerated on every start.",
            f"listener {self.port} {self.host}",
            "allow_anonymous false",
            f"password_file {passwd.resolve()}",
            "persistence true",
            f"persistence_location {data.resolve()}/",
            "autosave_interval 10",
            f"max_queued_messages {MAX_QUEUED_MESSAGES}",
            "max_queued_bytes 0",
            f"max_inflight_messages {MAX_INFLIGHT_MESSAGES}",
            # A larger payload is dropped on arrival with its QoS 1/2 flow completed (PUBACK or
            # PUBREC), so the publisher moves on; max_packet_size would disconnect it instead,
            # and it would resend forever. The connector's mqtt.max.payload.bytes is the same.
            f"message_size_limit {self.message_size_limit}",
            "set_tcp_nodelay true",
            # Run as whoever started us: as root Mosquitto would otherwise switch to the
            # "mosquitto" user, who cannot read a password file in our workdir.
            f"user {getpass.getuser()}",
            "log_dest stderr",  # the launcher sends stderr to mosquitto.log
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
        ] + self._tls_listener_lines()

    def _tls_listener_lines(self) -> list[str]:
        # A second listener; allow_anonymous and password_file above are global (Mosquitto's
        # per_listener_settings is off), so TLS clients face the same password rule.
        if self.tls is None:
            return []
        return [
            f"listener {self.tls_port} {self.host}",
            f"cafile {Path(self.tls.cafile).resolve()}",
            f"certfile {Path(self.tls.certfile).resolve()}",
            f"keyfile {Path(self.tls.keyfile).resolve()}",
        ]


def connack(host: str, port: int, username: str | None, password: str | None,
            timeout: float = 2.0, tls: ssl.SSLContext | None = None) -> int:
    """Send an MQTT 3.1.1 CONNECT and return the CONNACK's return code (0 = accepted).

    A dependency-free probe: the readiness check and ``stack status`` want exactly one
    answer — would the broker let these credentials in — and nothing else. With ``tls``
    the CONNECT goes over TLS, verified by that context for ``host``.
    """
    def text(value: str) -> bytes:
        raw = value.encode()
        return struct.pack("!H", len(raw)) + raw

    flags = 0x02  # clean session: the probe must leave nothing behind
    payload = text(f"socksort-probe-{secrets.token_hex(4)}")
    if username is not None:
        flags |= 0x80
        payload += text(username)
        if password is not None:
            flags |= 0x40
            payload += text(password)
    body = text("MQTT") + bytes([4, flags]) + struct.pack("!H", 10) + payload
    packet = bytes([0x10]) + _remaining_length(len(body)) + body
    sock = socket.create_connection((host, port), timeout=timeout)
    if tls is not None:
        sock = tls.wrap_socket(sock, server_hostname=host)  # closes the socket if the handshake fails
    with sock:
        sock.sendall(packet)
        answer = b""
        while len(answer) < 4:
            chunk = sock.recv(4 - len(answer))
            if not chunk:
                raise ConnectionError("the broker closed the connection before its CONNACK")
            answer += chunk
        if answer[0] != 0x20:
            raise ConnectionError(f"expected a CONNACK, got packet type 0x{answer[0]:02x}")
        if answer[3] == 0:
            sock.sendall(b"\xe0\x00")  # DISCONNECT, so the broker logs a clean goodbye
        return answer[3]


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def available() -> bool:
    return Path(MOSQUITTO).exists() and shutil.which(MOSQUITTO_PASSWD) is not None
