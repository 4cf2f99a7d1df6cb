"""Tests sharing a costly session fixture run on one xdist worker; the rest on any."""

from pathlib import Path

from worker_groups import group_of


def test_a_test_using_the_stack_or_its_model_joins_the_stack_group():
    assert group_of({"tmp_path", "stack"}, Path("test_x.py")) == "stack"
    assert group_of({"sock_model"}, Path("test_x.py")) == "stack"


def test_a_test_using_two_families_joins_the_first_listed():
    assert group_of({"colour_model", "stack"}, Path("test_x.py")) == "stack"


def test_the_edge_models_and_the_tiny_training_are_groups_of_their_own():
    assert group_of({"efficientnet"}, Path("test_x.py")) == "edge-models"
    assert group_of({"tiny_training"}, Path("test_x.py")) == "tiny-training"


def test_modules_filling_the_lambda_vendor_cache_share_one_group_whatever_their_fixtures():
    assert group_of(set(), Path("tests/edge_lambda/test_package_device_python.py")) == "edge-models"
    assert group_of({"mosquitto"}, Path("tests/edge_lambda/test_package_device_python.py")) == "edge-models"
    assert group_of({"colour_model"}, Path("tests/edge_lambda/test_lambda_zip.py")) == "edge-models"


def test_a_test_with_no_shared_fixture_may_run_on_any_worker():
    assert group_of({"tmp_path", "mosquitto"}, Path("test_x.py")) is None
