"""Per-sample outcomes of one evaluation, the unit every interval and paired comparison of the report is built from.

:class:`Scored` holds, for M test samples of one aggregation center (in the order of ``DeviceTargetDataset(root,
split, devices=[center])``, so that every scheme, seed and classical baseline is scored on the same samples): the
sample keys (sequence, chunk, frame, target), the SI estimates and truth (distance m, azimuth rad, pitch rad,
radial velocity m/s), the predicted and true class and whether the center's own line of sight to the target is
blocked. It is written next to the run (``RUN/eval/...npz``, plain arrays, loaded without pickle).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from disac_ros.files import atomic_path
from disac_ros.sim.labels import label_errors


@dataclass(frozen=True)
class Scored:
    keys: np.ndarray        # [M, 4] int (sequence, chunk, frame, target)
    pred: np.ndarray        # [M, 4] SI estimates
    true: np.ndarray        # [M, 4] SI truth
    pred_class: np.ndarray  # [M] int
    class_id: np.ndarray    # [M] int
    blocked: np.ndarray     # [M] bool: the center's line of sight to the target is blocked

    def __post_init__(self):
        m = len(self.keys)
        if any(len(getattr(self, f.name)) != m for f in fields(self)):
            raise ValueError("Scored: every field must have one row per sample")

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def sequence(self) -> np.ndarray:
        """The test sequence of each sample (the bootstrap's group)."""
        return np.asarray(self.keys)[:, 0]

    def errors(self) -> np.ndarray:
        """Estimate - truth [M, 4], the azimuth error wrapped to [-pi, pi)."""
        return label_errors(self.pred, self.true)

    def correct(self) -> np.ndarray:
        return np.asarray(self.pred_class) == np.asarray(self.class_id)

    def subset(self, mask: np.ndarray) -> Scored:
        return Scored(**{f.name: np.asarray(getattr(self, f.name))[mask] for f in fields(self)})

    def save(self, path: str | Path) -> None:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **{f_.name: np.asarray(getattr(self, f_.name)) for f_ in fields(self)})

    @classmethod
    def load(cls, path: str | Path) -> Scored:
        with np.load(path, allow_pickle=False) as data:
            return cls(**{f.name: data[f.name] for f in fields(cls)})

    @classmethod
    def from_normalised(cls, keys, pred_norm: np.ndarray, true_norm: np.ndarray, logits: np.ndarray,
                        class_id: np.ndarray, blocked, offset: np.ndarray, scale: np.ndarray) -> Scored:
        """From a model's normalised outputs (:class:`disac_ros.training.center.Predictions`)."""
        return cls(keys=np.asarray(keys, dtype=np.int64).reshape(-1, 4), pred=pred_norm * scale + offset,
                   true=true_norm * scale + offset, pred_class=np.asarray(logits).argmax(axis=1),
                   class_id=np.asarray(class_id), blocked=np.asarray(blocked, dtype=bool))
