"""The ksqlDB REST client (for socksort's ksql-server or a real ksqlDB), and the shell on it."""

from socksort.ksql.client.rest_client import Rows, client, pull, run, substitute

__all__ = ["Rows", "client", "pull", "run", "substitute"]
