"""The embedded engine: a catalog of sources, persistent and transient queries, records in
and out, one result dataclass per kind of statement. It knows nothing about Kafka or HTTP
(see ../ENGINE.md for the contract).

    from socksort.ksql.engine import Engine, Record, KsqlError
"""

from socksort.ksql.engine.catalog import Column, Query, Source
from socksort.ksql.engine.engine import Engine
from socksort.ksql.engine.records import ProcessingLogEntry, PushRow, Record, Window
from socksort.ksql.engine.results import (PropertiesListed, PropertySet, QueriesListed,
                                          QueriesTerminated, QueryCreated, SelectNotRun,
                                          ServerStatement, SourceCreated, SourceDescribed,
                                          SourceDropped, SourcesDescribed, SourcesListed,
                                          StatementResult, ValuesInserted)
from socksort.ksql.engine.transient import PullResult, PushQuery
from socksort.ksql.sql.errors import KsqlError

__all__ = ["Engine", "Record", "Window", "KsqlError", "PullResult", "PushQuery", "PushRow",
           "ProcessingLogEntry", "Column", "Query", "Source", "StatementResult",
           "PropertiesListed", "PropertySet", "QueriesListed", "QueriesTerminated",
           "QueryCreated", "SelectNotRun", "ServerStatement", "SourceCreated", "SourceDescribed",
           "SourceDropped", "SourcesDescribed", "SourcesListed", "ValuesInserted"]
