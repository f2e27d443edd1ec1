"""One row of a node's parameter table (ROS-free): name, default, description with units, range, read-only.

Every node module starts with its table, ``PARAMETERS``; :func:`disac_ros.nodes.params.declare_all` declares it in
one loop with a ``ParameterDescriptor`` per row (description, ``read_only``, and the range as a
``floating_point_range`` or ``integer_range``), so ``ros2 param describe`` shows exactly this table.
``config/disac.yaml`` only overrides defaults.

A range is inclusive at both ends, as ROS ranges are; ``math.inf`` means unbounded on that side. A node's own
checks may be stricter (e.g. ``bandwidth_hz > 0`` in :func:`disac_ros.models.link.check_link`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from disac_ros.config import CONFIG_DIR

Number = int | float


@dataclass(frozen=True)
class NoDefault:
    """A parameter declared by type only; it reads as ``None`` until set (``type``: ``string_array``)."""

    type: str


#: A string-array parameter without a default (e.g. ``devices``: unset means "every device but the center").
STRING_ARRAY = NoDefault("string_array")


@dataclass(frozen=True)
class Param:
    """One parameter of a node: its type is the default's (bool, int, float, str) or a :class:`NoDefault`."""

    name: str
    default: bool | int | float | str | NoDefault
    description: str
    range: tuple[Number, Number] | None = None
    read_only: bool = True

    def __post_init__(self) -> None:
        numeric = isinstance(self.default, int | float) and not isinstance(self.default, bool)
        if self.range is None:
            return
        if not numeric:
            raise ValueError(f"parameter {self.name}: a range needs a numeric default, got {self.default!r}")
        low, high = self.range
        if not low <= self.default <= high:
            raise ValueError(f"parameter {self.name}: default {self.default} outside its range [{low}, {high}]")
        if isinstance(self.default, int) and not all(isinstance(v, int) or math.isinf(v) for v in self.range):
            raise ValueError(f"parameter {self.name}: an integer parameter needs integer bounds, got {self.range}")


def scene_config(purpose: str) -> Param:
    """``scene_config``: the scene YAML, with what the node reads from it."""
    return Param("scene_config", str(CONFIG_DIR / "scene.yaml"), f"scene YAML: {purpose}")


# Rows that are the same in every node that has them.
PRESET = Param("preset", "", "preset applied to the scene (smoke, default, paper; empty: none)")
RUN = Param("run", "", "training run directory (disac train --out)")
NUM_THREADS = Param("num_threads", 1, "torch CPU threads of the node's process (0: torch's default)", (0, math.inf))
