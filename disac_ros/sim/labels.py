"""Sensing labels of Sec. V-A1, Eqs. (55)-(58), and their reversible normalisation into (0, 1).

For device position p_k = (x_k, y_k, z_k) and target centre q_n = (x_n, y_n, z_n) with velocity u_n:

    distance        d     = sqrt((x_k - x_n)^2 + (y_k - y_n)^2)                     (55, horizontal, as printed)
    azimuth         phi   = atan2(y_k - y_n, x_n - x_k)                             (56)
    pitch           theta = atan2(z_k - z_n, d)                                     (57, > 0: target below)
    radial velocity v     = u_n . (q_n - p_k) / |q_n - p_k|                         (58, 3-D; > 0 = receding)

The printed Eq. (58) is garbled; we use the projection of the velocity on the device-to-target unit
vector, as its text describes. ``slant_range`` |q_n - p_k| is kept for the radar delay (physics).
A target at the device itself gets v = 0; one straight below or above gets phi = 0, theta = +-pi/2.

Normalisation for the sigmoid heads, x_norm = (x - offset) / scale (``normalization_spec``, stored in the
dataset manifest), with V the velocity bound:

    distance        d / max_distance                 offset 0,       scale max_distance
    azimuth         (phi + pi) / (2 pi)              offset -pi,     scale 2 pi
    pitch           (theta + pi/2) / pi              offset -pi/2,   scale pi
    radial velocity (v + V) / (2 V)                  offset -V,      scale 2 V

In-bounds geometry (d < max_distance, |v| < V, not straight above/below) maps into the open interval (0, 1).
"""
from __future__ import annotations

import math

import numpy as np

#: The four regression targets, in the heads' order.
KEYS = ("distance", "azimuth", "pitch", "radial_velocity")


def sensing_labels(device_pos: np.ndarray, target_pos: np.ndarray, target_vel: np.ndarray) -> dict[str, np.ndarray]:
    """Eqs. (55)-(58) for positions/velocities [..., 3] (broadcast against each other).

    Returns float64 arrays of the broadcast leading shape [...] for ``KEYS`` and ``slant_range``.
    """
    device_pos, target_pos, target_vel = (np.asarray(a, dtype=np.float64) for a in (device_pos, target_pos, target_vel))
    for name, a in (("device_pos", device_pos), ("target_pos", target_pos), ("target_vel", target_vel)):
        if a.ndim == 0 or a.shape[-1] != 3:
            raise ValueError(f"sensing_labels: {name} must be [..., 3], got {list(a.shape)}")
    delta = target_pos - device_pos                                   # device -> target [..., 3]
    horizontal = np.hypot(delta[..., 0], delta[..., 1])
    slant = np.linalg.norm(delta, axis=-1)
    unit = delta / np.maximum(slant, 1e-9)[..., None]
    return {
        "distance": horizontal,
        "azimuth": np.arctan2(-delta[..., 1], delta[..., 0]),
        "pitch": np.arctan2(-delta[..., 2], horizontal),
        "radial_velocity": np.sum(target_vel * unit, axis=-1),
        "slant_range": slant,
    }


def wrap_angle(angle):
    """Angles (or angle differences) wrapped to [-pi, pi) (a difference of exactly pi reads as -pi)."""
    return (np.asarray(angle) + np.pi) % (2 * np.pi) - np.pi


def label_errors(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Estimate - truth of SI labels [..., 4] in ``KEYS`` order, the azimuth error wrapped (:func:`wrap_angle`)."""
    err = np.asarray(pred, dtype=np.float64) - np.asarray(true, dtype=np.float64)
    err[..., 1] = wrap_angle(err[..., 1])
    return err


def normalization_spec(max_distance: float, velocity_bound: float) -> dict[str, dict[str, float]]:
    """Offset and scale per label so that x_norm = (x - offset) / scale lies in (0, 1); JSON-serialisable."""
    if not (max_distance > 0 and velocity_bound > 0):
        raise ValueError(f"max_distance ({max_distance}) and velocity_bound ({velocity_bound}) must be positive")
    return {
        "distance": {"offset": 0.0, "scale": float(max_distance)},
        "azimuth": {"offset": -math.pi, "scale": 2 * math.pi},
        "pitch": {"offset": -math.pi / 2, "scale": math.pi},
        "radial_velocity": {"offset": -float(velocity_bound), "scale": 2 * float(velocity_bound)},
    }


def _spec(max_distance: float | None, velocity_bound: float | None, spec: dict | None) -> dict:
    if spec is not None:
        return spec
    if max_distance is None or velocity_bound is None:
        raise ValueError("give max_distance and velocity_bound, or spec=normalization_spec(...)")
    return normalization_spec(max_distance, velocity_bound)


def normalize_labels(labels: dict[str, np.ndarray], max_distance: float | None = None,
                     velocity_bound: float | None = None, *, spec: dict | None = None) -> dict[str, np.ndarray]:
    """SI labels -> (0, 1) for ``KEYS`` (other keys dropped); ``spec`` (e.g. from a manifest) overrides the bounds."""
    spec = _spec(max_distance, velocity_bound, spec)
    return {k: (np.asarray(labels[k]) - spec[k]["offset"]) / spec[k]["scale"] for k in KEYS}


def denormalize_labels(labels: dict[str, np.ndarray], max_distance: float | None = None,
                       velocity_bound: float | None = None, *, spec: dict | None = None) -> dict[str, np.ndarray]:
    """Inverse of ``normalize_labels``: (0, 1) -> SI units for ``KEYS``."""
    spec = _spec(max_distance, velocity_bound, spec)
    return {k: np.asarray(labels[k]) * spec[k]["scale"] + spec[k]["offset"] for k in KEYS}


def state_to_world(reference: np.ndarray, distance: float, azimuth: float, pitch: float) -> np.ndarray:
    """Inverse of Eqs. (55)-(57): world position [3] of a target at (distance, azimuth, pitch) from ``reference``."""
    x, y, z = (float(v) for v in reference)
    return np.array([x + distance * math.cos(azimuth), y - distance * math.sin(azimuth),
                     z - distance * math.tan(pitch)])
