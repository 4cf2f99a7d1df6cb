"""`socksort stack up` makes the topics of the thin cameras and their workers (issue 17)."""

from __future__ import annotations

import pytest

from socksort import contract

pytestmark = pytest.mark.broker


def test_stack_up_creates_camera_frames_with_six_partitions_and_the_worker_error_topic(stack):
    from confluent_kafka.admin import AdminClient

    topics = AdminClient({"bootstrap.servers": stack.bootstrap_servers}).list_topics(timeout=10).topics
    assert len(topics[contract.CAMERA_FRAMES].partitions) == 6
    assert len(topics[contract.WORKER_ERRORS_TOPIC].partitions) == 1
