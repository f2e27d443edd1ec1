"""disac_ros.evaluation.analysis: intervals per subset and seed, paired rows on the same samples, the targets."""
from __future__ import annotations

import numpy as np
import pytest

from disac_ros.evaluation import analysis
from disac_ros.evaluation.samples import Scored


def scored(err_scale: float, correct: float, seed: int, n_seq: int = 20, per_seq: int = 6) -> Scored:
    rng = np.random.default_rng(seed)
    m = n_seq * per_seq
    keys = np.stack([np.repeat(np.arange(n_seq), per_seq), np.zeros(m, int), np.tile(np.arange(per_seq), n_seq),
                     np.zeros(m, int)], axis=1)
    true = rng.uniform(0, 1, (m, 4))
    pred = true + err_scale * rng.standard_normal((m, 4))
    class_id = rng.integers(0, 3, m)
    pred_class = np.where(rng.uniform(size=m) < correct, class_id, (class_id + 1) % 3)
    blocked = np.tile(np.arange(per_seq) < 2, n_seq)
    return Scored(keys, pred, true, pred_class, class_id, blocked)


def test_scheme_summary_subsets_and_seeds():
    runs = {0: scored(1.0, 0.8, 0), 1: scored(1.0, 0.8, 1)}
    summary = analysis.scheme_summary(runs)
    assert summary["seeds"] == [0, 1] and summary["sequences"] == 20
    blocked = summary["pooled"]["center_blocked"]["accuracy"]
    assert blocked["samples"] == 40 and blocked["groups"] == 20
    pooled = summary["pooled"]["all"]["rmse_distance"]["mean"]
    per_seed = [summary["per_seed"][s]["all"]["rmse_distance"]["mean"] for s in ("0", "1")]
    assert pooled == pytest.approx(np.mean(per_seed))


def test_paired_difference_tells_a_better_row_apart_and_refuses_other_samples():
    good, bad = {0: scored(0.1, 0.95, 0)}, {0: scored(1.0, 0.5, 0)}
    d = analysis.paired(good, bad)["all"]
    assert d["rmse_distance"]["high"] < 0 and d["accuracy"]["low"] > 0
    other = scored(1.0, 0.5, 0, n_seq=10)
    with pytest.raises(ValueError, match="same samples"):
        analysis.paired(good, {0: other})


def test_targets_read_the_summary():
    rows = {"sm-sd-rf": {0: scored(1.0, 0.80, 0)}, "mm-sd": {0: scored(0.9, 0.85, 1)},
            "llm-disac": {0: scored(0.1, 0.97, 2)}}
    classical = {"single": scored(0.5, 0.8, 3), "fusion": scored(0.05, 0.99, 4)}
    summary = analysis.summarize(rows, classical, None, [("mm-sd", "sm-sd-rf"), ("llm-disac", "mm-sd"),
                                                          ("llm-disac", "classical-fusion")], 20.0)
    verdicts = {v["target"]: v for v in analysis.target_verdicts(summary)}
    assert verdicts["SM-SD (RF) accuracy between 70 and 92 %"]["met"] is True
    assert verdicts["LLM-DiSAC at least 5 points above MM-SD, paired interval excluding zero"]["met"] is True
    assert verdicts["LLM-DiSAC at least as accurate as the classical multi-device fusion"]["met"] is False
    assert verdicts["the lossless channel at least as good as the noisy one within its interval"]["met"] is None
