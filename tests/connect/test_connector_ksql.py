"""ksql/connector.ksql registers the same connector as `socksort stack up`: whichever path
creates `socksort-mqtt` first, the bridge behaves the same (delivery, limits, errors)."""

from __future__ import annotations

import re

from socksort import contract
from socksort.connect import connector
from socksort.ksql.pipeline import CONNECTOR_SQL

STATEMENT = CONNECTOR_SQL.read_text()
# The values ksql-apply fills in from the stack it talks to.
VARIABLES = {"mqtt.server.uri", "mqtt.username", "mqtt.password"}


def _with_properties(statement: str) -> dict[str, str]:
    return dict(re.findall(r"^\s*'([^']+)'\s*=\s*'([^']*)'", statement, flags=re.MULTILINE))


def test_the_ksql_statement_names_the_stacks_connector():
    assert f"`{connector.NAME}`" in STATEMENT


def test_the_ksql_statement_sets_what_stack_up_sets():
    stack = connector.mqtt_source_config("127.0.0.1", contract.PORTS["mqtt"], "socksort", "<secret>")
    ksql = _with_properties(STATEMENT)
    assert set(ksql) == set(stack)
    assert {key: ksql[key] for key in stack if key not in VARIABLES} == \
        {key: value for key, value in stack.items() if key not in VARIABLES}
