"""Checks of what a node receives and what it is about to publish (ROS-free: plain values and duck-typed messages).

Each check returns the value a node uses or raises :class:`disac_ros.live.drops.Dropped` with the reason the
node counts and logs; nothing a publisher sends may end a node, and nothing non-finite may leave one.

* stamps: :func:`header_stamp` (a header's ``sec``/``nanosec``);
* durations (the encoder timings and link delays of Eq. 14): :func:`duration`;
* semantic codes: :func:`code_layout` (shape, on-air dtype, payload);
* target states: :func:`finite_states` (estimates before they are published, ground truth when it arrives).
"""
from __future__ import annotations

import math

import numpy as np

from disac_ros.live.drops import Dropped
from disac_ros.stamps import NS

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
