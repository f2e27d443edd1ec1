"""disac_ros.live.timing: the execution time of Eq. (14) and the per-stage timers."""
from __future__ import annotations

import math

import pytest

from disac_ros.live.timing import StageTimes, execution_time, module_timer


def test_execution_time_is_the_slowest_device_eq_14():
    t, who = execution_time({
        "device_0": {"feature_extraction": 0.02, "aggregation": 0.001},
        "device_1": {"feature_extraction": 0.02, "encoding": 0.001, "transmission": 0.3, "decoding": 0.01,
                     "aggregation": 0.001},
        "device_2": {"feature_extraction": 0.02, "encoding": 0.001, "transmission": math.nan, "decoding": 0.01},
    })
    assert who == "device_1" and t == pytest.approx(0.332)
    times = StageTimes()
    for v in (0.01, 0.02, 0.03):
        times.add("decoding", v)
    assert times.last("decoding") == 0.03 and times.percentile("decoding", 50) == pytest.approx(0.02)
    assert "decoding 20.0/" in times.summary()


def test_module_timer_measures_forward_calls():
    torch = pytest.importorskip("torch")
    times = StageTimes()
    layer = torch.nn.Linear(3, 3)
    module_timer(layer, times, "encoding")
    layer(torch.zeros(1, 3))
    layer(torch.zeros(1, 3))
    assert times.count("encoding") == 2 and times.last("encoding") > 0
