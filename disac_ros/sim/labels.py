"""Sensing labels of Sec. V-A1, Eqs. (55)-(58), and their reversible normalisation into (0, 1).

For device position p_k = (x_k, y_k, z_k) and target centre q_n = (x_n, y_n, z_n) with velocity u_n:

    distance        d     = sqrt((x_k - x_n)^2 + (y_k - y_n)^2)                     (55, horizontal, as printed)
    azimuth         phi   = atan2(y_k - y_n, x_n - x_k)                             (56)
    pitch           theta = atan2(z_k - z_n, d)                                     (57)
    radial velocity v     = u_n . (q_n - p_k) / |q_n - p_k|                         (58, 3-D; > 0 = receding)

The printed Eq. (58) is garbled; we use the projection of the velocity on the device-to-target unit
vector, as its text describes. ``slant_range`` |q_n - p_k| is kept for the radar delay (physics).

Normalisation for the sigmoid heads: x_norm = (x - offset) / scale with
distance (0, max_distance), azimuth (-pi, 2 pi), pitch (-pi/2, pi), radial velocity (-V, 2 V).
"""
from __future__ import annotations

import math

import numpy as np

KEYS = ("distance", "azimuth", "pitch", "radial_velocity")


def sensing_labels(device_pos: np.ndarray, target_pos: np.ndarray, target_vel: np.ndarray) -> dict[str, np.ndarray]:
    """Eqs. (55)-(58) for positions/velocities [..., 3] (broadcast); returns arrays of the broadcast shape."""
    device_pos, target_pos, target_vel = (np.asarray(a, dtype=np.float64) for a in (device_pos, target_pos, target_vel))
    delta = target_pos - device_pos                                   # device -> target
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


def normalization_spec(max_distance: float, velocity_bound: float) -> dict[str, dict[str, float]]:
    """Offset and scale per label so that x_norm = (x - offset) / scale lies in (0, 1)."""
    return {
        "distance": {"offset": 0.0, "scale": float(max_distance)},
        "azimuth": {"offset": -math.pi, "scale": 2 * math.pi},
        "pitch": {"offset": -math.pi / 2, "scale": math.pi},
        "radial_velocity": {"offset": -float(velocity_bound), "scale": 2 * float(velocity_bound)},
    }


def normalize_labels(labels: dict[str, np.ndarray], spec: dict) -> dict[str, np.ndarray]:
    return {k: (np.asarray(labels[k]) - spec[k]["offset"]) / spec[k]["scale"] for k in KEYS}


def denormalize_labels(labels: dict[str, np.ndarray], spec: dict) -> dict[str, np.ndarray]:
    return {k: np.asarray(labels[k]) * spec[k]["scale"] + spec[k]["offset"] for k in KEYS}
