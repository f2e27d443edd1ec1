"""The statistics of the report: every scheme beside the classical baselines and the Cramér-Rao bound, with intervals.

Inputs are per-sample outcomes (:class:`~disac_ros.evaluation.samples.Scored`) of the same test samples of one
aggregation center: each learned scheme at each of its seeds, the classical single-device and multi-device
baselines (:mod:`disac_ros.evaluation.classical`, deterministic: one "seed"). :func:`summarize` gives, per scheme and
per subset (all samples, the center's line of sight blocked, line of sight), the accuracy and the four SI RMSEs,
each with its 95 % interval bootstrapped over test sequences (:mod:`disac_ros.evaluation.statistics`): per seed and
pooled over seeds (the seeds' mean with the same resample of sequences for every seed). :func:`paired` gives
differences between two schemes on the same samples with their intervals. :func:`crb_rows` the bound on the center's
RMSE from its radar's measured SNR (:mod:`disac_ros.sim.bounds`) on the line-of-sight samples it detected.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from disac_ros.data import detections, store
from disac_ros.evaluation import statistics
from disac_ros.evaluation.samples import Scored
from disac_ros.sim import bounds

PARAMETERS = store.LABEL_KEYS
SUBSETS = ("all", "center_blocked", "line_of_sight")
METRICS = ("accuracy", *(f"rmse_{p}" for p in PARAMETERS))


def subset_mask(scored: Scored, subset: str) -> np.ndarray:
    blocked = np.asarray(scored.blocked, dtype=bool)
    return {"all": np.ones(len(blocked), bool), "center_blocked": blocked, "line_of_sight": ~blocked}[subset]


def _check_aligned(runs: list[Scored]) -> None:
    first = np.asarray(runs[0].keys)
    for other in runs[1:]:
        if not np.array_equal(np.asarray(other.keys), first):
            raise ValueError("per-sample outcomes are not on the same samples in the same order")


def _values(runs: list[Scored], metric: str, mask: np.ndarray) -> tuple[str, list[np.ndarray]]:
    if metric == "accuracy":
        return "accuracy", [r.correct()[mask] for r in runs]
    j = PARAMETERS.index(metric.removeprefix("rmse_"))
    return "rmse", [r.errors()[mask, j] for r in runs]


def metric_intervals(runs: list[Scored], subset: str, seed: int = 0) -> dict[str, dict]:
    """{metric: Interval dict} pooled over ``runs`` (seeds of one scheme) on one subset."""
    _check_aligned(runs)
    mask = subset_mask(runs[0], subset)
    groups = runs[0].sequence[mask]
    if not mask.any():
        return {}
    out = {}
    for metric in METRICS:
        kind, values = _values(runs, metric, mask)
        out[metric] = statistics.pooled_interval(kind, values, groups, seed=seed).as_dict()
    return out


def scheme_summary(per_seed: Mapping[int, Scored], seed: int = 0) -> dict:
    """{"seeds", "pooled": {subset: {metric: interval}}, "per_seed": {seed: {subset: ...}}, "samples", "sequences"}."""
    runs = [per_seed[s] for s in sorted(per_seed)]
    first = runs[0]
    return {"seeds": sorted(per_seed), "samples": len(first), "sequences": int(len(np.unique(first.sequence))),
            "pooled": {sub: metric_intervals(runs, sub, seed) for sub in SUBSETS},
            "per_seed": {str(s): {sub: metric_intervals([per_seed[s]], sub, seed) for sub in SUBSETS}
                         for s in sorted(per_seed)}}


def paired(a: Mapping[int, Scored], b: Mapping[int, Scored], seed: int = 0) -> dict[str, dict]:
    """The difference a - b of two rows on the same samples: {subset: {metric: interval}}.

    Accuracy: a's minus b's; RMSE: a's minus b's; pooled over each row's seeds with one resample of sequences.
    """
    runs_a, runs_b = [a[s] for s in sorted(a)], [b[s] for s in sorted(b)]
    _check_aligned(runs_a + runs_b)
    out = {}
    for subset in SUBSETS:
        mask = subset_mask(runs_a[0], subset)
        if not mask.any():
            continue
        groups = runs_a[0].sequence[mask]
        out[subset] = {}
        for metric in METRICS:
            kind, va = _values(runs_a, metric, mask)
            _, vb = _values(runs_b, metric, mask)
            out[subset][metric] = statistics.paired_pooled_difference(kind, va, vb, groups, seed=seed).as_dict()
    return out


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


def summarize(schemes: Mapping[str, Mapping[int, Scored]], classical: Mapping[str, Scored], crb: dict | None,
              pairs: list[tuple[str, str]], snr_db: float, seed: int = 0) -> dict:
    """The machine-readable summary (``summary.json``): schemes, classical rows, the bound and paired differences."""
    out: dict = {"snr_db": snr_db, "subsets": list(SUBSETS), "metrics": list(METRICS),
                 "units": {"accuracy": "fraction", "rmse_distance": "m", "rmse_azimuth": "rad", "rmse_pitch": "rad",
                           "rmse_radial_velocity": "m/s"},
                 "interval": f"{100 * statistics.LEVEL:.0f} % percentile bootstrap over test sequences "
                             f"({statistics.N_BOOT} resamples); pooled = mean over seeds, one resample for all",
                 "schemes": {name: scheme_summary(runs, seed) for name, runs in schemes.items() if runs},
                 "classical": {name: scheme_summary({0: s}, seed) for name, s in classical.items()},
                 "crb": crb, "paired": {}}
    everything = {**{n: r for n, r in schemes.items() if r}, **{f"classical-{n}": {0: s} for n, s in classical.items()}}
    for a, b in pairs:
        if a in everything and b in everything:
            out["paired"][f"{a} - {b}"] = paired(everything[a], everything[b], seed)
    return out


def value(summary: dict, row: str, metric: str, subset: str = "all", part: str = "mean") -> float:
    """One number of a summary: ``row`` a scheme name or ``classical-<name>``."""
    table = summary["classical"][row.removeprefix("classical-")] if row.startswith("classical-") else \
        summary["schemes"].get(row)
    if table is None:
        return math.nan
    return float(table["pooled"].get(subset, {}).get(metric, {}).get(part, math.nan))


CONDITIONS = ("clear", "fog", "low_light")  # the order of sim/conditions.CONDITION_KINDS (the stored code)


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


def condition_summary(root: str | Path, rows: Mapping[str, Mapping[int, Scored]], seed: int = 0) -> dict:
    """Accuracy and RMSEs per condition (clear, fog, low light) for each row.

    With both rows, also the paired difference of the gated variant against MM-SD per condition (MMSense's
    modality gating).
    """
    out: dict = {}
    if not rows:
        return out
    first = next(iter(next(iter(rows.values())).values()))
    codes = sample_conditions(root, first.keys)
    for code, name in enumerate(CONDITIONS):
        mask = codes == code
        if not mask.any():
            continue
        out[name] = {row: scheme_summary({s: r.subset(mask) for s, r in runs.items()}, seed)["pooled"]["all"]
                     for row, runs in rows.items()}
        if "mm-sd-gated" in rows and "mm-sd" in rows:
            a = {s: r.subset(mask) for s, r in rows["mm-sd-gated"].items()}
            b = {s: r.subset(mask) for s, r in rows["mm-sd"].items()}
            out[name]["mm-sd-gated - mm-sd"] = paired(a, b, seed)["all"]
    return out


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
