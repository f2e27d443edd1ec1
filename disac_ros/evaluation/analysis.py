"""The statistics of the report: every scheme beside the classical baselines and the Cramér-Rao bound, with intervals.

Inputs are per-sample outcomes (:class:`~disac_ros.evaluation.samples.Scored`) of the same test samples of one
aggregation center: each learned scheme at each of its seeds, the classical single-device and multi-device
baselines (:mod:`disac_ros.evaluation.classical`, deterministic: one "seed"). Every statistic (accuracy, the four SI
RMSEs) is a ratio of per-sequence sums, so the outcomes are first reduced to their sufficient statistics
(:class:`SequenceStats`: per *cell*, the samples of one test sequence with the same center blockage and weather,
the sample count, the correct count and the squared-error sum per parameter, per row and seed). That reduction is
what the benchmark commits (``per_sequence.json``, :func:`SequenceStats.to_json`), and every interval below is
computed from it, so a report can be recomputed, intervals and all, without the runs.

:func:`summarize_stats` gives, per row and per subset (all samples, the center's line of sight blocked, line of
sight), the accuracy and the four SI RMSEs with their 95 % intervals (:mod:`disac_ros.evaluation.statistics`): per
seed (test sequences resampled) and pooled over the row's seeds (the two-level bootstrap: sequences and seeds
resampled; a one-seed row's interval holds the test set's uncertainty only and says so, ``"interval":
"sequences"``), and the paired differences between rows on the same samples, each row's seeds resampled
independently, or jointly for two evaluations of the same trained models (:func:`same_runs`). :func:`crb_rows`
gives the bound on the center's RMSE from its radar's measured SNR (:mod:`disac_ros.sim.bounds`) on the
line-of-sight samples it detected.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from disac_ros.data import detections, store
from disac_ros.evaluation import statistics
from disac_ros.evaluation.samples import Scored
from disac_ros.sim import bounds

PARAMETERS = store.LABEL_KEYS
SUBSETS = ("all", "center_blocked", "line_of_sight")
METRICS = ("accuracy", *(f"rmse_{p}" for p in PARAMETERS))
#: Paired differences the report states (a - b on the same samples, each row pooled over its seeds: sequences and
#: seeds resampled, :func:`paired_stats`).
PAIRS = [("mm-sd", "sm-sd-rf"), ("llm-disac", "mm-sd"), ("llm-disac", "sm-md-rf"),
         ("llm-disac", "llm-disac (center alone)"),
         ("llm-disac", "classical-single"), ("llm-disac", "classical-fusion"), ("mm-sd", "classical-single"),
         ("llm-disac-lossless", "llm-disac"), ("llm-disac (lossless link)", "llm-disac"),
         ("llm-disac (no prompt)", "llm-disac"),
         ("llm-disac (wrong prompt)", "llm-disac"), ("llm-disac-gpt2", "llm-disac"), ("llm-disac-lstm", "llm-disac"),
         ("llm-disac-gru", "llm-disac"), ("mm-sd-gated", "mm-sd")]


CONDITIONS = ("clear", "fog", "low_light")  # the order of sim/conditions.CONDITION_KINDS (the stored code)
#: The file the benchmark writes beside summary.json: the per-sequence sufficient statistics of every row.
PER_SEQUENCE_FILE = "per_sequence.json"
_DIGITS = 7  # significant digits of the squared-error sums (the file's and therefore every interval's)


def subset_mask(scored: Scored, subset: str) -> np.ndarray:
    blocked = np.asarray(scored.blocked, dtype=bool)
    return {"all": np.ones(len(blocked), bool), "center_blocked": blocked, "line_of_sight": ~blocked}[subset]


def _check_aligned(runs: list[Scored]) -> None:
    first = np.asarray(runs[0].keys)
    for other in runs[1:]:
        if not np.array_equal(np.asarray(other.keys), first):
            raise ValueError("per-sample outcomes are not on the same samples in the same order")


def _significant(x: np.ndarray) -> np.ndarray:
    """``x`` rounded to :data:`_DIGITS` significant digits (as the file writes them, so both paths agree)."""
    flat = [float(f"{v:.{_DIGITS}g}") for v in np.asarray(x, np.float64).ravel()]
    return np.array(flat, dtype=np.float64).reshape(np.shape(x))


# --- sufficient statistics ------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Cells:
    """The test samples in cells: C cells, each the samples of one sequence with one center blockage and condition.

    ``sequence`` [C] int, ``blocked`` [C] bool (the center's line of sight), ``condition`` [C] int (index into
    :data:`CONDITIONS`, -1 not known), ``samples`` [C] int (samples in the cell).
    """

    sequence: np.ndarray
    blocked: np.ndarray
    condition: np.ndarray
    samples: np.ndarray

    @classmethod
    def of(cls, scored: Scored, conditions: np.ndarray | None = None) -> tuple[Cells, np.ndarray]:
        """The cells of a set of samples and the cell of each sample [M]."""
        seq = np.asarray(scored.sequence, np.int64)
        cond = np.full(len(seq), -1, np.int64) if conditions is None else np.asarray(conditions, np.int64)
        table = np.stack([seq, np.asarray(scored.blocked, bool).astype(np.int64), cond], axis=1)
        keys, index = np.unique(table, axis=0, return_inverse=True)
        index = index.reshape(-1)
        return cls(keys[:, 0], keys[:, 1].astype(bool), keys[:, 2], np.bincount(index, minlength=len(keys))), index

    def mask(self, subset: str) -> np.ndarray:
        """Cells of a subset: "all", "center_blocked", "line_of_sight" or a condition name."""
        if subset in CONDITIONS:
            return self.condition == CONDITIONS.index(subset)
        return {"all": np.ones(len(self.blocked), bool), "center_blocked": self.blocked,
                "line_of_sight": ~self.blocked}[subset]


@dataclass(frozen=True)
class RowStats:
    """One row's sums per seed and cell.

    ``correct`` [K, C] correct counts, ``squared`` [K, C, 4] sums of squared SI errors (store.LABEL_KEYS order,
    azimuth wrapped), for ``seeds`` (K seed numbers).
    """

    seeds: tuple[int, ...]
    correct: np.ndarray
    squared: np.ndarray

    @classmethod
    def of(cls, per_seed: Mapping[int, Scored], index: np.ndarray, cells: int) -> RowStats:
        seeds = tuple(sorted(per_seed))
        correct = np.stack([np.bincount(index, weights=per_seed[s].correct().astype(np.float64), minlength=cells)
                            for s in seeds])
        squared = np.stack([np.stack([np.bincount(index, weights=per_seed[s].errors()[:, j] ** 2, minlength=cells)
                                      for j in range(len(PARAMETERS))], axis=-1) for s in seeds])
        return cls(seeds, np.round(correct), _significant(squared))

    def only(self, seeds: list[int]) -> RowStats:
        """The same row at some of its seeds."""
        k = [self.seeds.index(s) for s in seeds]
        return RowStats(tuple(seeds), self.correct[k], self.squared[k])

    def group_stats(self, cells: Cells, subset: str, metric: str) -> statistics.GroupStats | None:
        """The :class:`~disac_ros.evaluation.statistics.GroupStats` of one metric on one subset.

        Its groups are the subset's sequences, in sorted order; None when the subset is empty.
        """
        mask = cells.mask(subset)
        if not mask.any():
            return None
        _, group = np.unique(cells.sequence[mask], return_inverse=True)
        group = group.reshape(-1)
        g = int(group.max()) + 1
        counts = np.bincount(group, weights=cells.samples[mask], minlength=g)
        values = self.correct[:, mask] if metric == "accuracy" else \
            self.squared[:, mask, PARAMETERS.index(metric.removeprefix("rmse_"))]
        sums = np.stack([np.bincount(group, weights=v, minlength=g) for v in values])
        return statistics.GroupStats("accuracy" if metric == "accuracy" else "rmse", counts, sums)

    def to_json(self) -> dict:
        return {"seeds": list(self.seeds), "correct": self.correct.astype(np.int64).tolist(),
                "squared_error": {p: self.squared[..., j].tolist() for j, p in enumerate(PARAMETERS)}}

    @classmethod
    def from_json(cls, d: dict) -> RowStats:
        return cls(tuple(d["seeds"]), np.asarray(d["correct"], np.float64),
                   np.stack([np.asarray(d["squared_error"][p], np.float64) for p in PARAMETERS], axis=-1))


@dataclass
class SequenceStats:
    """Every row's sufficient statistics on one test set (the content of :data:`PER_SEQUENCE_FILE`).

    ``rows``: {row: RowStats} at the table SNR, the classical baselines as ``classical-<name>``;
    ``prompt_by_snr``: {snr: {row: RowStats}} for the prompt ablation at each SNR.
    """

    cells: Cells
    rows: dict[str, RowStats]
    prompt_by_snr: dict[str, dict[str, RowStats]] = field(default_factory=dict)
    center: str = ""
    snr_db: float = math.nan

    @classmethod
    def of(cls, rows: Mapping[str, Mapping[int, Scored]], conditions: np.ndarray | None = None,
           prompt_by_snr: Mapping[str, Mapping[str, Mapping[int, Scored]]] | None = None, center: str = "",
           snr_db: float = math.nan) -> SequenceStats:
        """From per-sample outcomes, all on the same samples in the same order.

        ``conditions`` [M]: each sample's condition code, for the by-condition subsets.
        """
        every = [r for runs in rows.values() for r in runs.values()]
        every += [r for table in (prompt_by_snr or {}).values() for runs in table.values() for r in runs.values()]
        if not every:
            raise ValueError("no per-sample outcomes")
        _check_aligned(every)
        cells, index = Cells.of(every[0], conditions)
        c = len(cells.samples)
        return cls(cells, {n: RowStats.of(r, index, c) for n, r in rows.items() if r},
                   {snr: {n: RowStats.of(r, index, c) for n, r in table.items() if r}
                    for snr, table in (prompt_by_snr or {}).items()}, center, float(snr_db))

    def to_json(self) -> dict:
        cells = self.cells
        return {"what": "per-sequence sufficient statistics of every row of summary.json (disac_ros.evaluation."
                        "analysis.SequenceStats): the test samples in cells (one sequence, one center blockage, one "
                        "condition) with their sample count; per row, seed and cell the number of correct classes "
                        f"and the sum of squared SI errors per parameter ({_DIGITS} significant digits). Every "
                        "interval of summary.json is computed from this file.",
                "center": self.center, "snr_db": self.snr_db, "parameters": list(PARAMETERS),
                "conditions": list(CONDITIONS),
                "cells": {"sequence": cells.sequence.tolist(), "center_blocked": cells.blocked.astype(int).tolist(),
                          "condition": cells.condition.tolist(), "samples": cells.samples.tolist()},
                "rows": {n: r.to_json() for n, r in self.rows.items()},
                "prompt_by_snr": {snr: {n: r.to_json() for n, r in table.items()}
                                  for snr, table in self.prompt_by_snr.items()}}

    @classmethod
    def from_json(cls, d: dict) -> SequenceStats:
        if list(d["parameters"]) != list(PARAMETERS) or list(d["conditions"]) != list(CONDITIONS):
            raise ValueError("the per-sequence file's parameters or conditions are not this code's")
        c = d["cells"]
        cells = Cells(np.asarray(c["sequence"], np.int64), np.asarray(c["center_blocked"], bool),
                      np.asarray(c["condition"], np.int64), np.asarray(c["samples"], np.int64))
        return cls(cells, {n: RowStats.from_json(r) for n, r in d["rows"].items()},
                   {snr: {n: RowStats.from_json(r) for n, r in t.items()} for snr, t in d["prompt_by_snr"].items()},
                   d.get("center", ""), float(d.get("snr_db", math.nan)))


def write_per_sequence(stats: SequenceStats, path: str | Path) -> Path:
    """The file, compact: one line per list (a row's per-seed sums on one line each)."""
    from disac_ros.files import write_text_atomic

    def dump(obj, level: int = 0) -> str:
        if isinstance(obj, dict):
            pad = " " * (level + 1)
            inner = ",\n".join(f"{pad}{json.dumps(k)}: {dump(v, level + 1)}" for k, v in obj.items())
            return "{\n" + inner + "\n" + " " * level + "}" if obj else "{}"
        return json.dumps(obj, separators=(",", ":"), allow_nan=False)

    write_text_atomic(Path(path), dump(stats.to_json()) + "\n")
    return Path(path)


def read_per_sequence(path: str | Path) -> SequenceStats:
    return SequenceStats.from_json(json.loads(Path(path).read_text()))


# --- intervals ------------------------------------------------------------------------------------------------

def row_intervals(cells: Cells, row: RowStats, subset: str, seed: int = 0) -> dict[str, dict]:
    """{metric: Interval dict} of one row on one subset, pooled over its seeds (sequences and seeds resampled)."""
    out = {}
    for metric in METRICS:
        stats = row.group_stats(cells, subset, metric)
        if stats is None:
            return {}
        out[metric] = statistics.stats_interval(stats, seeds=True, seed=seed).as_dict()
    return out


def row_summary(cells: Cells, row: RowStats, seed: int = 0) -> dict:
    """One row's entry of the summary: its intervals per subset, pooled over its seeds and per seed.

    {"seeds", "interval", "pooled": {subset: {metric: interval}}, "per_seed": {seed: {subset: ...}}, "samples",
    "sequences"}; ``interval`` says what the pooled intervals hold ("sequences" for one seed).
    """
    return {"seeds": list(row.seeds), "samples": int(cells.samples.sum()),
            "sequences": int(len(np.unique(cells.sequence))),
            "interval": statistics.SEEDS_AND_SEQUENCES if len(row.seeds) > 1 else statistics.SEQUENCES,
            "pooled": {sub: row_intervals(cells, row, sub, seed) for sub in SUBSETS},
            "per_seed": {str(s): {sub: row_intervals(cells, row.only([s]), sub, seed) for sub in SUBSETS}
                         for s in row.seeds}}


def same_runs(a: str, b: str) -> bool:
    """Whether two rows are evaluations of the same trained models (``llm-disac`` and ``llm-disac (no prompt)``)."""
    return a.split(" (")[0] == b.split(" (")[0]


def pair_seeds(a: RowStats, b: RowStats, same: bool) -> tuple[RowStats, RowStats, str]:
    """The rows and the seed draw of a difference.

    The same trained models compare on their common seeds, drawn once for both ("paired"); different trainings
    draw each row's seeds on their own ("independent").
    """
    if not same:
        return a, b, "independent"
    common = sorted(set(a.seeds) & set(b.seeds))
    if not common:
        raise ValueError(f"rows of the same runs share no seed ({a.seeds} and {b.seeds})")
    return a.only(common), b.only(common), "paired"


def paired_stats(cells: Cells, a: RowStats, b: RowStats, same: bool = False, seed: int = 0,
                 subsets: tuple[str, ...] = SUBSETS) -> dict[str, dict]:
    """The difference a - b of two rows on the same samples: {subset: {metric: interval}}.

    Accuracy: a's minus b's; RMSE: a's minus b's; the sequences resampled once for both, the seeds as
    :func:`pair_seeds` says.
    """
    a, b, draw = pair_seeds(a, b, same)
    out = {}
    for subset in subsets:
        if not cells.mask(subset).any():
            continue
        out[subset] = {m: statistics.stats_difference(a.group_stats(cells, subset, m), b.group_stats(cells, subset, m),
                                                      draw, seed=seed).as_dict() for m in METRICS}
    return out


def pair_seed_info(a: RowStats, b: RowStats, same: bool) -> dict:
    """What a difference's interval holds: the seeds of each side and how they are drawn."""
    a, b, draw = pair_seeds(a, b, same)
    resampled = len(a.seeds) > 1 or len(b.seeds) > 1
    return {"a": list(a.seeds), "b": list(b.seeds), "draw": draw,
            "interval": statistics.SEEDS_AND_SEQUENCES if resampled else statistics.SEQUENCES}


# --- the per-sample API (Scored) ------------------------------------------------------------------------------

def metric_intervals(runs: list[Scored], subset: str, seed: int = 0) -> dict[str, dict]:
    """{metric: Interval dict} pooled over ``runs`` (seeds of one scheme) on one subset, seeds resampled."""
    stats = SequenceStats.of({"row": dict(enumerate(runs))})
    return row_intervals(stats.cells, stats.rows["row"], subset, seed)


def scheme_summary(per_seed: Mapping[int, Scored], seed: int = 0) -> dict:
    """:func:`row_summary` of one row's per-sample outcomes {seed: Scored}."""
    stats = SequenceStats.of({"row": per_seed})
    return row_summary(stats.cells, stats.rows["row"], seed)


def paired(a: Mapping[int, Scored], b: Mapping[int, Scored], seed: int = 0, same: bool = False) -> dict[str, dict]:
    """:func:`paired_stats` of two rows' per-sample outcomes on the same samples."""
    stats = SequenceStats.of({"a": a, "b": b})
    return paired_stats(stats.cells, stats.rows["a"], stats.rows["b"], same, seed)


def crb_rows(root: str | Path, split: str, center: str) -> dict:
    """The Cramér-Rao bound on the center's RMSE per label on its detected line-of-sight samples of ``split``.

    Per sample: the integrated SNR measured by the classical detector (``peak_snr``, E = 1 + rho) at the estimated
    range and array-frame angles (:func:`disac_ros.sim.bounds.crb_world`); the bound on an RMSE over the samples is
    sqrt(mean(std^2)). Returns {"samples", "definition", "rmse": {parameter: bound}}.
    """
    from disac_ros.evaluation.classical import load_split

    manifest = store.load_manifest(root)
    scene = store.scene_config(manifest)
    k = [d.id for d in scene.devices].index(center)
    samples = load_split(root, split, manifest)
    est = samples.est[:, k]                                               # [M, FIELDS]
    field = {f: est[:, i] for i, f in enumerate(detections.FIELDS)}
    keep = (field["detected"] > 0.5) & ~np.asarray(samples.blocked[:, k], dtype=bool)
    rho = bounds.integrated_snr_from_peak(field["peak_snr_db"][keep])
    std = bounds.crb_world(rho, field["slant_range"][keep], field["pitch_local"][keep], field["azimuth_local"][keep],
                           detections.device_pose(scene, k), scene.radar)
    return {"samples": int(keep.sum()),
            "definition": "Cramér-Rao bound (sim/bounds.py) at the measured integrated SNR of the center's radar on "
                          "its detected line-of-sight samples; sqrt(mean of per-sample variances)",
            "rmse": {p: float(bounds.rmse_bound(std[p])) for p in PARAMETERS}}


INTERVAL_TEXT = (f"{100 * statistics.LEVEL:.0f} % percentile bootstrap ({statistics.N_BOOT} resamples) over test "
                 "sequences and, for a row pooled over several seeds, over its seeds as well (two-level: the same "
                 "sequences for every seed, the seeds drawn with replacement); a one-seed row's interval holds the "
                 "test set's uncertainty only")


def summarize_stats(stats: SequenceStats, crb: dict | None, pairs: list[tuple[str, str]], seed: int = 0) -> dict:
    """The machine-readable summary (``summary.json``) from the sufficient statistics alone.

    Rows, classical rows, the bound, the paired differences of ``pairs`` present, the gating by condition and the
    prompt ablation.
    """
    cells, rows = stats.cells, stats.rows
    out: dict = {"snr_db": stats.snr_db, "center": stats.center, "subsets": list(SUBSETS), "metrics": list(METRICS),
                 "units": {"accuracy": "fraction", "rmse_distance": "m", "rmse_azimuth": "rad", "rmse_pitch": "rad",
                           "rmse_radial_velocity": "m/s"},
                 "interval": INTERVAL_TEXT, "per_sequence": PER_SEQUENCE_FILE,
                 "schemes": {n: row_summary(cells, r, seed) for n, r in rows.items() if not n.startswith("classical-")},
                 "classical": {n.removeprefix("classical-"): row_summary(cells, r, seed) for n, r in rows.items()
                               if n.startswith("classical-")},
                 "crb": crb, "paired": {}, "paired_seeds": {}}
    for a, b in pairs:
        if a in rows and b in rows:
            same = same_runs(a, b)
            out["paired"][f"{a} - {b}"] = paired_stats(cells, rows[a], rows[b], same, seed)
            out["paired_seeds"][f"{a} - {b}"] = pair_seed_info(rows[a], rows[b], same)
    out["by_condition"] = condition_stats(cells, {k: v for k, v in rows.items() if k in ("mm-sd", "mm-sd-gated")},
                                          seed)
    out["prompt_by_snr"] = {snr: {n: row_summary(cells, r, seed)["pooled"]["all"] for n, r in table.items()}
                            for snr, table in stats.prompt_by_snr.items()}
    out["targets"] = target_verdicts(out)
    return out


def summarize(schemes: Mapping[str, Mapping[int, Scored]], classical: Mapping[str, Scored], crb: dict | None,
              pairs: list[tuple[str, str]], snr_db: float, seed: int = 0) -> dict:
    """:func:`summarize_stats` of per-sample outcomes: {row: {seed: Scored}} and {classical name: Scored}."""
    rows = {**{n: r for n, r in schemes.items() if r}, **{f"classical-{n}": {0: s} for n, s in classical.items()}}
    return summarize_stats(SequenceStats.of(rows, snr_db=snr_db), crb, pairs, seed)


def sample_conditions(root: str | Path, keys: np.ndarray) -> np.ndarray:
    """The weather / light condition code of each sample's frame (0 clear, 1 fog, 2 low light)."""
    reader = store.ChunkReader(root)
    cache: dict[tuple[int, int], np.ndarray] = {}
    out = np.empty(len(keys), dtype=np.int64)
    for i, (s, c, f, _) in enumerate(np.asarray(keys)):
        if (s, c) not in cache:
            cache[(s, c)] = np.asarray(reader.file(int(s), int(c))["condition"][()])
        out[i] = cache[(s, c)][f]
    return out


def condition_stats(cells: Cells, rows: Mapping[str, RowStats], seed: int = 0) -> dict:
    """Accuracy and RMSEs per condition (clear, fog, low light) for each row.

    With MM-SD and its gated variant, also their paired difference per condition (MMSense's modality gating).
    Empty when the conditions are not known.
    """
    out: dict = {}
    for name in CONDITIONS:
        if not rows or not cells.mask(name).any():
            continue
        out[name] = {row: row_intervals(cells, r, name, seed) for row, r in rows.items()}
        if "mm-sd-gated" in rows and "mm-sd" in rows:
            out[name]["mm-sd-gated - mm-sd"] = paired_stats(cells, rows["mm-sd-gated"], rows["mm-sd"], False, seed,
                                                            (name,))[name]
    return out


def condition_summary(root: str | Path, rows: Mapping[str, Mapping[int, Scored]], seed: int = 0) -> dict:
    """:func:`condition_stats` of per-sample outcomes, the conditions read from the dataset at ``root``."""
    if not rows:
        return {}
    first = next(iter(next(iter(rows.values())).values()))
    stats = SequenceStats.of(rows, sample_conditions(root, first.keys))
    return condition_stats(stats.cells, stats.rows, seed)


def value(summary: dict, row: str, metric: str, subset: str = "all", part: str = "mean") -> float:
    """One number of a summary: ``row`` a scheme name or ``classical-<name>``."""
    table = summary["classical"][row.removeprefix("classical-")] if row.startswith("classical-") else \
        summary["schemes"].get(row)
    if table is None:
        return math.nan
    return float(table["pooled"].get(subset, {}).get(metric, {}).get(part, math.nan))


def _paired_accuracy(summary: dict, pair: str) -> dict | None:
    """The accuracy difference interval of ``pair`` ("a - b") on all samples, or None when not measured."""
    return summary["paired"].get(pair, {}).get("all", {}).get("accuracy")


def _points(d: dict | None) -> str:
    """An accuracy difference interval in points: ``+1.2 points [+0.3, +2.0]``."""
    if d is None:
        return "n/a"
    return f"{100 * d['mean']:+.1f} points [{100 * d['low']:+.1f}, {100 * d['high']:+.1f}]"


def _verdict(name: str, met: bool | None, value: str, target: str) -> dict:
    return {"target": name, "met": met, "measured": value, "wanted": target}


def target_verdicts(summary: dict) -> list[dict]:
    """The learning issue's targets on a summary: each with met (None: not measured), measured and wanted."""
    v = lambda row, metric, subset="all", part="mean": value(summary, row, metric, subset, part)  # noqa: E731
    out = []
    acc = v("sm-sd-rf", "accuracy")
    out.append(_verdict("SM-SD (RF) accuracy between 70 and 92 %", None if math.isnan(acc) else 0.70 <= acc <= 0.92,
                        f"{100 * acc:.1f} %", "70-92 %"))
    d = _paired_accuracy(summary, "mm-sd - sm-sd-rf")
    out.append(_verdict("MM-SD at least 2 points above SM-SD (RF)", None if d is None else d["mean"] >= 0.02,
                        _points(d), ">= +2 points"))
    d = _paired_accuracy(summary, "llm-disac - mm-sd")
    out.append(_verdict("LLM-DiSAC at least 5 points above MM-SD, paired interval excluding zero",
                        None if d is None else d["mean"] >= 0.05 and d["low"] > 0,
                        _points(d), ">= +5 points, low > 0"))
    llm, mm = summary["schemes"].get("llm-disac"), summary["schemes"].get("mm-sd")
    if llm and mm:
        seeds = sorted(set(llm["per_seed"]) & set(mm["per_seed"]))
        wins = {s: sum(llm["per_seed"][s]["all"][f"rmse_{p}"]["mean"] < mm["per_seed"][s]["all"][f"rmse_{p}"]["mean"]
                       for p in PARAMETERS) for s in seeds}
        out.append(_verdict("LLM-DiSAC lower SI RMSE than MM-SD on >= 3 of 4 targets, every seed",
                            bool(seeds) and all(w >= 3 for w in wins.values()),
                            ", ".join(f"seed {s}: {w}/4" for s, w in wins.items()), ">= 3/4 for every seed"))
    a, b = v("llm-disac", "rmse_distance", "center_blocked"), v("mm-sd", "rmse_distance", "center_blocked")
    out.append(_verdict("center blocked: LLM-DiSAC distance RMSE at most half of MM-SD's",
                        None if math.isnan(a) or math.isnan(b) else a <= 0.5 * b, f"{a:.2f} m vs {b:.2f} m",
                        "<= 0.5 x MM-SD"))
    if mm and "llm-disac (center alone)" in summary["schemes"]:
        inside = [mm["pooled"]["all"][m]["low"] <= v("llm-disac (center alone)", m) <= mm["pooled"]["all"][m]["high"]
                  for m in METRICS]
        out.append(_verdict("the center alone (every collaborator masked) within MM-SD's interval", all(inside),
                            f"{sum(inside)}/{len(METRICS)} metrics inside", "all inside"))
    ratios = {p: v("llm-disac", f"rmse_{p}") / v("classical-single", f"rmse_{p}") for p in PARAMETERS}
    out.append(_verdict("LLM-DiSAC below the center's classical estimator on all four RMSEs (all samples)",
                        None if any(math.isnan(r) for r in ratios.values()) else all(r < 1 for r in ratios.values()),
                        ", ".join(f"{p} x{r:.2f}" for p, r in ratios.items()), "ratio < 1 for each"))
    los = {p: v("llm-disac", f"rmse_{p}", "line_of_sight") / v("classical-single", f"rmse_{p}", "line_of_sight")
           for p in PARAMETERS}
    out.append(_verdict("LLM-DiSAC within 3x of the classical estimator on line-of-sight samples",
                        None if any(math.isnan(r) for r in los.values()) else all(r <= 3 for r in los.values()),
                        ", ".join(f"{p} x{r:.2f}" for p, r in los.items()), "ratio <= 3 for each"))
    d = _paired_accuracy(summary, "llm-disac - classical-fusion")
    out.append(_verdict("LLM-DiSAC at least as accurate as the classical multi-device fusion",
                        None if d is None else d["mean"] >= 0,
                        _points(d), ">= 0 points"))
    d = _paired_accuracy(summary, "llm-disac-lossless - llm-disac") or \
        _paired_accuracy(summary, "llm-disac (lossless link) - llm-disac")
    out.append(_verdict("the lossless channel at least as good as the noisy one within its interval",
                        None if d is None else d["high"] >= 0,
                        _points(d), "interval reaches >= 0"))
    return out


def compare_to_reference(scored: Scored, reference: Scored, seed: int = 0) -> dict[str, dict]:
    """Each metric of ``scored`` (the live graph's, from a bag) beside ``reference`` (the offline test split).

    Both with their intervals over their own sequences, and whether the first's value lies in the reference's
    interval (``within``; ``by``: how far outside it, 0 inside).
    """
    ours, ref = metric_intervals([scored], "all", seed), metric_intervals([reference], "all", seed)
    out = {}
    for metric in METRICS:
        value, low, high = ours[metric]["mean"], ref[metric]["low"], ref[metric]["high"]
        out[metric] = {"value": ours[metric], "reference": ref[metric], "within": bool(low <= value <= high),
                       "by": float(max(low - value, value - high, 0.0))}
    return out
