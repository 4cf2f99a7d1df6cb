"""--auto-train's rule on its own: train once per new dataset version, after a quiet spell."""

import threading
import time

from waiting import wait_until

from socksort.dashboard.teach.autotrain import AutoTrainer
from socksort.dashboard.teach.web import ApiError


class Dataset:
    def __init__(self, version="v1"):
        self.version = version
        self.started: list[str] = []
        self.busy = False
        self.refuse: ApiError | None = None
        self.called = threading.Event()

    def start(self, version):
        self.called.set()
        if self.refuse is not None:
            raise self.refuse
        self.started.append(version)
        return version


def run(dataset: Dataset, trained=None, quiet=0.2) -> AutoTrainer:
    auto = AutoTrainer(lambda: dataset.version, dataset.start, lambda: dataset.busy, trained=trained, quiet=quiet)
    auto.start()
    return auto


def test_a_new_version_is_trained_once_it_has_stayed_the_same():
    dataset = Dataset("v1")
    auto = run(dataset)
    try:
        assert wait_until(lambda: dataset.started == ["v1"])
        dataset.version = "v2"
        assert wait_until(lambda: dataset.started == ["v1", "v2"])
    finally:
        auto.stop()


def test_a_version_already_trained_is_not_trained_again():
    dataset = Dataset("v1")
    auto = run(dataset, trained="v1")
    try:
        dataset.version = "v2"   # a change proves the loop looks; v1 itself never starts a job
        assert wait_until(lambda: dataset.started == ["v2"])
        dataset.version = "v1"
        assert wait_until(lambda: dataset.started == ["v2", "v1"])
    finally:
        auto.stop()


def test_nothing_starts_while_uploads_keep_changing_the_version():
    dataset = Dataset("v0")
    auto = run(dataset, quiet=60)
    stop = threading.Event()

    def uploads():
        n = 0
        while not stop.is_set():
            n += 1
            dataset.version = f"v{n}"
            time.sleep(0.1)

    uploader = threading.Thread(target=uploads)
    uploader.start()
    try:
        # Ten looks of the loop with the version moving under it: no job.
        assert not wait_until(lambda: dataset.started, timeout=5)
    finally:
        stop.set()
        uploader.join()
        auto.stop()


def test_nothing_starts_while_a_job_runs_and_it_starts_after():
    dataset = Dataset("v1")
    dataset.busy = True
    auto = run(dataset)
    try:
        assert not wait_until(lambda: dataset.started, timeout=2)
        dataset.busy = False
        assert wait_until(lambda: dataset.started == ["v1"])
    finally:
        auto.stop()


def test_a_dataset_that_cannot_train_waits_for_the_next_change():
    dataset = Dataset("v1")
    dataset.refuse = ApiError(400, "class 'red' has 1 photo; training needs at least 2 per class")
    auto = run(dataset)
    try:
        assert wait_until(lambda: auto.skipped == "v1")
        assert "'red'" in auto.to_dict()["waiting_reason"]
        dataset.refuse = None
        dataset.version = "v2"
        assert wait_until(lambda: dataset.started == ["v2"])
        assert auto.skipped is None
    finally:
        auto.stop()
