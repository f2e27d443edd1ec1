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


def test_a_guarded_callback_counts_what_it_did_not_anticipate():
    from disac_ros.live.drops import DROP_REASONS, Dropped, guarded

    class Node:
        def __init__(self):
            self.drops, self.logged = DropLog(clock=FakeClock()), []
            self.drops.logger = type("Logger", (), {"warning": lambda _, text: self.logged.append(text)})()

        @guarded
        def on_message(self, value):
            if value == "dropped":
                raise Dropped("stale", "old")
            return 1 / value

    node = Node()
    assert node.on_message(4) == 0.25
    assert node.on_message(0) is None and node.on_message("x") is None and node.on_message("dropped") is None
    assert dict(node.drops.counts) == {"unexpected": 2, "stale": 1}
    assert "on_message: ZeroDivisionError: division by zero at test_drops.py:" in node.logged[0]
    assert len(node.logged) == 2                                    # throttled per reason
    assert "nonfinite_output" in DROP_REASONS and node.on_message.__name__ == "on_message"
