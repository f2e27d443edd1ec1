"""Sensing metrics (Eqs. 59-61, SI units) of recorded estimates against their ground truth, e.g. from a bag.

:func:`evaluate_estimates` works on decoded ``TargetStateArray`` messages (anything with ``.header.stamp`` and
``.targets``, rclpy or rosbags alike), such as :func:`disac_ros.ros.bags.read_target_arrays` returns::

    result = evaluate_estimates(*read_target_arrays("bags/run1"))

:func:`scored_rows` turns its matched rows into per-sample outcomes, grouped by the live sequence, for the intervals
of :mod:`disac_ros.evaluation.analysis`.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable

import numpy as np

from disac_ros import metrics
from disac_ros.stamps import stamp_of

PARAMETER_UNITS = {"distance": "m", "azimuth": "rad", "pitch": "rad", "radial_velocity": "m/s"}


def evaluate_estimates(ground_truth: Iterable, estimates: Iterable) -> dict:
    """Counts, accuracy, NMSE [dB] and RMSE per parameter, a per-target breakdown and one row per matched estimate.

    Each estimate array is matched with the ground-truth array of the same header stamp (the first one of a stamp)
    and, within it, each estimate with the target of the same ``target_id``. Estimates without such a partner count
    as unmatched; ground-truth targets of an estimated frame that got no estimate count as missed. Angles are
    compared as numbers (no wrapping), as the training metrics do. Raises ``ValueError`` when nothing matches.
    """
    truth: dict[int, dict[int, object]] = {}
    for array in ground_truth:
        truth.setdefault(stamp_of(array), {t.target_id: t for t in array.targets})
    estimates = list(estimates)
    pairs = []
    unmatched = missed = 0
    estimated_frames = set()
    for array in estimates:
        stamp = stamp_of(array)
        frame = truth.get(stamp, {})
        if stamp in truth:
            estimated_frames.add(stamp)
        ids = {t.target_id for t in array.targets}
        missed += sum(1 for tid in frame if tid not in ids)
        for est in array.targets:
            if est.target_id in frame:
                pairs.append((est, frame[est.target_id]))
            else:
                unmatched += 1
    counts = {
        "ground_truth_arrays": len(truth),
        "estimate_arrays": len(estimates),
        "matched": len(pairs),
        "unmatched_estimates": unmatched,
        "missed_targets": missed,
        "frames_without_estimate": len(set(truth) - estimated_frames),
    }
    if not pairs:
        raise ValueError(f"no estimate matches a ground-truth target by header stamp and target_id ({counts})")
    out: dict = {**counts,
                 "mean_contributing_devices": float(np.mean([len(e.contributing_devices) for e, _ in pairs])),
                 "accuracy": metrics.accuracy([e.class_id for e, _ in pairs], [t.class_id for _, t in pairs])}
    for name in metrics.PARAMETERS:
        pred = np.array([getattr(e, name) for e, _ in pairs], np.float64)
        true = np.array([getattr(t, name) for _, t in pairs], np.float64)
        out[f"nmse_db_{name}"] = metrics.nmse_db(pred, true) if np.any(true) else math.nan
        out[f"rmse_{name}"] = metrics.rmse(pred, true)
    out["units"] = dict(PARAMETER_UNITS)
    out["per_target"] = _per_target(pairs)
    out["rows"] = [{"stamp_s": stamp_of(e) * 1e-9, "target_id": int(t.target_id), "pred_label": e.label,
                    "true_label": t.label, "pred_class": int(e.class_id), "true_class": int(t.class_id),
                    "contributing_devices": list(e.contributing_devices),
                    "pred": [float(getattr(e, n)) for n in metrics.PARAMETERS],
                    "true": [float(getattr(t, n)) for n in metrics.PARAMETERS]} for e, t in pairs]
    return out


def _per_target(pairs: list) -> dict[str, dict[str, float]]:
    """Per target id: count, accuracy and RMSE of each parameter."""
    groups: dict[int, list] = defaultdict(list)
    for est, true in pairs:
        groups[int(true.target_id)].append((est, true))
    out = {}
    for tid, group in sorted(groups.items()):
        row = {"count": len(group), "label": group[0][1].label,
               "accuracy": metrics.accuracy([e.class_id for e, _ in group], [t.class_id for _, t in group])}
        for name in metrics.PARAMETERS:
            row[f"rmse_{name}"] = metrics.rmse([getattr(e, name) for e, _ in group],
                                               [getattr(t, name) for _, t in group])
        out[str(tid)] = row
    return out


def scored_rows(rows: list[dict], sequence_s: float):
    """:func:`evaluate_estimates`'s rows as :class:`~disac_ros.evaluation.samples.Scored`, one per estimate.

    The group of a row (what intervals resample) is its live sequence, ``floor(stamp / sequence_s)``: the bridge
    draws new trajectories every ``sequence_s`` of sim time. Whether a line of sight was blocked is not in a bag:
    every row counts as unblocked.
    """
    from disac_ros.evaluation.samples import Scored

    if not rows:
        raise ValueError("no matched estimates to score")
    stamps = np.array([r["stamp_s"] for r in rows])
    sequence = np.floor(stamps / sequence_s + 1e-9).astype(np.int64)
    frame = np.rint((stamps - sequence * sequence_s) * 1e3).astype(np.int64)  # ms into the sequence: a frame key
    keys = np.stack([sequence, np.zeros_like(sequence), frame, [r["target_id"] for r in rows]], axis=1)
    return Scored(keys=keys, pred=np.array([r["pred"] for r in rows]), true=np.array([r["true"] for r in rows]),
                  pred_class=np.array([r["pred_class"] for r in rows]),
                  class_id=np.array([r["true_class"] for r in rows]), blocked=np.zeros(len(rows), bool))
