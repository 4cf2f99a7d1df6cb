"""Tests sharing a costly session fixture run on one xdist worker; the rest on any."""

from worker_groups import group_of


def test_a_test_using_the_stack_or_its_model_joins_the_stack_group():
    assert group_of({"tmp_path", "stack"}) == "stack"
    assert group_of({"sock_model"}) == "stack"


def test_a_test_using_two_families_joins_the_first_listed():
    assert group_of({"colour_model", "stack"}) == "stack"


def test_the_edge_models_and_the_tiny_training_are_groups_of_their_own():
    assert group_of({"efficientnet"}) == "edge-models"
    assert group_of({"tiny_training"}) == "tiny-training"


def test_a_test_with_no_shared_fixture_may_run_on_any_worker():
    assert group_of({"tmp_path", "mosquitto"}) is None
