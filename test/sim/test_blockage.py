"""disac_ros.sim.blockage: what a device-to-target path crosses (buildings, canopies, other targets), pure NumPy."""
from __future__ import annotations

import math

import numpy as np
import pytest

from disac_ros.config import load_scene
from disac_ros.sim.blockage import blockage_statistics, path_losses
from disac_ros.sim.motion import target_size

DOG = target_size("dog")


def _scene(obstacles, **propagation):
    return load_scene(preset="smoke", overrides={"obstacles": obstacles, "propagation": propagation})


def _one(cfg, device, centres, yaws=None, sizes=None):
    centres = np.asarray(centres, float).reshape(-1, 3)
    yaws = np.zeros(len(centres)) if yaws is None else yaws
    sizes = np.tile(DOG, (len(centres), 1)) if sizes is None else sizes
    return path_losses(cfg, np.asarray(device, float).reshape(1, 3), centres, yaws, sizes)


def test_target_behind_a_building_is_blocked_and_in_the_open_is_not():
    cfg = _scene([{"type": "building", "position": [0.0, 0.0], "size": [4.0, 4.0, 6.0]}])
    device = [-10.0, 0.0, 3.0]
    p = _one(cfg, device, [[6.0, 0.0, 0.3], [6.0, 8.0, 0.3]])   # behind the building; off to the side
    assert p.loss_db.shape == (1, 2)
    assert p.building[0, 0] and p.blocked[0, 0] and not p.target[0, 0]
    assert p.loss_db[0, 0] >= 2 * cfg.propagation.building_loss_db
    assert p.loss_db[0, 0] == pytest.approx(2 * cfg.propagation.building_loss_db)
    assert not p.building[0, 1] and not p.blocked[0, 1] and p.loss_db[0, 1] == 0.0
    # Over the roof (a high device looking down steeply) the same target is visible again.
    over = _one(cfg, [-3.0, 0.0, 30.0], [[6.0, 0.0, 0.3]])
    assert not over.blocked[0, 0]
    # Two buildings in a row: two crossings.
    two = _scene([{"type": "building", "position": [0.0, 0.0], "size": [2.0, 2.0, 6.0]},
                  {"type": "building", "position": [4.0, 0.0], "size": [2.0, 2.0, 6.0]}])
    p = _one(two, device, [[8.0, 0.0, 0.3]])
    assert p.loss_db[0, 0] == pytest.approx(4 * two.propagation.building_loss_db)


def test_path_through_a_canopy_gets_its_chord_and_is_not_blocked():
    r, total = 2.0, 7.0        # canopy sphere centred at height total - r = 5 m
    cfg = _scene([{"type": "tree", "position": [0.0, 0.0], "size": [r, r, total]}])
    # A horizontal path at z = 5.5 passing 1 m beside the canopy's centre: chord 2 sqrt(r^2 - (1^2 + 0.5^2)).
    p = _one(cfg, [-10.0, 1.0, 5.5], [[10.0, 1.0, 5.5]])
    chord = 2 * math.sqrt(r ** 2 - 1.0 - 0.25)
    assert p.foliage_m[0, 0] == pytest.approx(chord)
    assert not p.blocked[0, 0] and not p.building[0, 0]
    assert p.loss_db[0, 0] == pytest.approx(2 * cfg.propagation.foliage_loss_db_per_m * chord)
    # A target inside the canopy: only the part of the path up to it counts.
    inside = _one(cfg, [-10.0, 0.0, 5.0], [[0.0, 0.0, 5.0]])
    assert inside.foliage_m[0, 0] == pytest.approx(r)
    # Under the canopy (trunks are ignored): nothing.
    under = _one(cfg, [-10.0, 0.0, 1.0], [[10.0, 0.0, 1.0]])
    assert under.foliage_m[0, 0] == 0.0 and under.loss_db[0, 0] == 0.0


def test_target_behind_another_target_is_blocked_and_never_by_itself():
    cfg = _scene([])
    car = target_size("car")
    centres = np.array([[0.0, 0.0, car[2] / 2], [5.0, 0.0, DOG[2] / 2], [5.0, 6.0, DOG[2] / 2]])
    sizes = np.stack([car, DOG, DOG])
    p = _one(cfg, [-10.0, 0.0, 1.0], centres, np.array([np.pi / 2, 0.0, 0.0]), sizes)  # car broadside
    assert p.target[0, 1] and p.blocked[0, 1] and not p.building[0, 1]
    assert p.loss_db[0, 1] == pytest.approx(2 * cfg.propagation.target_loss_db)
    assert not p.target[0, 0] and p.loss_db[0, 0] == 0.0      # the car's own path ends inside its own box
    assert not p.target[0, 2]                                 # the other dog is off the line
    # The car's yaw matters: rotated lengthwise along the line of sight it still covers the dog; moved aside so
    # that only its rotated footprint can reach the line, it blocks broadside and not lengthwise.
    aside = centres.copy()
    aside[0, 1] = 1.5                                         # 1.5 m off the line of sight
    broadside = _one(cfg, [-10.0, 0.0, 1.0], aside, np.array([np.pi / 2, 0.0, 0.0]), sizes)
    lengthwise = _one(cfg, [-10.0, 0.0, 1.0], aside, np.array([0.0, 0.0, 0.0]), sizes)
    assert broadside.target[0, 1] and not lengthwise.target[0, 1]


def test_vectorised_over_devices_and_targets():
    cfg = _scene([{"type": "building", "position": [0.0, 0.0], "size": [4.0, 4.0, 6.0]}])
    devices = np.array([[-10.0, 0.0, 3.0], [10.0, 0.0, 3.0], [0.0, -10.0, 3.0]])
    centres = np.array([[6.0, 0.0, 0.3], [-6.0, 0.0, 0.3]])
    p = path_losses(cfg, devices, centres, np.zeros(2), np.tile(DOG, (2, 1)))
    assert p.blocked.shape == (3, 2)
    np.testing.assert_array_equal(p.building, [[True, False], [False, True], [False, False]])
    for k in range(3):
        for n in range(2):
            single = _one(cfg, devices[k], centres[n])
            assert single.loss_db[0, 0] == pytest.approx(p.loss_db[k, n])


def test_blockage_off_gives_zeros():
    cfg = _scene([{"type": "building", "position": [0.0, 0.0], "size": [4.0, 4.0, 6.0]},
                  {"type": "tree", "position": [0.0, 4.0], "size": [2.0, 2.0, 4.0]}], blockage=False)
    p = _one(cfg, [-10.0, 0.0, 3.0], [[6.0, 0.0, 0.3], [0.0, 0.0, 0.3], [6.0, 4.0, 2.0]])
    assert (p.loss_db == 0).all() and (p.foliage_m == 0).all()
    assert not p.building.any() and not p.target.any() and not p.blocked.any()


def test_blockage_statistics_of_the_default_layout():
    cfg = load_scene(preset="default")
    stats = blockage_statistics(cfg, sequences=40, seed=0)
    assert stats["frames"] == 40 * cfg.dataset.frames_per_sequence and stats["pairs"] == stats["frames"] * 3
    assert list(stats["devices"]) == [d.id for d in cfg.devices]
    for dev in stats["devices"].values():
        assert 0.05 <= dev["blocked"] <= 0.45
        assert set(dev["blocked_by_class"]) == {"car", "dog", "drone"}
        assert dev["blocked"] <= dev["building"] + dev["target"] + 1e-9
    assert stats["all_blocked"] <= 0.05
    assert sum(stats["blocked_devices"]) == pytest.approx(1.0, abs=1e-3)
    off = blockage_statistics(cfg.model_copy(update={"propagation": cfg.propagation.model_copy(
        update={"blockage": False})}), sequences=3, seed=0)
    assert all(d["blocked"] == 0.0 for d in off["devices"].values())
