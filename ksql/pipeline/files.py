"""The pipeline's SQL files, named once: ksql/pipeline.ksql and ksql/connector.ksql stay
at the top of ksql/, where users and the docs find them."""

from __future__ import annotations

from pathlib import Path

KSQL_DIR = Path(__file__).resolve().parents[1]
PIPELINE_SQL = KSQL_DIR / "pipeline.ksql"
CONNECTOR_SQL = KSQL_DIR / "connector.ksql"
# What `ksql-apply` applies without FILES: the connector first, then the pipeline reading it.
DEFAULT_FILES = (CONNECTOR_SQL, PIPELINE_SQL)
