"""One configuration story for every stage: CLI flags, with ``SOCKSORT_*`` environment
variables as their defaults, validated once at start.

A stage declares its options with :func:`option`::

    option(parser, "--mqtt-url", env="SOCKSORT_MQTT_URL", type=mqtt_url,
           default="mqtt://127.0.0.1:1883", help="broker to publish to")

The flag wins over the environment, the environment over the default. A bad value,
from either place, stops the program with one line naming the flag or variable and
the value: ``socksort: error: SOCKSORT_MQTT_URL='tcp:/x': not an mqtt:// or mqtts:// URL``.
Validators are plain functions ``str -> value`` that raise ``ValueError`` with the
reason; they are reusable by code that reads configuration files.
"""

from __future__ import annotations

import argparse
import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import unquote, urlsplit, urlunsplit

from socksort.errors import UserError

Validator = Callable[[str], Any]


@dataclass(frozen=True)
class _FromEnv:
    """A default that came from the environment and still needs validating."""

    name: str
    raw: str
    convert: Validator


def option(parser: argparse.ArgumentParser, *flags: str, env: str | None = None,
           type: Validator = str, default: Any = None, help: str = "", **kwargs) -> argparse.Action:
    """Add a flag whose default may come from the environment variable ``env``."""
    if env and env in os.environ:
        default = _FromEnv(env, os.environ[env], type)
    shown = "" if default is None or isinstance(default, _FromEnv) else f" (default: {default})"
    env_note = f" [env {env}]" if env else ""
    return parser.add_argument(*flags, type=_named(type, flags[-1]), default=default,
                               help=f"{help}{shown}{env_note}", **kwargs)


def resolve(args: argparse.Namespace) -> argparse.Namespace:
    """Validate the defaults that came from the environment; call once after parsing."""
    for key, value in vars(args).items():
        if isinstance(value, _FromEnv):
            try:
                setattr(args, key, value.convert(value.raw))
            except ValueError as exc:
                raise UserError(f"{value.name}={redacted(value.raw)!r}: {exc}") from None
    return args


def _named(convert: Validator, flag: str) -> Validator:
    """Turn a validator's ValueError into argparse's one-line error naming the flag."""
    def wrapped(text: str):
        try:
            return convert(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{redacted(text)!r}: {exc}") from None
    wrapped.__name__ = getattr(convert, "__name__", "value")
    return wrapped


def redacted(text: str) -> str:
    """``text`` with the password of a URL in it shown as ``***``: bad values are echoed in
    error messages, and a URL with credentials must not put its password on screen."""
    try:
        parts = urlsplit(text)
        if parts.password is None:
            return text
    except ValueError:
        return text
    userinfo, _, hostport = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{userinfo.partition(':')[0]}:***@{hostport}"))


# --- validators -------------------------------------------------------------------

def port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError("not a port number (1-65535)") from None
    if not 1 <= value <= 65535:
        raise ValueError("not a port number (1-65535)")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError("not a whole number") from None
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError("not a whole number") from None
    if value < 0:
        raise ValueError("must not be negative")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("not a number") from None
    if not value > 0:
        raise ValueError("must be greater than 0")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("not a number") from None
    if not value >= 0:
        raise ValueError("must not be negative")
    return value


def fraction(text: str) -> float:
    """A number in the open interval (0, 1), like a train/validation ratio."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError("not a number") from None
    if not 0 < value < 1:
        raise ValueError("must be between 0 and 1 (exclusive)")
    return value


def similarity(text: str) -> float:
    """A cosine similarity, -1 to 1 (what ``match`` and ``edge --match`` compare looks by)."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError("not a number") from None
    if not -1.0 <= value <= 1.0:
        raise ValueError("must be between -1 and 1 (a cosine similarity)")
    return value


def percent(text: str) -> float:
    """A probability in percent, 0-100, as the seed published them."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError("not a number") from None
    if not 0 <= value <= 100:
        raise ValueError("must be a percentage between 0 and 100")
    return value


@dataclass(frozen=True)
class HostPort:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def host_port(text: str) -> HostPort:
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:8080")
    return HostPort(host.strip("[]"), port(port_text))


@dataclass(frozen=True)
class MqttUrl:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False

    def __str__(self) -> str:
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"

    def with_secret(self) -> str:
        """The URL including the password, for clients that need it (never for logs)."""
        scheme = "mqtts" if self.tls else "mqtt"
        auth = ""
        if self.username:
            auth = self.username + (f":{self.password}" if self.password is not None else "") + "@"
        return f"{scheme}://{auth}{self.host}:{self.port}"


def mqtt_url(text: str) -> MqttUrl:
    parts = urlsplit(text)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError("not an mqtt:// or mqtts:// URL")
    if not parts.hostname:
        raise ValueError("the URL names no host")
    try:
        explicit_port = parts.port
    except ValueError:
        raise ValueError("the URL's port is not a number (1-65535)") from None
    tls = parts.scheme in ("mqtts", "ssl")
    return MqttUrl(parts.hostname, explicit_port or (8883 if tls else 1883),
                   unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password is not None else None, tls)


def http_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not an http:// or https:// URL")
    try:
        parts.port
    except ValueError:
        raise ValueError("the URL's port is not a number (1-65535)") from None
    return text.rstrip("/")


def existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise ValueError("no such file")
    return path


def ca_certificate(text: str) -> Path:
    """A readable PEM file of CA certificates, as TLS clients load it (e.g. for mqtts://)."""
    path = Path(text)
    if not path.is_file():
        raise ValueError("no such file")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise ValueError(f"cannot read it: {exc.strerror}") from None
    try:
        ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, ValueError):
        raise ValueError("not a PEM CA certificate") from None
    return path


def mqtt_ca_option(parser: argparse.ArgumentParser) -> argparse.Action:
    """``--tls-ca`` [env SOCKSORT_MQTT_CA]: the CA an ``mqtts://`` broker's certificate must
    chain to (the same flag and variable as ``socksort edge``'s)."""
    return option(parser, "--tls-ca", env="SOCKSORT_MQTT_CA", type=ca_certificate,
                  help="CA certificate (PEM) an mqtts:// broker's certificate must chain to "
                       "(default: the system's CAs)")


def existing_dir(text: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        raise ValueError("no such folder")
    return path


def yes_no(text: str) -> bool:
    """A yes/no setting, as people write it in an environment variable or a config file."""
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("not a yes/no value (true/false, 1/0)")


def one_of(*choices: str) -> Validator:
    def choice(text: str) -> str:
        if text not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return text
    choice.__name__ = "choice"
    return choice
