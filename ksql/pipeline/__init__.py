"""The sock pipeline's own tools: its tables' rows, simulated sessions, the pair table
(``pairs``), recorded predictions replayed (``replay``), and its accuracy against the
seed's method (``accuracy``, ``seed_method``). The SQL itself is ``ksql/pipeline.ksql``
(``PIPELINE_SQL``), the connector's ``ksql/connector.ksql`` (``CONNECTOR_SQL``)."""

from socksort.ksql.pipeline.files import CONNECTOR_SQL, DEFAULT_FILES, PIPELINE_SQL
from socksort.ksql.pipeline.rows import PairRow, ShowingRow
from socksort.ksql.pipeline.simulate import Delivery, Session, SessionSpec, sessions, simulate

__all__ = ["CONNECTOR_SQL", "DEFAULT_FILES", "PIPELINE_SQL", "PairRow", "ShowingRow", "Delivery",
           "Session", "SessionSpec", "sessions", "simulate"]
