"""disac_ros.sim.labels: labels of Eqs. (55)-(58), their reversible (0, 1) normalisation, and back to world
coordinates."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from disac_ros.sim.labels import (
    KEYS,
    denormalize_labels,
    normalization_spec,
    normalize_labels,
    sensing_labels,
    state_to_world,
)


def test_hand_computed_geometry_device_above():
    device, target, vel = np.array([0.0, 0.0, 10.0]), np.array([3.0, -4.0, 0.0]), np.array([3.0, -4.0, 0.0])
    lab = sensing_labels(device, target, vel)
    assert lab["distance"] == pytest.approx(5.0)                              # Eq. 55: horizontal
    assert lab["azimuth"] == pytest.approx(math.atan2(4.0, 3.0))              # Eq. 56: atan2(0 - -4, 3 - 0)
    assert lab["pitch"] == pytest.approx(math.atan2(10.0, 5.0))               # Eq. 57: device above -> positive
    assert lab["slant_range"] == pytest.approx(math.sqrt(125.0))
    # Eq. 58: velocity (3, -4, 0) projected on the unit vector (3, -4, -10) / sqrt(125)
    assert lab["radial_velocity"] == pytest.approx(25.0 / math.sqrt(125.0))


def test_hand_computed_geometry_target_above_behind():
    # device (5, 5, 1) -> target (2, 9, 4): delta (-3, 4, 3), horizontal 5, slant sqrt(34)
    lab = sensing_labels([5.0, 5.0, 1.0], [2.0, 9.0, 4.0], [0.0, 0.0, 2.0])
    assert lab["distance"] == pytest.approx(5.0)
    assert lab["azimuth"] == pytest.approx(math.atan2(5.0 - 9.0, 2.0 - 5.0))  # third quadrant, about -126.9 deg
    assert np.rad2deg(lab["azimuth"]) == pytest.approx(-126.87, abs=0.01)
    assert lab["pitch"] == pytest.approx(math.atan2(-3.0, 5.0))               # target above -> negative
    assert lab["slant_range"] == pytest.approx(math.sqrt(34.0))
    assert lab["radial_velocity"] == pytest.approx(2.0 * 3.0 / math.sqrt(34.0))  # climbing away


def test_receding_positive_approaching_negative():
    device = np.zeros(3)
    assert sensing_labels(device, [10.0, 0, 0], [2.0, 0, 0])["radial_velocity"] == pytest.approx(2.0)
    assert sensing_labels(device, [10.0, 0, 0], [-2.0, 0, 0])["radial_velocity"] == pytest.approx(-2.0)
    assert sensing_labels(device, [10.0, 0, 0], [0, 3.0, 0])["radial_velocity"] == pytest.approx(0.0)


def test_degenerate_positions_stay_finite():
    lab = sensing_labels([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 1.0, 1.0])   # target at the device
    assert all(np.isfinite(v) for v in lab.values()) and lab["radial_velocity"] == 0.0
    lab = sensing_labels([0.0, 0.0, 5.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0])   # straight below
    assert lab["pitch"] == pytest.approx(math.pi / 2) and lab["distance"] == 0.0


def test_broadcasting_devices_by_targets():
    devices = np.random.default_rng(0).uniform(-20, 20, (4, 1, 3))
    targets = np.random.default_rng(1).uniform(-8, 8, (1, 3, 3))
    vel = np.random.default_rng(2).uniform(-5, 5, (1, 3, 3))
    lab = sensing_labels(devices, targets, vel)
    assert set(lab) == {*KEYS, "slant_range"}
    assert all(v.shape == (4, 3) for v in lab.values())
    for k, n in [(2, 1), (0, 2), (3, 0)]:
        one = sensing_labels(devices[k, 0], targets[0, n], vel[0, n])
        for key, value in one.items():
            assert lab[key][k, n] == pytest.approx(float(value))


def test_bad_shape_raises():
    with pytest.raises(ValueError, match="target_pos"):
        sensing_labels(np.zeros(3), np.zeros((4, 2)), np.zeros(3))


def test_normalization_spec_formulas_and_json():
    spec = normalization_spec(max_distance=80.0, velocity_bound=10.0)
    assert json.loads(json.dumps(spec)) == spec
    lab = {"distance": 20.0, "azimuth": math.pi / 2, "pitch": -math.pi / 4, "radial_velocity": -5.0}
    norm = normalize_labels(lab, 80.0, 10.0)
    assert norm["distance"] == pytest.approx(20.0 / 80.0)
    assert norm["azimuth"] == pytest.approx((math.pi / 2 + math.pi) / (2 * math.pi))
    assert norm["pitch"] == pytest.approx((-math.pi / 4 + math.pi / 2) / math.pi)
    assert norm["radial_velocity"] == pytest.approx((-5.0 + 10.0) / 20.0)
    assert normalize_labels(lab, spec=spec) == norm
    with pytest.raises(ValueError, match="velocity_bound"):
        normalize_labels(lab, 80.0)


def test_normalisation_round_trip_and_range():
    rng = np.random.default_rng(2)
    max_distance, bound = math.hypot(60.0, 60.0), 10.0                        # SceneConfig defaults
    devices = rng.uniform(-30, 30, (500, 3)) * [1, 1, 0] + [0, 0, 1] * rng.uniform(0.5, 30, (500, 1))
    targets = rng.uniform(-8, 8, (500, 3)) * [1, 1, 0] + [0, 0, 1] * rng.uniform(0.1, 5, (500, 1))
    directions = rng.normal(size=(500, 3))
    velocities = directions / np.linalg.norm(directions, axis=1, keepdims=True) * rng.uniform(0, 9.9, (500, 1))
    lab = sensing_labels(devices, targets, velocities)
    norm = normalize_labels(lab, max_distance, bound)
    assert set(norm) == set(KEYS)
    assert all(((v > 0) & (v < 1)).all() for v in norm.values())
    back = denormalize_labels(norm, max_distance, bound)
    for key, value in back.items():
        np.testing.assert_allclose(value, lab[key], atol=1e-9)


def test_state_to_world_inverts_eqs_55_to_57():
    center = np.array([-13.0, -12.0, 9.0])
    target = np.array([3.0, -2.0, 0.75])
    lab = sensing_labels(center, target, np.zeros(3))
    back = state_to_world(center, lab["distance"], lab["azimuth"], lab["pitch"])
    assert np.allclose(back, target)


def test_label_errors_wrap_the_azimuth_only():
    import numpy as np

    from disac_ros.sim.labels import label_errors, wrap_angle

    assert wrap_angle(np.pi) == pytest.approx(-np.pi) and wrap_angle(-np.pi - 0.1) == pytest.approx(np.pi - 0.1)
    err = label_errors([[10.0, np.pi - 0.05, 0.1, 3.0]], [[12.0, -np.pi + 0.05, 0.1 + 2 * np.pi, 1.0]])
    np.testing.assert_allclose(err, [[-2.0, -0.1, -2 * np.pi, 2.0]], atol=1e-12)
