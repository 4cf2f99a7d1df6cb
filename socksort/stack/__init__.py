"""socksort.stack: the local streaming stack (``socksort stack up|down|status``).

Mosquitto → Kafka (KRaft) → a Kafka Connect worker running the connector of ``connect/``
→ the ksql engine, each started, supervised and stopped by the project itself on one
machine: ``stack`` brings them up in order and reports on them, ``processes`` launches
and recognises child processes, ``mosquitto``, ``kafka``, ``worker`` (Connect) and
``ksql_server`` each launch one service, ``jvm`` finds the jars Maven fetched, and
``traffic`` publishes and reads test traffic through the bridge. Every stage's tests and
benchmarks start their services from here.
"""

from socksort.stack.kafka import Kafka
from socksort.stack.ksql_server import KsqlServer
from socksort.stack.mosquitto import Mosquitto
from socksort.stack.stack import Ports, Stack, for_up, load, problems
from socksort.stack.worker import ConnectWorker

__all__ = ["ConnectWorker", "Kafka", "KsqlServer", "Mosquitto", "Ports", "Stack", "for_up", "load", "problems"]
