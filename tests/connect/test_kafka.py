"""The Kafka launcher's pieces that need no running broker."""

from __future__ import annotations

import base64

from socksort.stack.kafka import Kafka, new_cluster_id


def test_cluster_ids_are_16_bytes_and_never_look_like_an_option():
    for _ in range(2000):  # about 1 in 64 raw ids would start with '-'
        cluster_id = new_cluster_id()
        assert not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_broker_and_controller_listen_on_the_given_ports_only(tmp_path):
    props = Kafka(tmp_path, port=19092, controller_port=19093).properties()
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["transaction.state.log.replication.factor"] == 1
