"""disac_ros.live.drops: the drop log throttles per reason, and conversion errors map to drop reasons."""
from __future__ import annotations

import pytest
from livetools import FakeClock

from disac_ros.live.drops import DropLog, classify_error


def test_drop_log_throttles_per_reason():
    clock = FakeClock()
    drops = DropLog(period_s=5.0, clock=clock)
    assert drops.drop("nan") and not drops.drop("nan") and drops.drop("stale")
    clock.t += 5.0
    assert drops.drop("nan") and drops.counts["nan"] == 3
    assert drops.summary() == "nan 3, stale 1"


@pytest.mark.parametrize("message, reason", [
    ("image encoding 'mono8' not supported; expected one of ('rgb8', 'bgr8')", "encoding"),
    ("image is 32x32, expected 64x64", "size"),
    ("echo of device_1/0 contains NaN or inf samples", "nan"),
    ("image must be uint8 [64, 64, 3], got uint8 [32, 32, 3]", "size"),
])
def test_conversion_errors_map_to_drop_reasons(message, reason):
    assert classify_error(message) == reason
