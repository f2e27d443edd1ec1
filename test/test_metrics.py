"""disac_ros.metrics: the metric conventions (NMSE in dB, RMSE, accuracy) on hand-computed values."""
from __future__ import annotations

import math

import numpy as np
import pytest
from evaltools import KEYS, PARAMS

from disac_ros import metrics


def test_nmse_db_convention_is_ten_log10_of_the_energy_ratio():
    # errors 0.1 and 0.2 on values 1 and 2: sum e^2 = 0.05, sum x^2 = 5, ratio 0.01 -> -20 dB (10 log10, not 20)
    assert metrics.nmse_db([1.1, 2.2], [1.0, 2.0]) == pytest.approx(-20.0)
    assert metrics.nmse_db([2.0, 4.0], [1.0, 2.0]) == pytest.approx(0.0)        # error as large as the signal
    assert metrics.rmse([1.1, 2.2], [1.0, 2.0]) == pytest.approx(math.sqrt(0.025))
    assert metrics.accuracy([0, 1, 2, 2], [0, 1, 1, 2]) == 0.75


def test_metrics_on_normalised_and_si_values():
    offset, scale = np.array([0.0, -math.pi, -math.pi / 2, -10.0]), np.array([84.85, 2 * math.pi, math.pi, 20.0])
    true = np.array([[0.2, 0.5, 0.4, 0.5], [0.4, 0.25, 0.6, 0.75]])
    pred = true + np.array([[0.01, -0.02, 0.0, 0.05], [-0.01, 0.02, 0.01, -0.05]])
    logits = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 3.0]])
    both = metrics.sensing_metrics_both(pred, true, logits, np.array([0, 1]), offset, scale)
    assert set(both) == {"normalised", "si"} and set(both["normalised"]) == KEYS == set(both["si"])
    for j, p in enumerate(PARAMS):  # RMSE scales with the normalisation scale, the offset cancels
        assert both["si"][f"rmse_{p}"] == pytest.approx(scale[j] * both["normalised"][f"rmse_{p}"])
    # distance has no offset, so its NMSE is the same on both scales; 0.01 errors on 0.2 and 0.4 -> 10 log10(2e-4/0.2)
    assert both["si"]["nmse_db_distance"] == pytest.approx(both["normalised"]["nmse_db_distance"])
    assert both["normalised"]["nmse_db_distance"] == pytest.approx(10 * math.log10(2e-4 / 0.2))
    assert both["normalised"]["accuracy"] == both["si"]["accuracy"] == 0.5
    assert metrics.better("accuracy", 0.9, 0.8) and metrics.better("nmse_db_pitch", -20.0, -10.0)
