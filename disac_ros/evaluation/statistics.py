"""Confidence intervals of test metrics whose samples come in correlated groups, over one or several training seeds.

Frames of one sequence share a scene, targets and trajectories, so they are not independent: resampling frames
would understate the uncertainty. The intervals here are the cluster (group) bootstrap with percentile intervals
(Davison & Hinkley, Bootstrap Methods and their Application, 1997, Sec. 3.8, "case resampling" of clusters; Efron &
Tibshirani, An Introduction to the Bootstrap, 1993, ch. 13 for the percentile interval): each replicate draws G
groups with replacement out of the G present, keeps all frames of each drawn group, and recomputes the statistic
on the pooled frames; the interval is the (1 - level) / 2 and (1 + level) / 2 quantiles of the n_boot replicates.

**Seeds: the two-level bootstrap.** A row trained at K seeds is K models, and what a comparison of schemes is
about is the scheme's statistic over its training randomness, so the interval must hold the seed-to-seed spread as
well as the test set's. Seeds and sequences are crossed (every seed is scored on every sequence); a replicate
resamples both factors independently, the "pigeonhole" bootstrap of a crossed design (Owen, "The pigeonhole
bootstrap", Annals of Applied Statistics 1, 2007, which shows it is mildly conservative; Davison & Hinkley 1997,
Sec. 3.8, and Field & Welsh, "Bootstrapping clustered data", JRSS B 69, 2007, for resampling at every level of
hierarchical data): draw G sequences with replacement out of the G (multiplicities w [G]), draw K seeds with
replacement out of the K (multiplicities u [K]), and take the seed-weighted mean of the per-seed statistics on the
resampled sequences,

    T* = (1 / K) sum_k u_k stat_k(w).

The same sequence draw serves every seed of a replicate (the seeds are scored on the same test set) and both
schemes of a paired difference. A difference between two schemes draws each scheme's seeds independently (separate
trainings, :func:`seeded_difference`); two evaluations of the same trained models (a row's variant: its center
alone, another prompt) share one seed draw (``seeds="paired"``). With K = 1 no seed is drawn and the interval holds
the test-set (sequence) uncertainty only; :attr:`Interval.covers` says which: ``"sequences"`` or
``"seeds+sequences"``. The older pooled functions (:func:`pooled_interval`, :func:`paired_pooled_difference`) keep
every seed in every replicate (``seeds="fixed"``): their interval is the test-set uncertainty of the seed average,
not the seed-to-seed spread.

Every statistic here is a function of per-group sums (frame counts n_g and sums of values or squared errors), so
a replicate with group multiplicities w [G] (one row of a multinomial(G; 1/G, ..., 1/G) count matrix
[n_boot, G]) is a matrix product w @ sums: no loop over draws; seed multiplicities are a second multinomial count
matrix [n_boot, K]. :class:`GroupStats` holds the sufficient statistics (counts [G], sums [K, G]), so an interval
can be recomputed from them alone (the benchmark commits them per sequence). Statistics:

- ``mean``: sum(w_g S_g) / sum(w_g n_g), S_g = sum of the group's values;
- ``accuracy``: the mean of 0/1 correct flags (Eq. 61);
- ``rmse``: sqrt(sum(w_g Q_g) / sum(w_g n_g)), Q_g = sum of the group's squared errors (Eq. 60). Angles: pass
  errors already wrapped into [-pi, pi) (e.g. (estimate - truth + pi) % (2 pi) - pi); nothing here wraps them.

Paired comparisons compute both schemes' statistics on the same resample of groups, so the interval of the
difference accounts for their correlation; identical inputs give exactly 0.

Random draws, per block of replicates: the group count matrix first, then one seed count matrix per seed draw in
the order of the parts (none for a part with one seed, none for ``seeds="fixed"``), so a one-seed row gets exactly
the single-scheme interval. ``Interval.mean`` is the statistic on the full sample (every group and seed once; not
the mean of the replicates). Randomness comes from ``np.random.default_rng(seed)`` (or a Generator passed as
``seed``): equal seeds give equal intervals.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

KINDS = ("rmse", "accuracy", "mean")
N_BOOT = 2000
LEVEL = 0.95
#: What an interval holds: the test set's sequences only, or the training seeds' spread as well.
SEQUENCES, SEEDS_AND_SEQUENCES = "sequences", "seeds+sequences"
#: How a difference treats the two rows' seeds: drawn independently (separate trainings), drawn once for both
#: (the same trained models evaluated twice) or kept fixed (every seed in every replicate, the older pooled rule).
SEED_DRAWS = ("independent", "paired", "fixed")
_BLOCK_ELEMENTS = 4_000_000  # count-matrix entries per block of replicates (memory bound for many groups)


@dataclass(frozen=True)
class Interval:
    """A statistic on the full sample (``mean``) with its bootstrap interval [low, high].

    ``groups`` groups (sequences) and ``samples`` samples; ``seeds``: the seeds of each row it pools ((K,) for one
    row, (K_a, K_b) for a difference); ``covers``: ``"sequences"`` (the test set's uncertainty only) or
    ``"seeds+sequences"`` (the seed-to-seed spread too).
    """

    mean: float
    low: float
    high: float
    samples: int
    groups: int
    seeds: tuple[int, ...] = (1,)
    covers: str = SEQUENCES

    def as_dict(self) -> dict:
        out = asdict(self)
        out["seeds"] = list(self.seeds)
        return out


@dataclass(frozen=True)
class GroupStats:
    """Sufficient statistics of one row on one set of samples.

    ``counts`` [G]: samples per group (the same for every seed); ``sums`` [K, G]: per seed and group, the sum of
    the values (mean), of the correct flags (accuracy) or of the squared errors (rmse).
    """

    kind: str
    counts: np.ndarray
    sums: np.ndarray

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        counts, sums = np.asarray(self.counts, np.float64), np.asarray(self.sums, np.float64)
        if counts.ndim != 1 or sums.ndim != 2 or sums.shape[1] != counts.shape[0]:
            raise ValueError(f"counts [G] and sums [K, G] expected, got {list(counts.shape)} and {list(sums.shape)}")
        if sums.shape[0] == 0 or counts.shape[0] == 0:
            raise ValueError("sums: at least one seed and one group")
        if not (np.all(np.isfinite(sums)) and np.all(counts > 0)):
            raise ValueError("sums must be finite and every group must hold at least one sample")
        object.__setattr__(self, "counts", counts)
        object.__setattr__(self, "sums", sums)

    @property
    def seeds(self) -> int:
        return self.sums.shape[0]

    @property
    def groups(self) -> int:
        return self.counts.shape[0]

    @classmethod
    def from_samples(cls, kind: str, per_seed: Sequence, groups) -> GroupStats:
        """From K per-sample arrays [N] on the same samples (errors, correct flags or values) and group labels [N].

        Groups are ordered by their sorted labels (:func:`numpy.unique`).
        """
        v = _stacked(kind, per_seed, "per_seed")
        index, g = _groups(groups, v.shape[1])
        return cls(kind, np.bincount(index, minlength=g).astype(np.float64), _sums(kind, v, index, g))


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


#: One term of a bootstrapped statistic: (sign, sufficient statistics, seed draw). The draw is None for seeds kept
#: fixed, else a label: terms with the same label share one draw of seed multiplicities (they must have equal K).
_Part = tuple[float, GroupStats, object]


def _bootstrap(parts: list[_Part], n_boot: int, level: float, seed) -> tuple[float, float, float]:
    """Statistic = sum_p sign_p * (1 / K_p) sum_k u_pk stat_pk(w); (full-sample value, low, high).

    Every part shares one resample w of the groups (their counts must agree); u_p are the part's seed draw's
    multiplicities (all ones for a fixed draw or one seed).
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    counts = parts[0][1].counts
    for _, stats, _ in parts[1:]:
        if stats.counts.shape != counts.shape or not np.array_equal(stats.counts, counts):
            raise ValueError("the rows do not hold the same samples (their per-group counts differ)")
    g = counts.shape[0]
    draws: dict = {}                                                              # seed draw label -> K
    for _, stats, draw in parts:
        if draw is not None and stats.seeds > 1:
            if draws.setdefault(draw, stats.seeds) != stats.seeds:
                raise ValueError("rows that share a seed draw must have the same number of seeds")

    def combine(weights: np.ndarray, seed_weights: dict) -> np.ndarray:          # weights [B, G] -> statistic [B]
        n = weights @ counts
        out = np.zeros(weights.shape[0])
        for sign, stats, draw in parts:
            per_seed = _statistic(stats.kind, weights @ stats.sums.T, n[:, None])   # [B, K]
            u = seed_weights.get(draw) if draw is not None and stats.seeds > 1 else None
            out += sign * (per_seed.mean(axis=1) if u is None else (u * per_seed).sum(axis=1) / stats.seeds)
        return out

    full = float(combine(np.ones((1, g)), {})[0])
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    block = max(1, _BLOCK_ELEMENTS // max(g, *draws.values(), 1))
    p = np.full(g, 1.0 / g)
    replicates = []
    for start in range(0, n_boot, block):
        b = min(block, n_boot - start)
        weights = rng.multinomial(g, p, size=b).astype(np.float64)
        seed_weights = {draw: rng.multinomial(k, np.full(k, 1.0 / k), size=b).astype(np.float64)
                        for draw, k in draws.items()}
        replicates.append(combine(weights, seed_weights))
    low, high = np.quantile(np.concatenate(replicates), [(1 - level) / 2, (1 + level) / 2])
    return full, float(low), float(high)


def _interval(parts: list[_Part], n_boot: int, level: float, seed) -> Interval:
    mean, low, high = _bootstrap(parts, n_boot, level, seed)
    stats = parts[0][1]
    resampled = any(draw is not None and s.seeds > 1 for _, s, draw in parts)
    return Interval(mean=mean, low=low, high=high, samples=int(round(stats.counts.sum())), groups=stats.groups,
                    seeds=tuple(s.seeds for _, s, _ in parts), covers=SEEDS_AND_SEQUENCES if resampled else SEQUENCES)


def _stats_pair(kind: str, a, b, groups) -> tuple[GroupStats, GroupStats]:
    a, b = _stacked(kind, a, "a_seeds"), _stacked(kind, b, "b_seeds")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"a_seeds and b_seeds must hold the same samples, got lengths {a.shape[1]} and {b.shape[1]}")
    index, g = _groups(groups, a.shape[1])
    counts = np.bincount(index, minlength=g).astype(np.float64)
    return GroupStats(kind, counts, _sums(kind, a, index, g)), GroupStats(kind, counts, _sums(kind, b, index, g))


# --- sufficient statistics ------------------------------------------------------------------------------------

def stats_interval(stats: GroupStats, seeds: bool = True, n_boot: int = N_BOOT, level: float = LEVEL,
                   seed=0) -> Interval:
    """The seed-averaged statistic of one row from its :class:`GroupStats`, with its interval.

    The interval resamples the sequences and (``seeds``, with K > 1) the seeds: the two-level bootstrap of the
    module docstring.
    """
    return _interval([(1.0, stats, "a" if seeds else None)], n_boot, level, seed)


def stats_difference(a: GroupStats, b: GroupStats, seeds: str = "independent", n_boot: int = N_BOOT,
                     level: float = LEVEL, seed=0) -> Interval:
    """Row a's seed-averaged statistic minus row b's, on the same samples (equal counts), one resample of groups.

    ``seeds``: "independent" (each row's seeds drawn on their own: separate trainings), "paired" (one draw for
    both: the same K trained models evaluated twice; a and b must have the same seeds in the same order) or
    "fixed" (every seed in every replicate: the test-set uncertainty of the seed averages only).
    """
    if a.kind != b.kind:
        raise ValueError(f"a and b must be of one kind, got {a.kind!r} and {b.kind!r}")
    if seeds not in SEED_DRAWS:
        raise ValueError(f"seeds must be one of {SEED_DRAWS}, got {seeds!r}")
    draw_a, draw_b = {"independent": ("a", "b"), "paired": ("ab", "ab"), "fixed": (None, None)}[seeds]
    if seeds == "paired" and a.seeds != b.seeds:
        raise ValueError(f"paired seeds need the same seeds in both rows, got {a.seeds} and {b.seeds}")
    return _interval([(1.0, a, draw_a), (-1.0, b, draw_b)], n_boot, level, seed)


# --- per-sample inputs ----------------------------------------------------------------------------------------

def mean_interval(values, groups, n_boot: int = N_BOOT, level: float = LEVEL, seed=0) -> Interval:
    """Mean of values [N] with a group-bootstrap percentile interval (groups [N]: e.g. the sequence of each frame)."""
    return stats_interval(GroupStats.from_samples("mean", [values], groups), False, n_boot, level, seed)


def accuracy_interval(correct, groups, n_boot: int = N_BOOT, level: float = LEVEL, seed=0) -> Interval:
    """Accuracy (mean of correct flags [N], bool or 0/1) with a group-bootstrap percentile interval."""
    return stats_interval(GroupStats.from_samples("accuracy", [correct], groups), False, n_boot, level, seed)


def rmse_interval(errors, groups, n_boot: int = N_BOOT, level: float = LEVEL, seed=0) -> Interval:
    """RMSE sqrt(mean(e^2)) of errors [N] with a group-bootstrap percentile interval (angles: wrapped errors)."""
    return stats_interval(GroupStats.from_samples("rmse", [errors], groups), False, n_boot, level, seed)


def paired_difference(kind: str, a, b, groups, n_boot: int = N_BOOT, level: float = LEVEL, seed=0) -> Interval:
    """Statistic(a) - statistic(b) of two schemes on the SAME samples [N], both on each resample of the groups.

    ``kind``: "rmse" (a, b errors: rmse(a) - rmse(b), < 0 when a is better), "accuracy" (correct flags:
    acc(a) - acc(b), > 0 when a is better) or "mean". Raises ValueError for arrays of different lengths.
    """
    a, b = _values(kind, a, "a"), _values(kind, b, "b")
    if a.shape != b.shape:
        raise ValueError(f"a and b must hold the same samples, got lengths {a.shape[0]} and {b.shape[0]}")
    sa, sb = _stats_pair(kind, [a], [b], groups)
    return stats_difference(sa, sb, "fixed", n_boot, level, seed)


def seeded_interval(kind: str, per_seed: Sequence, groups, n_boot: int = N_BOOT, level: float = LEVEL,
                    seed=0) -> Interval:
    """The statistic averaged over K training seeds, its interval resampling sequences and seeds.

    ``per_seed``: K arrays [N] on the same samples. The two-level bootstrap; with one seed, the single-scheme
    interval.
    """
    return stats_interval(GroupStats.from_samples(kind, per_seed, groups), True, n_boot, level, seed)


def seeded_difference(kind: str, a_seeds: Sequence, b_seeds: Sequence, groups, n_boot: int = N_BOOT,
                      level: float = LEVEL, seed=0, seeds: str = "independent") -> Interval:
    """Seed-averaged statistic of scheme a minus that of scheme b (lists of arrays [N], same samples).

    One resample of the sequences for both; each scheme's seeds resampled independently (``seeds``: see
    :func:`stats_difference`).
    """
    sa, sb = _stats_pair(kind, a_seeds, b_seeds, groups)
    return stats_difference(sa, sb, seeds, n_boot, level, seed)


def pooled_interval(kind: str, per_seed: Sequence, groups, n_boot: int = N_BOOT, level: float = LEVEL,
                    seed=0) -> Interval:
    """The statistic averaged over training seeds, every seed in every replicate (test-set uncertainty only).

    mean = (1 / K) sum_k statistic(per_seed[k]); each replicate resamples the same groups for every seed. With one
    seed it is :func:`rmse_interval` / :func:`accuracy_interval` / :func:`mean_interval`. For an interval that
    holds the seeds' spread, :func:`seeded_interval`.
    """
    return stats_interval(GroupStats.from_samples(kind, per_seed, groups), False, n_boot, level, seed)


def paired_pooled_difference(kind: str, a_seeds: Sequence, b_seeds: Sequence, groups, n_boot: int = N_BOOT,
                             level: float = LEVEL, seed=0) -> Interval:
    """Seed-averaged statistic of scheme a minus that of scheme b, every seed in every replicate (same samples).

    The two lists may hold different numbers of seeds; every array must hold the same N samples. For an interval
    that holds the seeds' spread, :func:`seeded_difference`.
    """
    return seeded_difference(kind, a_seeds, b_seeds, groups, n_boot, level, seed, seeds="fixed")


#: kind -> single-scheme interval function, for callers that dispatch on the metric.
INTERVALS: dict[str, Callable[..., Interval]] = {"rmse": rmse_interval, "accuracy": accuracy_interval,
                                                 "mean": mean_interval}
