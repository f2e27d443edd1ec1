"""Labels of Eqs. (55)-(58) and their reversible (0, 1) normalisation."""
from __future__ import annotations

import math

import numpy as np
import pytest

from disac_ros.sim.labels import denormalize_labels, normalization_spec, normalize_labels, sensing_labels


def test_hand_computed_geometry():
    device, target, vel = np.array([0.0, 0.0, 10.0]), np.array([3.0, -4.0, 0.0]), np.array([3.0, -4.0, 0.0])
    lab = sensing_labels(device, target, vel)
    assert lab["distance"] == pytest.approx(5.0)                              # Eq. 55: horizontal
    assert lab["azimuth"] == pytest.approx(math.atan2(0.0 - -4.0, 3.0 - 0.0))  # Eq. 56
    assert lab["pitch"] == pytest.approx(math.atan2(10.0, 5.0))               # Eq. 57: device above -> positive
    assert lab["slant_range"] == pytest.approx(math.sqrt(125.0))
    # Eq. 58: velocity (3, -4, 0) projected on the unit vector (3, -4, -10) / sqrt(125)
    assert lab["radial_velocity"] == pytest.approx(25.0 / math.sqrt(125.0))


def test_receding_positive_approaching_negative():
    device = np.zeros(3)
    assert sensing_labels(device, [10.0, 0, 0], [2.0, 0, 0])["radial_velocity"] == pytest.approx(2.0)
    assert sensing_labels(device, [10.0, 0, 0], [-2.0, 0, 0])["radial_velocity"] == pytest.approx(-2.0)
    assert sensing_labels(device, [10.0, 0, 0], [0, 3.0, 0])["radial_velocity"] == pytest.approx(0.0)


def test_broadcasting_devices_by_targets():
    devices = np.random.default_rng(0).uniform(-20, 20, (4, 1, 3))
    targets = np.random.default_rng(1).uniform(-8, 8, (1, 3, 3))
    lab = sensing_labels(devices, targets, np.ones((1, 3, 3)))
    assert all(v.shape == (4, 3) for v in lab.values())
    one = sensing_labels(devices[2, 0], targets[0, 1], np.ones(3))
    assert lab["azimuth"][2, 1] == pytest.approx(float(one["azimuth"]))


def test_normalisation_round_trip_and_range():
    rng = np.random.default_rng(2)
    spec = normalization_spec(max_distance=84.9, velocity_bound=10.0)
    lab = sensing_labels(rng.uniform(-25, 25, (500, 3)) * [1, 1, 0.4] + [0, 0, 5], rng.uniform(-8, 8, (500, 3)),
                         rng.uniform(-5, 5, (500, 3)))
    norm = normalize_labels(lab, spec)
    assert all(((v > 0) & (v < 1)).all() for v in norm.values())
    back = denormalize_labels(norm, spec)
    for key, value in back.items():
        np.testing.assert_allclose(value, lab[key], atol=1e-9)
