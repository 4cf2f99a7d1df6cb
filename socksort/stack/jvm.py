"""The Java side of the stack: where Maven put the jars, and how we start a JVM with them.

``make setup`` (``mvn -f connect/pom.xml package``) leaves the Kafka broker and Connect
worker classpath in ``connect/target/kafka-libs/`` and the connector with Paho in
``connect/target/plugins/socksort-mqtt-connector/``. Nothing is fetched at run time:
if the jars are missing the launchers say which command builds them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from socksort import atomic
from socksort.errors import UserError
from socksort.java_properties import properties_text
from socksort.paths import ROOT

CONNECT_DIR = ROOT / "connect"   # the connector's Maven project, which also fetches Kafka
TARGET = CONNECT_DIR / "target"
KAFKA_LIBS = TARGET / "kafka-libs"
PLUGIN_PATH = TARGET / "plugins"

# Small heaps and the serial collector: the whole stack shares two cores with the camera.
DEFAULT_HEAP = os.environ.get("SOCKSORT_JVM_HEAP", "512m")


def java() -> str:
    home = os.environ.get("JAVA_HOME")
    candidate = Path(home) / "bin" / "java" if home else None
    found = str(candidate) if candidate and candidate.exists() else shutil.which("java")
    if not found:
        raise UserError("java not found; install a JDK 17 (apt-get install openjdk-17-jre-headless)")
    return found


def kafka_classpath() -> str:
    jars = sorted(KAFKA_LIBS.glob("*.jar"))
    if not any(jar.name.startswith("kafka_2.13-") for jar in jars):
        raise UserError(f"Kafka jars missing in {KAFKA_LIBS}; build them with `make java` "
                        "(mvn -f connect/pom.xml package -DskipTests)")
    return os.pathsep.join(str(jar) for jar in jars)


def plugin_path() -> Path:
    if not list(PLUGIN_PATH.glob("*/socksort-mqtt-connector-*.jar")):
        raise UserError(f"the MQTT connector is not built in {PLUGIN_PATH}; build it with `make java`")
    return PLUGIN_PATH


def command(main_class: str, *args: str, heap: str = DEFAULT_HEAP, log_config: Path | None = None,
            extra: tuple[str, ...] = ()) -> list[str]:
    argv = [java(), f"-Xmx{heap}", "-Xms64m", "-XX:+UseSerialGC", "-Djava.awt.headless=true",
            "-XX:-OmitStackTraceInFastThrow", *extra]
    if log_config is not None:
        argv.append(f"-Dlog4j2.configurationFile={log_config}")
    return [*argv, "-cp", kafka_classpath(), main_class, *args]


def write_log_config(path: Path, log_file: Path, level: str = "INFO") -> Path:
    """A log4j2 configuration sending everything at ``level`` and above to one file."""
    atomic.write_text(path, "\n".join([
        "status = warn",
        "appender.file.type = File",
        "appender.file.name = file",
        f"appender.file.fileName = {log_file}",
        "appender.file.layout.type = PatternLayout",
        "appender.file.layout.pattern = [%d] %p %m (%c)%n",
        f"rootLogger.level = {level}",
        "rootLogger.appenderRef.file.ref = file",
        # The worker's REST access log and the Kafka clients' config dumps drown the
        # lines that matter when something fails.
        "logger.clients.name = org.apache.kafka.clients",
        "logger.clients.level = WARN",
        "logger.common.name = org.apache.kafka.common.config.AbstractConfig",
        "logger.common.level = WARN",
        "",
    ]))
    return path


def write_properties(path: Path, props: dict[str, object]) -> Path:
    atomic.write_text(path, properties_text(props))
    return path
