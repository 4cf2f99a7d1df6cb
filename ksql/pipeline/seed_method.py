"""The seed project's smoothing, written from its description, and how to evaluate it.

The seed declared a stream over ``data_mqtt``, kept 5-second tumbling windows in which a
non-blank design was seen more than three times, and counted those windows per design::

    |IMAGE     |PAIR_SEEN   |NUMBER_SOCKS_SEEN |
    |Mongo     |Pair        |2                 |

The last step aggregates a windowed table, which ksqlDB refuses as a persistent query
("KSQL does not support persistent queries on windowed tables"), so the seed ran it as a
transient push query and the user read its latest row per design. A table aggregation
over a windowed table counts the table's rows, and a windowed table has one row per
(design, window); the push query's latest row per design therefore shows how many windows
passed ``HAVING COUNT(*) > 3``. :func:`seed_pairs` runs the two persistent statements on
the embedded engine and computes exactly that count from the windowed table they write.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable

from socksort.ksql.engine import Engine, Record
from socksort.ksql.pipeline.rows import PairRow
from socksort.ksql.pipeline.simulate import Delivery, pair_rows

# The seed's persistent statements (its record time is the Kafka timestamp, i.e. publish time).
SEED_STATEMENTS = """
CREATE STREAM sock_stream (image VARCHAR, probability DOUBLE)
  WITH (kafka_topic='data_mqtt', value_format='JSON');
CREATE TABLE sock_stream_smoothed AS
  SELECT image, COUNT(*) AS frames
  FROM sock_stream WINDOW TUMBLING (SIZE 5 SECONDS)
  WHERE image != 'Blank'
  GROUP BY image
  HAVING COUNT(*) > 3;
"""

# The seed's final step, which only ever ran as a transient push query.
SEED_PUSH_QUERY = """
SELECT image,
       CASE WHEN (COUNT(*)/2)*2 = COUNT(*) THEN 'Pair' ELSE 'Un-matched' END AS pair_seen,
       COUNT(*) AS number_socks_seen
FROM sock_stream_smoothed
GROUP BY image
EMIT CHANGES;
"""

SMOOTHED_TOPIC = "SOCK_STREAM_SMOOTHED"


def seed_pairs(deliveries: Iterable[Delivery]) -> dict[str, PairRow]:
    """The pair table the seed's user would have read after these records of ``data_mqtt``."""
    engine = Engine()
    engine.execute(SEED_STATEMENTS)
    windows: dict[tuple, bool] = {}
    for delivery in deliveries:
        for out in engine.process(Record(topic="data_mqtt", key=None,
                                         value=delivery.prediction.to_json(),
                                         timestamp=delivery.timestamp)):
            if out.topic != SMOOTHED_TOPIC:
                continue
            row = (out.key, out.window.start)
            if out.value is None:
                windows.pop(row, None)
            else:
                windows[row] = True
    return pair_rows(Counter(image for image, _start in windows))
