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


def bounds(interval: st.Interval) -> tuple[float, float, float]:
    return interval.mean, interval.low, interval.high


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
    assert r.as_dict() == {"mean": r.mean, "low": r.low, "high": r.high, "samples": 200, "groups": 15,
                           "seeds": [1], "covers": "sequences"}


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
    assert bounds(st.pooled_interval("rmse", [ERRORS, ERRORS], GROUPS)) == bounds(st.rmse_interval(ERRORS, GROUPS))
    assert st.pooled_interval("accuracy", [[1, 0, 1]], GROUPS) == st.accuracy_interval([1, 0, 1], GROUPS)
    rng = np.random.default_rng(4)
    groups = np.repeat(np.arange(10), 5)
    a, b = rng.normal(size=50), rng.normal(size=50) * 2
    assert bounds(st.paired_pooled_difference("rmse", [a], [b], groups)) == \
        bounds(st.paired_difference("rmse", a, b, groups))
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


# --- the two-level bootstrap over seeds and sequences -----------------------------------------------------------

# Two seeds x two sequences of two frames each. Accuracy of seed 1: 1 on sequence A, 1/2 on B; of seed 2: 1/2 on A,
# 0 on B. A replicate draws the sequences (AA, AB, BB with probabilities 1/4, 1/2, 1/4) and, independently, the
# seeds (11, 12, 22 with 1/4, 1/2, 1/4); its value is the mean over the drawn seeds of each one's accuracy on the
# drawn sequences:
#            seeds 11   12     22
#   AA (1/4)     1      3/4    1/2
#   AB (1/2)     3/4    1/2    1/4
#   BB (1/4)     1/2    1/4    0
# so the distribution is 0: 1/16, 1/4: 1/4, 1/2: 3/8, 3/4: 1/4, 1: 1/16 (mean 1/2, variance 1/16), against
# 1/4, 1/2, 3/4 with 1/4, 1/2, 1/4 (variance 1/32) when every replicate keeps both seeds.
TWO_SEEDS = [np.array([1, 1, 1, 0]), np.array([1, 0, 0, 0])]
TWO_GROUPS = np.array([0, 0, 1, 1])
HAND = {0.0: 1 / 16, 0.25: 1 / 4, 0.5: 3 / 8, 0.75: 1 / 4, 1.0: 1 / 16}


def test_two_seed_hierarchical_bootstrap_matches_the_hand_computation():
    n = 40_000
    stats = st.GroupStats.from_samples("accuracy", TWO_SEEDS, TWO_GROUPS)
    assert stats.counts.tolist() == [2, 2] and stats.sums.tolist() == [[2, 1], [1, 0]]
    # the replicates, drawn as the function draws them (group counts, then seed counts), and their values
    rng = np.random.default_rng(7)
    w = rng.multinomial(2, [0.5, 0.5], size=n)
    u = rng.multinomial(2, [0.5, 0.5], size=n)
    per_seed = (w @ stats.sums.T) / (w @ stats.counts)[:, None]
    values = (u * per_seed).sum(axis=1) / 2
    freq = {x: float(np.mean(np.isclose(values, x))) for x in HAND}
    for x, p in HAND.items():  # each atom's frequency within 5 standard errors of its hand-computed probability
        assert abs(freq[x] - p) < 5 * math.sqrt(p * (1 - p) / n), (x, freq[x], p)
    assert values.mean() == pytest.approx(0.5, abs=0.01) and values.var() == pytest.approx(1 / 16, rel=0.05)
    # the function: the same quantiles (its own draws with the same generator), the hand-computed atoms at the
    # tails (mass 1/16 beyond the 2.5 % point), the full-sample value, and what it says it covers
    iv = st.seeded_interval("accuracy", TWO_SEEDS, TWO_GROUPS, n_boot=n, seed=7)
    low, high = np.quantile(values, [0.025, 0.975])
    assert (iv.low, iv.high) == (pytest.approx(low), pytest.approx(high)) == (0.0, 1.0)
    assert iv.mean == pytest.approx(0.5) and iv.seeds == (2,) and iv.covers == "seeds+sequences"
    for level, edge in ((0.8, (0.25, 0.75)), (0.2, (0.5, 0.5))):  # 10 % / 90 %: inside 1/4 and 3/4's atoms
        narrow = st.seeded_interval("accuracy", TWO_SEEDS, TWO_GROUPS, n_boot=n, level=level, seed=7)
        assert (narrow.low, narrow.high) == pytest.approx(edge)
    # keeping both seeds in every replicate: the sequence-only distribution 1/4, 1/2, 3/4
    fixed = st.pooled_interval("accuracy", TWO_SEEDS, TWO_GROUPS, n_boot=n, level=0.4, seed=7)
    assert (fixed.low, fixed.high) == (pytest.approx(0.5), pytest.approx(0.5)) and fixed.covers == "sequences"
    wide = st.pooled_interval("accuracy", TWO_SEEDS, TWO_GROUPS, n_boot=n, level=0.6, seed=7)
    assert (wide.low, wide.high) == (pytest.approx(0.25), pytest.approx(0.75))


def loop_difference(kind, a_seeds, b_seeds, groups, n_boot, seed, level=0.95, paired_seeds=False):
    """The seed-resampled paired difference by explicit resampling of the samples, one replicate at a time, with the
    draws the vectorised function makes (per block: the sequence counts, then a's seeds, then b's)."""
    labels = np.unique(groups)
    rng = np.random.default_rng(seed)
    w = rng.multinomial(len(labels), np.full(len(labels), 1 / len(labels)), size=n_boot)
    ka, kb = len(a_seeds), len(b_seeds)
    ua = rng.multinomial(ka, np.full(ka, 1 / ka), size=n_boot) if ka > 1 else np.ones((n_boot, 1), int)
    ub = ua if paired_seeds else (rng.multinomial(kb, np.full(kb, 1 / kb), size=n_boot) if kb > 1
                                  else np.ones((n_boot, 1), int))

    def statistic(x):
        return float(np.sqrt(np.mean(x**2))) if kind == "rmse" else float(np.mean(x))

    out = []
    for r in range(n_boot):
        rows = np.concatenate([np.flatnonzero(groups == labels[g]) for g in range(len(labels))
                               for _ in range(w[r, g])])           # the frames of every drawn sequence
        a = [statistic(np.asarray(a_seeds[k])[rows]) for k in range(ka) for _ in range(ua[r, k])]
        b = [statistic(np.asarray(b_seeds[k])[rows]) for k in range(kb) for _ in range(ub[r, k])]
        out.append(np.mean(a) - np.mean(b))
    return np.quantile(out, [(1 - level) / 2, (1 + level) / 2])


def test_seeded_difference_matches_an_explicit_loop_with_the_same_draws():
    rng = np.random.default_rng(8)
    groups = np.repeat([3, 1, 4, 5, 9], [4, 2, 3, 5, 1])          # 5 sequences of unequal length, unsorted labels
    n = groups.size
    a = [rng.normal(0, s, n) for s in (1.0, 1.5, 0.7)]             # three seeds of scheme a
    b = [rng.normal(0, 1.2, n), rng.normal(0, 0.9, n)]             # two of scheme b
    d = st.seeded_difference("rmse", a, b, groups, n_boot=300, seed=3)
    assert (d.low, d.high) == pytest.approx(tuple(loop_difference("rmse", a, b, groups, 300, 3)), rel=1e-12)
    rmse = [np.sqrt(np.mean(x**2)) for x in a], [np.sqrt(np.mean(x**2)) for x in b]
    assert d.mean == pytest.approx(np.mean(rmse[0]) - np.mean(rmse[1]), rel=1e-12)
    assert d.seeds == (3, 2) and d.covers == "seeds+sequences" and d.groups == 5 and d.samples == n
    flags = [rng.random(n) < p for p in (0.9, 0.6, 0.8)]
    other = [rng.random(n) < 0.5]
    d = st.seeded_difference("accuracy", flags, other, groups, n_boot=300, seed=4)
    assert (d.low, d.high) == pytest.approx(tuple(loop_difference("accuracy", flags, other, groups, 300, 4)))
    # the same trained models evaluated twice: one seed draw for both
    again = [f.copy() for f in flags]
    again[0][:3] = ~again[0][:3]
    d = st.seeded_difference("accuracy", flags, again, groups, n_boot=300, seed=5, seeds="paired")
    assert (d.low, d.high) == pytest.approx(tuple(loop_difference("accuracy", flags, again, groups, 300, 5,
                                                                  paired_seeds=True)))
    same = st.seeded_difference("accuracy", flags, [f.copy() for f in flags], groups, seeds="paired")
    assert (same.mean, same.low, same.high) == (0.0, 0.0, 0.0)     # a row against itself, seeds paired: exactly 0


def test_one_seed_rows_keep_the_test_set_interval_and_say_so():
    rng = np.random.default_rng(9)
    groups = np.repeat(np.arange(12), 6)
    a, b = rng.normal(size=72), rng.normal(size=72) * 1.3
    one = st.seeded_interval("rmse", [a], groups)
    assert one == st.rmse_interval(a, groups) and one.covers == "sequences" and one.seeds == (1,)
    d = st.seeded_difference("rmse", [a], [b], groups)
    assert bounds(d) == bounds(st.paired_difference("rmse", a, b, groups)) and d.covers == "sequences"
    # three seeds whose spread is large against the test set's: the seeded interval is wider than the pooled one
    seeds = [a * s for s in (0.5, 1.0, 2.0)]
    wide, narrow = st.seeded_interval("rmse", seeds, groups), st.pooled_interval("rmse", seeds, groups)
    assert wide.mean == narrow.mean and wide.high - wide.low > 1.5 * (narrow.high - narrow.low)
    # sufficient statistics alone give the same interval as the samples
    stats = st.GroupStats.from_samples("rmse", seeds, groups)
    assert st.stats_interval(stats) == wide
    with pytest.raises(ValueError, match="same samples"):
        st.stats_difference(stats, st.GroupStats("rmse", stats.counts[:-1], stats.sums[:, :-1]))
    with pytest.raises(ValueError, match="paired seeds"):
        st.seeded_difference("rmse", seeds, [a], groups, seeds="paired")
