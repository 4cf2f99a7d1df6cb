"""The one ksqlDB REST client (for socksort's ksql-server or a real ksqlDB), the push
query the dashboard keeps running on it, and the interactive shell (``shell``)."""

from socksort.ksql.client.push_query import Header, PushQuery, QueryStreamParser, Row, rows_as_dicts
from socksort.ksql.client.rest_client import (QueryError, Rows, client, pull, run, substitute,
                                              writers_from_listing, writing_queries)

__all__ = ["Header", "PushQuery", "QueryStreamParser", "Row", "rows_as_dicts", "QueryError",
           "Rows", "client", "pull", "run", "substitute", "writers_from_listing",
           "writing_queries"]
