"""disac_ros.evaluation.estimates: the metrics of a bag's estimates against its ground truth, computed by hand."""
from __future__ import annotations

import math

import numpy as np
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


def test_live_rows_are_grouped_by_sequence_and_set_beside_a_reference():
    from disac_ros.evaluation.analysis import compare_to_reference
    from disac_ros.evaluation.estimates import scored_rows

    rng = np.random.default_rng(0)
    rows = [{"stamp_s": 0.4 * f + 2.0 * s, "target_id": n, "pred_class": n, "true_class": n if f else (n + 1) % 3,
             "pred": list(10 + rng.normal(size=4)), "true": [10.0, 0.0, 0.0, 0.0]}
            for s in range(8) for f in range(5) for n in range(3)]
    live = scored_rows(rows, 2.0)
    assert len(live) == 120 and sorted(set(live.sequence)) == list(range(8))
    assert len(np.unique(live.keys[:, [0, 2]], axis=0)) == 40          # 8 sequences x 5 frames
    assert live.correct().mean() == 0.8                                 # the first frame of each is wrong
    same = compare_to_reference(live, live)
    assert all(row["within"] and row["by"] == 0 for row in same.values())
    assert abs(same["accuracy"]["value"]["mean"] - 0.8) < 1e-12 and same["accuracy"]["value"]["groups"] == 8
    worse = scored_rows([{**r, "pred": [p + 5 for p in r["pred"]]} for r in rows], 2.0)
    far = compare_to_reference(worse, live)["rmse_distance"]
    assert not far["within"] and far["by"] > 3 and far["value"]["mean"] > far["reference"]["high"]
