"""Checks of what a node receives and what it is about to publish (ROS-free: plain values and duck-typed messages).

Each check returns the value a node uses or raises :class:`disac_ros.live.drops.Dropped` with the reason the
node counts and logs; nothing a publisher sends may end a node, and nothing non-finite may leave one.

* stamps: :func:`header_stamp` (a header's ``sec``/``nanosec``), :func:`finite_stamp` (seconds in a labelled
  array), both within :data:`MAX_STAMP_S`;
* labelled arrays (``std_msgs/Float64MultiArray`` with ``layout.dim[0].label = "a,b,..."``): :func:`labelled`,
  :func:`duration`;
* semantic codes: :func:`code_layout` (shape, on-air dtype, payload);
* target states: :func:`finite_states` (estimates before they are published, ground truth when it arrives).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from disac_ros.live.drops import Dropped
from disac_ros.stamps import NS

#: Stamps are sim time in [0, 2^31) s: ``builtin_interfaces/Time.sec`` is int32 and sim time starts at 0.
MAX_STAMP_S = 2**31
#: Longest duration a stage of Eq. (14) may report [s] (a day): anything longer is not a measurement.
MAX_DURATION_S = 86_400.0
#: On-air bytes per value of each ``SemanticCode.dtype`` (DTYPE_FLOAT32 = 0, DTYPE_FLOAT16 = 1).
CODE_DTYPE_BYTES = {0: 4, 1: 2}
#: Most values one semantic code may carry (16 MiB as float32; the paper's codes have 25,088).
MAX_CODE_VALUES = 1 << 22
#: The fields of a target state that must be finite (class probabilities too); the ``*_std`` fields are NaN by
#: design (no uncertainty) and are not checked.
STATE_FIELDS = ("distance", "azimuth", "pitch", "radial_velocity")


def header_stamp(msg) -> int:
    """The header stamp of ``msg`` in integer nanoseconds; a negative one or ``nanosec >= 10**9`` is dropped."""
    sec, nanosec = int(msg.header.stamp.sec), int(msg.header.stamp.nanosec)
    if sec < 0 or not 0 <= nanosec < NS:
        raise Dropped("invalid", f"header stamp sec {sec} nanosec {nanosec} is not a sim time (sec >= 0, "
                                 f"0 <= nanosec < 10^9)")
    return sec * NS + nanosec


def finite_stamp(value: float, what: str = "stamp_s") -> int:
    """A stamp given in seconds (a labelled array's ``stamp_s``) as integer nanoseconds.

    NaN or infinite: ``nan``; negative or beyond :data:`MAX_STAMP_S`: ``invalid``.
    """
    value = float(value)
    if not math.isfinite(value):
        raise Dropped("nan", f"{what} {value} is not finite")
    if not 0.0 <= value < MAX_STAMP_S:
        raise Dropped("invalid", f"{what} {value:g} s is not a sim time in [0, 2^31) s")
    return round(value * NS)


def labelled(label: str, data: Sequence[float], required: Iterable[str] = ()) -> dict[str, float]:
    """The fields of a labelled array (``label`` "a,b,.." naming ``data``), with the ``required`` fields present.

    As many values as labels, no label twice and every required field present, else ``size``. Values are not
    checked here (NaN may mean "missing", see :func:`duration`).
    """
    fields = label.split(",") if label else []
    if len(fields) != len(data):
        raise Dropped("size", f"{len(data)} values for {len(fields)} labels {fields}")
    if len(set(fields)) != len(fields):
        raise Dropped("size", f"a label appears twice in {fields}")
    missing = [f for f in required if f not in fields]
    if missing:
        raise Dropped("size", f"fields {missing} missing (got {fields})")
    return {f: float(v) for f, v in zip(fields, data, strict=True)}


def duration(value: float, what: str, maximum: float = MAX_DURATION_S, missing_ok: bool = True) -> float:
    """A duration [s] in [0, ``maximum``]; NaN (not measured) passes when ``missing_ok``.

    NaN (when not ``missing_ok``) or infinite: ``nan``; negative or beyond ``maximum``: ``invalid``.
    """
    value = float(value)
    if math.isnan(value) and missing_ok:
        return value
    if not math.isfinite(value):
        raise Dropped("nan", f"{what} {value} is not finite")
    if not 0.0 <= value <= maximum:
        raise Dropped("invalid", f"{what} {value:g} s is not a duration in [0, {maximum:g}] s")
    return value


def code_layout(length: int, dim: int, num_symbols: int, dtype: int, payload_bytes: int) -> int:
    """Check a semantic code's layout; returns its payload in bytes (``payload_bytes``, or computed when 0).

    ``length`` x ``dim`` values, at least one, even (pairs are the I/Q of one channel symbol), at most
    :data:`MAX_CODE_VALUES`, ``num_symbols`` of them (else ``size``); a known ``dtype`` (else ``invalid``); the
    payload 0 (unknown) or exactly the values at ``dtype`` (else ``size``).
    """
    values = int(length) * int(dim)
    if length < 1 or dim < 1:
        raise Dropped("size", f"code is {length}x{dim}: it needs at least one value")
    if values % 2:
        raise Dropped("size", f"code is {length}x{dim} = {values} values: an odd number cannot be I/Q pairs")
    if values > MAX_CODE_VALUES:
        raise Dropped("size", f"code is {length}x{dim} = {values} values, more than {MAX_CODE_VALUES}")
    if num_symbols != values:
        raise Dropped("size", f"code has {num_symbols} symbols, expected length x dim = {values}")
    if dtype not in CODE_DTYPE_BYTES:
        raise Dropped("invalid", f"code dtype {dtype} is not one of {sorted(CODE_DTYPE_BYTES)} (float32, float16)")
    expected = values * CODE_DTYPE_BYTES[dtype]
    if payload_bytes not in (0, expected):
        raise Dropped("size", f"payload of {payload_bytes} bytes, expected {expected} for {values} values at "
                              f"dtype {dtype}")
    return expected


def finite_states(states, reason: str = "nonfinite_output", what: str = "estimate") -> None:
    """Every number of every target state is finite (:data:`STATE_FIELDS` and the class probabilities).

    ``states``: objects with those fields (:class:`disac_ros.inference.TargetEstimate`, ``TargetState``).
    Raises :class:`Dropped` with ``reason`` naming the first non-finite field.
    """
    for s in states:
        for name in STATE_FIELDS:
            value = float(getattr(s, name))
            if not math.isfinite(value):
                raise Dropped(reason, f"{what} of target {s.target_id}: {name} = {value}")
        probs = np.asarray(list(getattr(s, "class_probabilities", ())), dtype=np.float64)
        if not np.isfinite(probs).all():
            raise Dropped(reason, f"{what} of target {s.target_id}: class probabilities {probs.tolist()}")


def finite_array(values: np.ndarray, what: str, reason: str = "nonfinite_output") -> np.ndarray:
    """``values`` when all finite, else :class:`Dropped` with ``reason``."""
    values = np.asarray(values)
    if not np.isfinite(values).all():
        bad = int(np.size(values) - np.isfinite(values).sum())
        raise Dropped(reason, f"{what}: {bad} of {np.size(values)} values are NaN or infinite")
    return values
