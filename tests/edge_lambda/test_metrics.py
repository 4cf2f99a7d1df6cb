"""/metrics: the Prometheus text of one status snapshot and the loop's stage timings."""

from socksort.edge_lambda.metrics import StageTimes, prometheus_text
from socksort.edge_lambda.status import CameraStatus, EdgeStatus, OutputStatus


def snapshot(camera_up=True, outputs=()):
    camera = CameraStatus(state="live" if camera_up else "lost", source="0", frames=120, dropped=3, reopens=2,
                          error="", up=camera_up)
    return EdgeStatus(device="cam-1", backbone="b", runtime="onnx", camera=camera, fps=12.5,
                      uptime_seconds=10.0, classified=117, latest=None, outputs=tuple(outputs))


def samples(text: str) -> dict[str, float]:
    return {name: float(value) for name, value in
            (line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))}


def test_frame_counters_and_the_camera_gauge_come_from_the_snapshot():
    found = samples(prometheus_text(snapshot(camera_up=False), StageTimes()))
    assert found["socksort_edge_frames_captured_total"] == 120
    assert found["socksort_edge_frames_dropped_total"] == 3
    assert found["socksort_edge_frames_classified_total"] == 117
    assert found["socksort_edge_camera_up"] == 0
    assert found["socksort_edge_camera_reopens_total"] == 2
    assert found["socksort_edge_fps"] == 12.5


def test_each_output_gets_its_own_labelled_samples():
    outputs = [OutputStatus("mqtt", "connected", 100, 2, 0, 1, ""),
               OutputStatus("greengrass", "offline", 40, 60, 5, 0, "no IPC")]
    found = samples(prometheus_text(snapshot(outputs=outputs), StageTimes()))
    assert found['socksort_edge_published_total{output="mqtt"}'] == 100
    assert found['socksort_edge_publish_pending{output="greengrass"}'] == 60
    assert found['socksort_edge_publish_dropped_total{output="greengrass"}'] == 5
    assert found['socksort_edge_publish_errors_total{output="mqtt"}'] == 1
    assert found['socksort_edge_output_connected{output="mqtt"}'] == 1
    assert found['socksort_edge_output_connected{output="greengrass"}'] == 0


def test_inference_quantiles_sum_and_count_come_from_the_timings():
    times = StageTimes()
    for ms in range(1, 101):          # 1 ms .. 100 ms
        times.add("inference", ms / 1000)
    found = samples(prometheus_text(snapshot(), times))
    assert found['socksort_edge_inference_ms{quantile="0.5"}'] == 51      # the 51st of 100, sorted
    assert found['socksort_edge_inference_ms{quantile="0.99"}'] == 100
    assert abs(found["socksort_edge_inference_ms_sum"] - 5050) < 1e-6
    assert found["socksort_edge_inference_ms_count"] == 100


def test_no_timings_yet_means_no_quantile_samples_but_zero_counts():
    found = samples(prometheus_text(snapshot(), StageTimes()))
    assert not any("quantile=" in name for name in found)
    assert found["socksort_edge_inference_ms_count"] == 0
    assert found['socksort_edge_stage_ms_count{stage="encode"}'] == 0
