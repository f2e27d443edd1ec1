"""The execution time of Eq. (14): its stages, recent per-stage durations and ``T_exe`` over devices."""
from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from collections.abc import Iterable

import numpy as np

#: The stages of Eq. (14): t_ft + t_se + t_com + t_sd + t_fa.
STAGES = ("feature_extraction", "encoding", "transmission", "decoding", "aggregation")


class StageTimes:
    """Recent per-frame durations [s] per named stage (bounded), with summaries."""

    def __init__(self, maxlen: int = 200):
        self._values: dict[str, deque] = defaultdict(lambda: deque(maxlen=maxlen))

    def add(self, stage: str, seconds: float) -> None:
        self._values[stage].append(float(seconds))

    def last(self, stage: str, default: float = math.nan) -> float:
        values = self._values.get(stage)
        return values[-1] if values else default

    def percentile(self, stage: str, q: float) -> float:
        values = self._values.get(stage)
        return float(np.percentile(list(values), q)) if values else math.nan

    def mean(self, stage: str) -> float:
        values = self._values.get(stage)
        return float(np.mean(list(values))) if values else math.nan

    def count(self, stage: str) -> int:
        return len(self._values.get(stage, ()))

    def summary(self, stages: Iterable[str] | None = None) -> str:
        """``stage p50/p95 ms`` for every stage with data, e.g. ``decoding 12.0/15.1 ms``."""
        names = list(stages) if stages is not None else list(self._values)
        return ", ".join(f"{s} {1e3 * self.percentile(s, 50):.1f}/{1e3 * self.percentile(s, 95):.1f} ms"
                         for s in names if self.count(s))


def execution_time(per_device: dict[str, dict[str, float]]) -> tuple[float, str | None]:
    """Eq. (14): ``T_exe = max_k (t_ft + t_se + t_com + t_sd + t_fa)`` over devices; returns (T_exe, argmax k).

    Each value maps stage names of :data:`STAGES` to seconds; a missing or NaN stage counts as 0.
    """
    best, who = 0.0, None
    for k, stages in per_device.items():
        total = sum(v for s in STAGES if math.isfinite(v := float(stages.get(s, 0.0))))
        if who is None or total > best:
            best, who = total, k
    return best, who


def module_timer(module, times: StageTimes, stage: str) -> list:
    """Time every forward call of a torch ``module`` into ``times[stage]``; returns the hook handles."""
    start: list[float] = []

    def pre(_module, _inputs):
        start.append(time.perf_counter())

    def post(_module, _inputs, _output):
        if start:
            times.add(stage, time.perf_counter() - start.pop())

    return [module.register_forward_pre_hook(pre), module.register_forward_hook(post)]
