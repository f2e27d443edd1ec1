"""disac_ros.evaluation.statistics: group (sequence) bootstrap intervals of RMSE, accuracy and means, checked against
hand-enumerated bootstrap distributions, the plain statistics, exact zeros for identical schemes, the same resample
for paired schemes and seeds, determinism, coverage under correlated frames, and input validation."""
from __future__ import annotations

import math

import numpy as np
import pytest

from disac_ros.evaluation import statistics as st

# two groups: a replicate draws (A, A), (A, B) or (B, B) with probabilities 1/4, 1/2, 1/4
ERRORS = np.array([1.0, -1.0, 3.0])                  # A: squared errors 1 + 1 over 2 frames, B: 9 over 1
GROUPS = np.array(["seq0", "seq0", "seq1"])
MIDDLE = math.sqrt(11 / 3)                             # rmse of (A, B), also the full sample's


def test_two_groups_rmse_hand_enumerated():
    # atoms: AA -> 1, AB -> sqrt(11/3), BB -> 3
    wide = st.rmse_interval(ERRORS, GROUPS)
    assert wide.mean == pytest.approx(MIDDLE, rel=1e-12)
    assert (wide.low, wide.high) == (pytest.approx(1.0), pytest.approx(3.0))
    assert (wide.samples, wide.groups) == (3, 2)
    # quantiles 0.3 / 0.7 fall in the middle atom (mass 1/2), quantiles 0.2 / 0.8 in the outer ones (mass 1/4 each)
    narrow = st.rmse_interval(ERRORS, GROUPS, level=0.4)
    assert (narrow.low, narrow.high) == (pytest.approx(MIDDLE), pytest.approx(MIDDLE))
    outer = st.rmse_interval(ERRORS, GROUPS, level=0.6)
    assert (outer.low, outer.high) == (pytest.approx(1.0), pytest.approx(3.0))


def test_two_groups_accuracy_and_mean_hand_enumerated():
    correct = np.array([True, True, True, True, False])
    groups = np.array([0, 0, 0, 1, 1])
    # atoms: AA -> 1, AB -> 4/5, BB -> 1/2
    acc = st.accuracy_interval(correct, groups)
    assert acc.mean == pytest.approx(0.8) and (acc.low, acc.high) == (pytest.approx(0.5), pytest.approx(1.0))
    assert st.accuracy_interval(correct.astype(int), groups) == acc
    values = np.array([2.0, 4.0, 6.0, 10.0, 20.0])     # A: mean 4 over 3 frames, B: 15 over 2
    m = st.mean_interval(values, groups)
    assert m.mean == pytest.approx(8.4) and (m.low, m.high) == (pytest.approx(4.0), pytest.approx(15.0))
    assert st.mean_interval(values, groups, level=0.4).low == pytest.approx(8.4)   # AB: (12 + 30) / 5


def test_equal_groups_collapse_to_the_value():
    errors = np.tile([1.0, -3.0], 6)                   # 6 groups, each with squared errors 1 and 9
    interval = st.rmse_interval(errors, np.repeat(np.arange(6), 2))
    for value in (interval.mean, interval.low, interval.high):
        assert value == pytest.approx(math.sqrt(5), abs=1e-12)
    one = st.accuracy_interval([True, False, True], [7, 7, 7])         # one group: every replicate is the sample
    assert one.low == one.high == one.mean == pytest.approx(2 / 3) and one.groups == 1


def test_mean_is_the_plain_statistic_on_the_full_sample():
    rng = np.random.default_rng(1)
    groups = rng.integers(0, 15, 200)
    errors = rng.normal(0.0, 2.0, 200) + rng.normal(0.0, 1.0, 15)[groups]
    correct = rng.random(200) < 0.7
    r = st.rmse_interval(errors, groups)
    assert r.mean == pytest.approx(np.sqrt(np.mean(errors**2)), rel=1e-12) and r.low < r.mean < r.high
    a = st.accuracy_interval(correct, groups)
    assert a.mean == pytest.approx(correct.mean(), rel=1e-12) and a.low < a.mean < a.high
    m = st.mean_interval(errors, groups)
    assert m.mean == pytest.approx(errors.mean(), rel=1e-12) and m.low < m.mean < m.high
    assert r.as_dict() == {"mean": r.mean, "low": r.low, "high": r.high, "samples": 200, "groups": 15}


def test_paired_difference_of_identical_schemes_is_exactly_zero():
    rng = np.random.default_rng(2)
    groups = np.repeat(np.arange(12), 9)
    errors = rng.normal(size=groups.size)
    correct = rng.random(groups.size) < 0.5
    for kind, x in (("rmse", errors), ("accuracy", correct), ("mean", errors)):
        d = st.paired_difference(kind, x, x.copy(), groups)
        assert (d.mean, d.low, d.high) == (0.0, 0.0, 0.0), kind
        d = st.paired_pooled_difference(kind, [x, x], [x.copy(), x.copy()], groups)
        assert (d.mean, d.low, d.high) == (0.0, 0.0, 0.0), kind


def test_clearly_better_scheme_excludes_zero():
    rng = np.random.default_rng(3)
    groups = np.repeat(np.arange(20), 10)
    shared = rng.normal(0.0, 1.0, 20)[groups]          # sequence-level difficulty both schemes see
    a = shared + rng.normal(0.0, 1.0, groups.size)
    b = 2 * shared + rng.normal(0.0, 2.0, groups.size)
    d = st.paired_difference("rmse", a, b, groups)
    assert d.mean == pytest.approx(np.sqrt(np.mean(a**2)) - np.sqrt(np.mean(b**2)))
    assert d.low < d.mean < d.high < 0
    good, poor = rng.random(groups.size) < 0.9, rng.random(groups.size) < 0.6
    d = st.paired_difference("accuracy", good, poor, groups)
    assert 0 < d.low < d.mean < d.high
    assert d.mean == pytest.approx(good.mean() - poor.mean())


def test_the_same_resample_serves_every_seed():
    # seeds on the two-group case: AA -> (1 + 2) / 2, BB -> (3 + 0) / 2, AB -> (sqrt(11/3) + sqrt(8/3)) / 2;
    # resampling the seeds independently would reach (1 + 0) / 2 = 0.5
    second = np.array([2.0, 2.0, 0.0])
    p = st.pooled_interval("rmse", [ERRORS, second], GROUPS)
    mixed = (MIDDLE + math.sqrt(8 / 3)) / 2
    assert p.mean == pytest.approx(mixed)
    assert (p.low, p.high) == (pytest.approx(1.5), pytest.approx(mixed))
    # with copies of one seed, or a single seed, it is the single-scheme interval
    assert st.pooled_interval("rmse", [ERRORS, ERRORS], GROUPS) == st.rmse_interval(ERRORS, GROUPS)
    assert st.pooled_interval("accuracy", [[1, 0, 1]], GROUPS) == st.accuracy_interval([1, 0, 1], GROUPS)
    rng = np.random.default_rng(4)
    groups = np.repeat(np.arange(10), 5)
    a, b = rng.normal(size=50), rng.normal(size=50) * 2
    assert st.paired_pooled_difference("rmse", [a], [b], groups) == st.paired_difference("rmse", a, b, groups)
    # the pooled statistic is the mean over seeds of each seed's statistic
    seeds = [rng.normal(size=50) * s for s in (1.0, 2.0, 3.0)]
    pooled = st.pooled_interval("rmse", seeds, groups)
    assert pooled.mean == pytest.approx(np.mean([np.sqrt(np.mean(e**2)) for e in seeds]), rel=1e-12)
    diff = st.paired_pooled_difference("rmse", seeds, [b, a], groups)
    assert diff.mean == pytest.approx(pooled.mean - np.mean([np.sqrt(np.mean(e**2)) for e in (a, b)]), rel=1e-12)


def test_deterministic_with_the_seed():
    rng = np.random.default_rng(5)
    groups = rng.integers(0, 8, 80)
    errors = rng.normal(size=80)
    assert st.rmse_interval(errors, groups, seed=11) == st.rmse_interval(errors, groups, seed=11)
    assert st.rmse_interval(errors, groups, seed=11) != st.rmse_interval(errors, groups, seed=12)
    assert (st.rmse_interval(errors, groups, seed=np.random.default_rng(11))
            == st.rmse_interval(errors, groups, seed=11))


def test_group_bootstrap_covers_the_mean_under_correlated_frames():
    # 30 sequences of 10 frames with a sequence effect as large as the frame noise: the true standard error is
    # sqrt(1/30 + 1/300) ~ 0.19; a frame-level bootstrap would report ~0.08 and cover ~60 %, the group one ~93 %
    rng = np.random.default_rng(6)
    groups = np.repeat(np.arange(30), 10)
    covered = 0
    for _ in range(200):
        values = rng.normal(0.0, 1.0, 30)[groups] + rng.normal(0.0, 1.0, groups.size)
        interval = st.mean_interval(values, groups, n_boot=400, seed=rng)
        covered += interval.low <= 0.0 <= interval.high
    assert 0.85 <= covered / 200 <= 0.99


def test_rejects_bad_inputs():
    with pytest.raises(ValueError, match="groups"):
        st.rmse_interval(np.zeros(5), np.zeros(4))
    with pytest.raises(ValueError, match="same samples"):
        st.paired_difference("rmse", np.zeros(5), np.zeros(4), np.zeros(5))
    with pytest.raises(ValueError, match="same samples"):
        st.pooled_interval("rmse", [np.zeros(5), np.zeros(4)], np.zeros(5))
    with pytest.raises(ValueError, match="same samples"):
        st.paired_pooled_difference("accuracy", [np.ones(5)], [np.ones(4)], np.zeros(5))
    with pytest.raises(ValueError, match="groups"):
        st.pooled_interval("rmse", [np.zeros(5)], np.zeros(4))
    with pytest.raises(ValueError, match="kind"):
        st.paired_difference("nmse", np.zeros(3), np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="accuracy"):
        st.accuracy_interval([0.5, 1.0], [0, 1])
    with pytest.raises(ValueError, match="non-finite"):
        st.rmse_interval([1.0, np.nan], [0, 1])
    with pytest.raises(ValueError, match="no samples"):
        st.mean_interval([], [])
    with pytest.raises(ValueError, match="at least one"):
        st.pooled_interval("rmse", [], [0])
    with pytest.raises(ValueError, match="level"):
        st.rmse_interval([1.0], [0], level=1.0)
