"""The ksql server: the engine on real Kafka topics (``service``), its command topic, and
ksqlDB's REST API over HTTP/1.1 and HTTP/2 (``rest``, ``http2``, ``push``)."""

from socksort.ksql.server.command_topic import COMMAND_TOPIC, Command, CommandLog
from socksort.ksql.server.rest import RestServer, serve
from socksort.ksql.server.service import KsqlService, StatementOutcome

__all__ = ["COMMAND_TOPIC", "Command", "CommandLog", "RestServer", "serve", "KsqlService",
           "StatementOutcome"]
