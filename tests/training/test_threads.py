"""Training's thread settings: every core by default, set before MXNet loads, user values win."""

import os
import subprocess
import sys

import pytest

from socksort.errors import UserError
from socksort.training import threads


def test_by_default_openmp_gets_every_usable_core_and_waits_passively():
    env = {}
    chosen = threads.configure(env, modules={}, cores=2)
    assert env == {"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": "PASSIVE", "MXNET_CPU_WORKER_NTHREADS": "1"}
    assert chosen.applied == env and not chosen.mxnet_loaded


def test_a_number_of_threads_can_be_asked_for():
    env = {threads.ENV: "3"}
    threads.configure(env, modules={}, cores=2)
    assert env["OMP_NUM_THREADS"] == "3"


def test_mxnet_keeps_its_own_default_when_asked_the_old_threading():
    env = {threads.ENV: "mxnet"}
    chosen = threads.configure(env, modules={}, cores=2)
    assert env == {threads.ENV: "mxnet"} and chosen.settings == {}


def test_values_already_in_the_environment_win():
    env = {"OMP_NUM_THREADS": "1"}
    chosen = threads.configure(env, modules={}, cores=2)
    assert env["OMP_NUM_THREADS"] == "1"
    assert "OMP_NUM_THREADS" not in chosen.applied and chosen.applied["OMP_WAIT_POLICY"] == "PASSIVE"


def test_nothing_is_set_once_mxnet_is_loaded():
    env = {}
    chosen = threads.configure(env, modules={"mxnet": object()}, cores=2)
    assert env == {} and chosen.mxnet_loaded and chosen.settings["OMP_NUM_THREADS"] == "2"


@pytest.mark.parametrize("value", ["0", "-2", "many"])
def test_a_bad_thread_count_is_named(value):
    with pytest.raises(UserError, match=threads.ENV):
        threads.configure({threads.ENV: value}, modules={}, cores=2)


def test_checking_a_training_config_sets_the_threads_before_it_loads_mxnet():
    # Every training path (fit, fit_records, a photo folder's training) validates first,
    # and validating imports the backbone's module, which loads MXNet.
    probe = ("import os, sys\n"
             "from socksort.training import train\n"
             "assert 'mxnet' not in sys.modules\n"
             "train.TrainConfig().validate()\n"
             "assert 'mxnet' in sys.modules\n"
             "print(os.environ.get('OMP_NUM_THREADS'), os.environ.get('OMP_WAIT_POLICY'))\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "MXNET_CPU_"))}
    result = subprocess.run([sys.executable, "-c", probe], env={**env, threads.ENV: "3"},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["3", "PASSIVE"]
