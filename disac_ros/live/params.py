"""One row of a node's parameter table (ROS-free): name, default, description with units, range, read-only, check.

Every node module starts with its table, ``PARAMETERS``; :func:`disac_ros.nodes.params.declare_all` declares it in
one loop with a ``ParameterDescriptor`` per row (description, ``read_only``, and the range as a
``floating_point_range`` or ``integer_range``), so ``ros2 param describe`` shows exactly this table.
``config/disac.yaml`` only overrides defaults.

A range is inclusive at both ends, as ROS ranges are; ``math.inf`` means unbounded on that side (no table uses it:
every number has a sane finite range). A row's optional ``check`` (a callable that raises ``ValueError``) and a
node's own checks may be stricter (e.g. the link's SNR schedule in :func:`disac_ros.models.link.check_link`).

:meth:`Param.validate` and :func:`validate_changes` are what a node runs on every value, at start and on every
``ros2 param set`` (:func:`disac_ros.nodes.params.declare_all`): the right type, a finite float, inside the range,
the row's check, then the node's check of all its values together; the ``ValueError`` message is the reason
``ros2 param set`` prints.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from disac_ros.config import CONFIG_DIR

Number = int | float


@dataclass(frozen=True)
class NoDefault:
    """A parameter declared by type only; it reads as ``None`` until set (``type``: ``string_array``)."""

    type: str


#: A string-array parameter without a default (e.g. ``devices``: unset means "every device but the center").
STRING_ARRAY = NoDefault("string_array")


def _kind(default) -> str:
    """The ROS type name of a default: bool, integer, double, string or string_array."""
    if isinstance(default, NoDefault):
        return default.type
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "integer"
    if isinstance(default, float):
        return "double"
    if isinstance(default, str):
        return "string"
    raise ValueError(f"unsupported parameter default {default!r}")


def _has_kind(value, kind: str) -> bool:
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "double":
        return isinstance(value, float)
    if kind == "string":
        return isinstance(value, str)
    return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)  # string_array


def _number(value: Number) -> str:
    """A bound as a reason shows it: integers in full, floats short (``1e+06``)."""
    return str(value) if isinstance(value, int) else f"{value:g}"


@dataclass(frozen=True)
class Param:
    """One parameter of a node: its type is the default's (bool, int, float, str) or a :class:`NoDefault`.

    ``check``: optional, called with a value of the right type inside the range; raises ``ValueError`` with the
    reason it refuses it (e.g. :func:`one_of`).
    """

    name: str
    default: bool | int | float | str | NoDefault
    description: str
    range: tuple[Number, Number] | None = None
    read_only: bool = True
    check: Callable[[object], None] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        numeric = self.kind in ("integer", "double")
        if self.range is None:
            if self.check is not None and not isinstance(self.default, NoDefault):
                self.check(self.default)
            return
        if not numeric:
            raise ValueError(f"parameter {self.name}: a range needs a numeric default, got {self.default!r}")
        low, high = self.range
        if not low <= self.default <= high:
            raise ValueError(f"parameter {self.name}: default {self.default} outside its range [{low}, {high}]")
        if isinstance(self.default, int) and not all(isinstance(v, int) or math.isinf(v) for v in self.range):
            raise ValueError(f"parameter {self.name}: an integer parameter needs integer bounds, got {self.range}")
        if self.check is not None:
            self.check(self.default)

    @property
    def kind(self) -> str:
        """The ROS type of the parameter: bool, integer, double, string or string_array."""
        return _kind(self.default)

    def validate(self, value) -> None:
        """Raise ``ValueError`` with the reason when ``value`` is not a valid value of this parameter.

        ``None`` is valid for a parameter declared by type only (:class:`NoDefault`: not set).
        """
        if value is None and isinstance(self.default, NoDefault):
            return
        if not _has_kind(value, self.kind):
            example = f" (e.g. {float(value)!r})" if self.kind == "double" and _has_kind(value, "integer") else ""
            raise ValueError(f"{self.name} must be a {self.kind}{example}, got {type(value).__name__} {value!r}")
        if self.kind == "double" and not math.isfinite(value):
            raise ValueError(f"{self.name} must be finite, got {value}")
        if self.range is not None:
            low, high = self.range
            if not low <= value <= high:
                raise ValueError(f"{self.name} must be in [{_number(low)}, {_number(high)}], got {value!r}")
        if self.check is not None:
            try:
                self.check(value)
            except ValueError as exc:
                message = str(exc)
                raise ValueError(message if message.startswith(self.name) else f"{self.name} {message}") from exc


def one_of(choices: Iterable[str]) -> Callable[[object], None]:
    """A :attr:`Param.check` that accepts only ``choices``."""
    allowed = tuple(choices)

    def check(value) -> None:
        if value not in allowed:
            raise ValueError(f"must be one of {' | '.join(allowed)}, got {value!r}")

    return check


def validate_changes(table: Iterable[Param], current: Mapping[str, object], changes: Mapping[str, object],
                     check: Callable[[dict], None] | None = None) -> dict[str, object]:
    """The node's values after ``changes`` (name -> value), or ``ValueError`` with the reason the first is refused.

    Names outside ``table`` are not the node's own (``use_sim_time``: ROS checks them) and pass unchanged; a
    read-only row refuses any change, every other row checks its new value (:meth:`Param.validate`); ``check`` is then
    called with every value of the node after the change (a node's joint check, e.g. the link's schedule).
    """
    rows = {p.name: p for p in table}
    new = dict(current)
    for name, value in changes.items():
        row = rows.get(name)
        if row is None:
            continue
        if row.read_only:
            raise ValueError(f"{name} is read-only: set it when the node starts (-p {name}:=...)")
        row.validate(value)
        new[name] = value
    if check is not None:
        check(new)
    return new


def scene_config(purpose: str) -> Param:
    """``scene_config``: the scene YAML, with what the node reads from it."""
    return Param("scene_config", str(CONFIG_DIR / "scene.yaml"), f"scene YAML: {purpose}")


# Rows that are the same in every node that has them.
PRESET = Param("preset", "", "preset applied to the scene (smoke, default, paper; empty: none)")
RUN = Param("run", "", "trained run directory (disac train --out) or its exported artifacts (disac export --out)")
NUM_THREADS = Param("num_threads", 1, "torch CPU threads of the node's process (0: torch's default)", (0, 256))
#: Longest ``stale_after_s`` / ``dead_after_s`` of a node [s]: an hour, far beyond any sim or wall delay.
MAX_AGE_S = 3600.0
#: Most frames or stamps a node buffers (``max_pending``): beyond it, memory, not robustness.
MAX_PENDING = 1000
