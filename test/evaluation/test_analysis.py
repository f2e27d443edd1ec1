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


def test_sufficient_statistics_reproduce_the_summary_and_round_trip(tmp_path):
    rows = {"sm-sd-rf": {0: scored(1.0, 0.80, 0)}, "mm-sd": {0: scored(0.9, 0.70, 1), 1: scored(0.9, 0.75, 5)},
            "llm-disac": {0: scored(0.1, 0.97, 2), 1: scored(0.2, 0.90, 6)},
            "llm-disac (no prompt)": {0: scored(0.3, 0.85, 7)}}
    classical = {"single": scored(0.5, 0.8, 3), "fusion": scored(0.05, 0.99, 4)}
    pairs = [("llm-disac", "mm-sd"), ("llm-disac (no prompt)", "llm-disac"), ("mm-sd", "sm-sd-rf")]
    summary = analysis.summarize(rows, classical, None, pairs, 20.0)
    stats = analysis.SequenceStats.of({**rows, **{f"classical-{k}": {0: v} for k, v in classical.items()}},
                                      snr_db=20.0)
    path = analysis.write_per_sequence(stats, tmp_path / analysis.PER_SEQUENCE_FILE)
    again = analysis.summarize_stats(analysis.read_per_sequence(path), None, pairs)
    assert again == summary  # the committed file alone gives the same summary, intervals and all
    # what the summary says its intervals hold
    assert summary["per_sequence"] == analysis.PER_SEQUENCE_FILE
    assert summary["schemes"]["llm-disac"]["interval"] == "seeds+sequences"
    assert summary["schemes"]["sm-sd-rf"]["interval"] == "sequences"
    assert summary["schemes"]["llm-disac"]["pooled"]["all"]["accuracy"]["covers"] == "seeds+sequences"
    assert summary["schemes"]["llm-disac"]["per_seed"]["0"]["all"]["accuracy"]["covers"] == "sequences"
    # different trainings: seeds drawn independently; the same models (a prompt ablation): their common seeds, once
    assert summary["paired_seeds"]["llm-disac - mm-sd"] == {"a": [0, 1], "b": [0, 1], "draw": "independent",
                                                           "interval": "seeds+sequences"}
    assert summary["paired_seeds"]["llm-disac (no prompt) - llm-disac"] == {"a": [0], "b": [0], "draw": "paired",
                                                                          "interval": "sequences"}
    d = summary["paired"]["llm-disac (no prompt) - llm-disac"]["all"]["accuracy"]
    one = analysis.paired({0: rows["llm-disac (no prompt)"][0]}, {0: rows["llm-disac"][0]})["all"]["accuracy"]
    assert (d["mean"], d["low"], d["high"]) == (one["mean"], one["low"], one["high"])
    # the cells: every sample in one, the subsets' sample counts as the samples say
    assert int(stats.cells.samples.sum()) == len(rows["sm-sd-rf"][0])
    blocked = summary["schemes"]["sm-sd-rf"]["pooled"]["center_blocked"]["accuracy"]
    assert blocked["samples"] == int(np.sum(rows["sm-sd-rf"][0].blocked))
    with pytest.raises(ValueError, match="same samples"):
        analysis.SequenceStats.of({"a": {0: scored(1.0, 0.5, 0)}, "b": {0: scored(1.0, 0.5, 0, n_seq=10)}})


def test_two_seed_rows_widen_their_pooled_interval():
    # two seeds far apart: the seed-resampled interval must reach beyond the sequence-only pooled one
    runs = {0: scored(1.0, 0.60, 0), 1: scored(1.0, 0.95, 1)}
    summary = analysis.scheme_summary(runs)
    pooled = summary["pooled"]["all"]["accuracy"]
    per_seed = [summary["per_seed"][s]["all"]["accuracy"]["mean"] for s in ("0", "1")]
    assert pooled["low"] < min(per_seed) + 0.02 and pooled["high"] > max(per_seed) - 0.02
