"""disac_ros.live.checks: what a node receives (stamps, durations, codes) and what it publishes
(finite target states) is checked; each failure is a Dropped with its reason."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from disac_ros.live import checks
from disac_ros.live.drops import Dropped

NS = 1_000_000_000


def _reason(call) -> str:
    with pytest.raises(Dropped) as exc:
        call()
    return exc.value.reason


def _stamped(sec: int, nanosec: int = 0):
    return SimpleNamespace(header=SimpleNamespace(stamp=SimpleNamespace(sec=sec, nanosec=nanosec)))


def test_stamps_are_sim_times():
    assert checks.header_stamp(_stamped(3, 5)) == 3 * NS + 5
    assert _reason(lambda: checks.header_stamp(_stamped(-1))) == "invalid"
    assert _reason(lambda: checks.header_stamp(_stamped(3, NS))) == "invalid"


def test_durations():
    assert math.isnan(checks.duration(math.nan, "t")) and checks.duration(0.25, "t") == 0.25
    assert _reason(lambda: checks.duration(math.nan, "t", missing_ok=False)) == "nan"
    assert _reason(lambda: checks.duration(math.inf, "t")) == "nan"
    assert _reason(lambda: checks.duration(-1e-3, "t")) == "invalid"
    assert _reason(lambda: checks.duration(1e6, "t")) == "invalid"
    assert checks.duration(1e9, "t", maximum=math.inf) == 1e9


def test_code_layout():
    assert checks.code_layout(4, 8, 32, 0, 0) == 128 and checks.code_layout(4, 8, 32, 1, 64) == 64
    assert checks.code_layout(4, 8, 32, 0, 128) == 128
    for args, reason in (((1, 1, 1, 0, 0), "size"), ((1, 3, 3, 0, 0), "size"), ((0, 0, 0, 0, 0), "size"),
                         ((4, 8, 31, 0, 0), "size"), ((4, 8, 32, 2, 0), "invalid"), ((4, 8, 32, 0, 64), "size"),
                         ((1 << 12, 1 << 12, 1 << 24, 0, 0), "size")):
        assert _reason(lambda a=args: checks.code_layout(*a)) == reason, args


def test_code_dtypes_are_the_messages():
    pytest.importorskip("rclpy")
    from disac_ros.msg import SemanticCode

    assert checks.CODE_DTYPE_BYTES == {SemanticCode.DTYPE_FLOAT32: 4, SemanticCode.DTYPE_FLOAT16: 2}


def test_finite_states_and_arrays():
    def state(**fields):
        base = dict(target_id=1, distance=10.0, azimuth=0.1, pitch=0.0, radial_velocity=-1.0,
                    class_probabilities=[0.5, 0.5], distance_std=math.nan)
        return SimpleNamespace(**{**base, **fields})

    checks.finite_states([state(), state()])                      # NaN uncertainties are "none", not checked
    for bad in (dict(distance=math.nan), dict(azimuth=math.inf), dict(radial_velocity=-math.inf),
                dict(class_probabilities=[math.nan, 1.0])):
        with pytest.raises(Dropped, match="target 1") as exc:
            checks.finite_states([state(), state(**bad)])
        assert exc.value.reason == "nonfinite_output"
    assert _reason(lambda: checks.finite_states([state(pitch=math.nan)], reason="nan")) == "nan"
    assert checks.finite_array(np.ones(3), "x").shape == (3,)
    with pytest.raises(Dropped, match="1 of 3 values"):
        checks.finite_array(np.array([1.0, np.inf, 2.0]), "x")
