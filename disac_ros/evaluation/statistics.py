"""Confidence intervals of test metrics whose samples come in correlated groups (the frames of one sequence).

Frames of one sequence share a scene, targets and trajectories, so they are not independent: resampling frames
would understate the uncertainty. The intervals here are the cluster (group) bootstrap with percentile intervals
(Davison & Hinkley, Bootstrap Methods and their Application, 1997, Sec. 3.8, "case resampling" of clusters; Efron &
Tibshirani, An Introduction to the Bootstrap, 1993, ch. 13 for the percentile interval): each replicate draws G
groups with replacement out of the G present, keeps all frames of each drawn group, and recomputes the statistic
on the pooled frames; the interval is the (1 - level) / 2 and (1 + level) / 2 quantiles of the n_boot replicates.

Every statistic here is a function of per-group sums (frame counts n_g and sums of values or squared errors), so
a replicate with group multiplicities w [G] (one row of a multinomial(G; 1/G, ..., 1/G) count matrix
[n_boot, G]) is a matrix product w @ sums: no loop over draws. Statistics:

- ``mean``: sum(w_g S_g) / sum(w_g n_g), S_g = sum of the group's values;
- ``accuracy``: the mean of 0/1 correct flags (Eq. 61);
- ``rmse``: sqrt(sum(w_g Q_g) / sum(w_g n_g)), Q_g = sum of the group's squared errors (Eq. 60). Angles: pass
  errors already wrapped into [-pi, pi) (e.g. (estimate - truth + pi) % (2 pi) - pi); nothing here wraps them.

Paired comparisons (:func:`paired_difference`) compute both schemes' statistics on the same resample (the same
groups drawn for both), so the interval of the difference accounts for their correlation; identical inputs give
exactly 0. Pooled over training seeds (:func:`pooled_interval`, :func:`paired_pooled_difference`), the statistic
is the mean over seeds of each seed's statistic on the same samples, every seed resampled with the same groups:
the interval covers the test-set (sequence) uncertainty of the seed average, not the seed-to-seed spread.

``Interval.mean`` is the statistic on the full sample (not the mean of the replicates). Randomness comes from
``np.random.default_rng(seed)`` (or a Generator passed as ``seed``): equal seeds give equal intervals.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

KINDS = ("rmse", "accuracy", "mean")
N_BOOT = 2000
LEVEL = 0.95
_BLOCK_ELEMENTS = 4_000_000  # count-matrix entries per block of replicates (memory bound for many groups)


@dataclass(frozen=True)
class Interval:
    """A statistic on the full sample (``mean``) with its bootstrap interval [low, high] over ``groups`` groups."""

    mean: float
    low: float
    high: float
    samples: int
    groups: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


# --- inputs ---------------------------------------------------------------------------------------------------

def _groups(groups, n: int) -> tuple[np.ndarray, int]:
    """Group labels [N] (any sortable values) -> (index [N] in 0..G-1, G)."""
    groups = np.asarray(groups)
    if groups.ndim != 1 or groups.shape[0] != n:
        raise ValueError(f"groups must be one label per sample [{n}], got shape {list(groups.shape)}")
    if n == 0:
        raise ValueError("no samples: an interval needs at least one")
    _, index = np.unique(groups, return_inverse=True)
    return index.reshape(-1), int(index.max()) + 1


def _values(kind: str, values, name: str = "values") -> np.ndarray:
    """Per-sample values [N] of a kind, float64: errors (rmse), 0/1 flags (accuracy) or any finite values (mean)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    v = np.asarray(values)
    if v.ndim != 1:
        raise ValueError(f"{name} must be one value per sample [N], got shape {list(v.shape)}")
    v = v.astype(np.float64)
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} holds non-finite values (drop or resolve them before the interval)")
    if kind == "accuracy" and not np.all((v == 0) | (v == 1)):
        raise ValueError(f"{name}: accuracy takes correct flags (bool or 0/1)")
    return v


def _stacked(kind: str, arrays: Sequence, name: str) -> np.ndarray:
    """A list of K per-sample arrays [N] on the same samples -> [K, N]."""
    arrays = [_values(kind, a, f"{name}[{i}]") for i, a in enumerate(arrays)]
    if not arrays:
        raise ValueError(f"{name}: give at least one array")
    if len({a.shape[0] for a in arrays}) != 1:
        raise ValueError(f"{name}: arrays must all hold the same samples, got lengths {[a.shape[0] for a in arrays]}")
    return np.stack(arrays)


# --- core -----------------------------------------------------------------------------------------------------

def _sums(kind: str, values: np.ndarray, index: np.ndarray, g: int) -> np.ndarray:
    """Per-group sums [K, G] of the values (mean, accuracy) or squared errors (rmse) of values [K, N]."""
    x = values**2 if kind == "rmse" else values
    out = np.zeros((x.shape[0], g))
    for k in range(x.shape[0]):
        out[k] = np.bincount(index, weights=x[k], minlength=g)
    return out


def _statistic(kind: str, sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Statistic per seed from resampled sums [..., K] and counts [..., 1]: the mean, or sqrt of the mean square."""
    mean = sums / counts
    return np.sqrt(mean) if kind == "rmse" else mean


def _bootstrap(index: np.ndarray, g: int, parts: list[tuple[str, float, np.ndarray]], n_boot: int, level: float,
               seed) -> tuple[float, float, float]:
    """Statistic = sum_p sign_p * mean over seeds of kind_p's statistic; (full-sample value, low, high).

    ``parts``: (kind, sign, values [K, N]); all share one resample of the groups.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    counts = np.bincount(index, minlength=g).astype(np.float64)                    # frames per group [G]
    sums = [(kind, sign, _sums(kind, v, index, g)) for kind, sign, v in parts]

    def combine(weights: np.ndarray) -> np.ndarray:                               # weights [B, G] -> statistic [B]
        n = weights @ counts
        return sum(sign * _statistic(kind, weights @ s.T, n[:, None]).mean(axis=1) for kind, sign, s in sums)

    full = float(combine(np.ones((1, g)))[0])
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    block = max(1, _BLOCK_ELEMENTS // g)
    p = np.full(g, 1.0 / g)
    replicates = np.concatenate([combine(rng.multinomial(g, p, size=min(block, n_boot - start)).astype(np.float64))
                                 for start in range(0, n_boot, block)])
    low, high = np.quantile(replicates, [(1 - level) / 2, (1 + level) / 2])
    return full, float(low), float(high)


def _interval(index: np.ndarray, g: int, parts, n_boot: int, level: float, seed) -> Interval:
    mean, low, high = _bootstrap(index, g, parts, n_boot, level, seed)
    return Interval(mean=mean, low=low, high=high, samples=int(index.shape[0]), groups=g)


# --- public ---------------------------------------------------------------------------------------------------

def mean_interval(values, groups, n_boot: int = N_BOOT, level: float = LEVEL, seed=0) -> Interval:
    """Mean of values [N] with a group-bootstrap percentile interval (groups [N]: e.g. the sequence of each frame)."""
    v = _values("mean", values)
    index, g = _groups(groups, v.shape[0])
    return _interval(index, g, [("mean", 1.0, v[None])], n_boot, level, seed)


def accuracy_interval(correct, groups, n_boot: int = N_BOOT, level: float = LEVEL, seed=0) -> Interval:
    """Accuracy (mean of correct flags [N], bool or 0/1) with a group-bootstrap percentile interval."""
    v = _values("accuracy", correct, "correct")
    index, g = _groups(groups, v.shape[0])
    return _interval(index, g, [("accuracy", 1.0, v[None])], n_boot, level, seed)


def rmse_interval(errors, groups, n_boot: int = N_BOOT, level: float = LEVEL, seed=0) -> Interval:
    """RMSE sqrt(mean(e^2)) of errors [N] with a group-bootstrap percentile interval (angles: wrapped errors)."""
    v = _values("rmse", errors, "errors")
    index, g = _groups(groups, v.shape[0])
    return _interval(index, g, [("rmse", 1.0, v[None])], n_boot, level, seed)


def paired_difference(kind: str, a, b, groups, n_boot: int = N_BOOT, level: float = LEVEL, seed=0) -> Interval:
    """Statistic(a) - statistic(b) of two schemes on the SAME samples [N], both on each resample of the groups.

    ``kind``: "rmse" (a, b errors: rmse(a) - rmse(b), < 0 when a is better), "accuracy" (correct flags:
    acc(a) - acc(b), > 0 when a is better) or "mean". Raises ValueError for arrays of different lengths.
    """
    a, b = _values(kind, a, "a"), _values(kind, b, "b")
    if a.shape != b.shape:
        raise ValueError(f"a and b must hold the same samples, got lengths {a.shape[0]} and {b.shape[0]}")
    index, g = _groups(groups, a.shape[0])
    return _interval(index, g, [(kind, 1.0, a[None]), (kind, -1.0, b[None])], n_boot, level, seed)


def pooled_interval(kind: str, per_seed: Sequence, groups, n_boot: int = N_BOOT, level: float = LEVEL,
                    seed=0) -> Interval:
    """The statistic averaged over training seeds: per_seed, a list of K arrays [N] on the same samples.

    mean = (1 / K) sum_k statistic(per_seed[k]); each replicate resamples the same groups for every seed. With one
    seed it is :func:`rmse_interval` / :func:`accuracy_interval` / :func:`mean_interval`.
    """
    v = _stacked(kind, per_seed, "per_seed")
    index, g = _groups(groups, v.shape[1])
    return _interval(index, g, [(kind, 1.0, v)], n_boot, level, seed)


def paired_pooled_difference(kind: str, a_seeds: Sequence, b_seeds: Sequence, groups, n_boot: int = N_BOOT,
                             level: float = LEVEL, seed=0) -> Interval:
    """Seed-averaged statistic of scheme a minus that of scheme b (lists of arrays [N], same samples, same resample).

    The two lists may hold different numbers of seeds; every array must hold the same N samples.
    """
    a, b = _stacked(kind, a_seeds, "a_seeds"), _stacked(kind, b_seeds, "b_seeds")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"a_seeds and b_seeds must hold the same samples, got lengths {a.shape[1]} and {b.shape[1]}")
    index, g = _groups(groups, a.shape[1])
    return _interval(index, g, [(kind, 1.0, a), (kind, -1.0, b)], n_boot, level, seed)


#: kind -> single-scheme interval function, for callers that dispatch on the metric.
INTERVALS: dict[str, Callable[..., Interval]] = {"rmse": rmse_interval, "accuracy": accuracy_interval,
                                                 "mean": mean_interval}
