"""The MQTT password as Kafka Connect should hold it: in a file, never in a connector config.

Connect stores every connector config in its config topic and shows it over REST
(``GET /connectors/<name>/config``). A value ``${file:/path:key}`` there is resolved by the
worker's FileConfigProvider from a Java properties file instead, so every path that
registers the MQTT source (``stack up``, ``ksql-apply``, docker compose) writes the
password to such a file (owner-only) and puts only the reference in the config.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from socksort import atomic
from socksort.java_properties import properties_text

PASSWORD_KEY = "mqtt.password"


def reference(path: str | Path, key: str = PASSWORD_KEY) -> str:
    """``${file:<path>:<key>}``: the config value Connect replaces with the file's value."""
    return f"${{file:{path}:{key}}}"


def write(path: Path, secret: str, key: str = PASSWORD_KEY) -> str:
    """Write ``secret`` under ``key`` to an owner-only properties file; return its reference."""
    path = Path(path).resolve()
    with atomic.atomic_write(path, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(properties_text({key: secret}))
    return reference(path, key)


def file_for_broker(folder: Path, host: str, port: int, username: str | None) -> Path:
    """One secrets file per broker and user, so registering a connector for one broker never
    changes the password another connector reads."""
    name = re.sub(r"[^A-Za-z0-9._@-]", "_", f"mqtt-{username or ''}@{host}-{port}")
    return Path(folder) / f"{name}.properties"
