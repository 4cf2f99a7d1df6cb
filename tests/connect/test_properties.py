"""Properties files we write for the JVM read back exactly, as Kafka itself reads them.

The MQTT password goes to Connect through a secrets file read by Kafka's FileConfigProvider;
a password with a backslash, a leading blank, '#', '=' or non-ASCII letters must arrive as
typed, or the connector fails to log in with a password that looks right.
"""

from __future__ import annotations

import subprocess

import pytest

from socksort.connect import connector
from socksort.stack import jvm

# Reads keys through the real FileConfigProvider and prints each value's UTF-16 units in hex,
# so the comparison does not depend on the console's encoding.
READER = """
import java.util.*;
import org.apache.kafka.common.config.provider.FileConfigProvider;

public class ReadSecrets {
    public static void main(String[] args) {
        FileConfigProvider provider = new FileConfigProvider();
        provider.configure(Map.of());
        for (int i = 0; i < args.length; i += 2) {
            Map<String, String> data = provider.get(args[i]).data();
            StringBuilder hex = new StringBuilder();
            for (char c : data.getOrDefault(args[i + 1], "<missing>").toCharArray()) hex.append(String.format("%04x", (int) c));
            System.out.println(hex);
        }
    }
}
"""

AWKWARD = {
    "plain": "s3cret",
    "backslashes": "a\\b\\\\c\\",
    "leading and trailing blanks": "  spaced out  ",
    "comment and separators": "#not=a:comment!",
    "line breaks and tabs": "one\ntwo\r\tthree",
    "non-ascii": "Sökker-密码-🧦",
}


def read_back(tmp_path, lookups: list[tuple[object, str]]) -> list[str]:
    """The values Kafka reads for each (file, key)."""
    source = tmp_path / "ReadSecrets.java"
    source.write_text(READER)
    args = [str(part) for lookup in lookups for part in lookup]
    done = subprocess.run([jvm.java(), "-cp", jvm.kafka_classpath(), str(source), *args],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [bytes.fromhex(line).decode("utf-16-be") for line in done.stdout.splitlines()]


@pytest.mark.slow
def test_the_mqtt_password_reaches_connect_exactly_as_typed(tmp_path):
    lookups = []
    for number, password in enumerate(AWKWARD.values()):
        path = tmp_path / f"secrets-{number}.properties"
        connector.write_secrets(path, password)
        lookups.append((path, connector.PASSWORD_KEY))
    assert read_back(tmp_path, lookups) == list(AWKWARD.values())


@pytest.mark.slow
def test_awkward_keys_and_values_in_a_worker_config_read_back_exactly(tmp_path):
    props = {f"key {name}=:": value for name, value in AWKWARD.items()}
    path = jvm.write_properties(tmp_path / "worker.properties", props)
    assert read_back(tmp_path, [(path, key) for key in props]) == list(props.values())
