"""disac_ros.evaluation.estimates: the metrics of a bag's estimates against its ground truth, computed by hand."""
from __future__ import annotations

import math

import pytest
from bagtools import build_eval_bag, evaluate_bag


def test_evaluate_bag_matches_hand_computed_metrics(tmp_path):
    result = evaluate_bag(build_eval_bag(tmp_path / "eval"))
    # Matched pairs: (t=1.0, id 0), (t=1.0, id 1), (t=1.1, id 0).
    assert (result["matched"], result["unmatched_estimates"], result["missed_targets"]) == (3, 2, 1)
    assert (result["ground_truth_arrays"], result["estimate_arrays"], result["frames_without_estimate"]) == (3, 3, 1)
    assert result["accuracy"] == pytest.approx(2 / 3)
    assert result["mean_contributing_devices"] == pytest.approx(3.0)
    # distance errors 1, -2, 0 over true 10, 20, 10: 10 log10(5 / 600); RMSE sqrt(5 / 3)
    assert result["nmse_db_distance"] == pytest.approx(-20.7918, abs=1e-3)
    assert result["rmse_distance"] == pytest.approx(1.290994, abs=1e-5)
    # azimuth errors 0.1, 0, 0 over |true| 0.5: 10 log10(0.01 / 0.75)
    assert result["nmse_db_azimuth"] == pytest.approx(-18.7506, abs=1e-3)
    assert result["rmse_azimuth"] == pytest.approx(0.0577350, abs=1e-6)
    # pitch errors 0, 0.05, 0 over 0.1, 0.2, 0.1: 10 log10(0.0025 / 0.06)
    assert result["nmse_db_pitch"] == pytest.approx(-13.8021, abs=1e-3)
    assert result["rmse_pitch"] == pytest.approx(0.0288675, abs=1e-6)
    # velocity errors 0, 1, 0 over 1, -2, 1: 10 log10(1 / 6)
    assert result["nmse_db_radial_velocity"] == pytest.approx(-7.7815, abs=1e-3)
    assert result["rmse_radial_velocity"] == pytest.approx(0.577350, abs=1e-5)
    assert result["per_target"]["1"]["count"] == 1 and result["per_target"]["0"]["rmse_distance"] == \
        pytest.approx(math.sqrt(1 / 2))
