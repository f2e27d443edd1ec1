"""disac_ros.sim.motion: the target motion model (pure NumPy): uniform, linear, reflected at the region's edge."""
from __future__ import annotations

import numpy as np

from disac_ros.config import load_scene
from disac_ros.sim.motion import frame_times, sample_trajectories, target_size


def test_motion_uniform_linear_inside_region(cfg):
    long = load_scene(preset="smoke", overrides={"dataset": {"duration": 3.0}})
    lo = np.subtract(long.world.region_center, long.world.region_half_extent)
    hi = np.add(long.world.region_center, long.world.region_half_extent)
    t = np.linspace(0.0, long.dataset.duration, 61)
    for seed in range(20):
        for tr, tgt in zip(sample_trajectories(long, np.random.default_rng(seed)), long.targets, strict=True):
            p, v = tr.position(t), tr.velocity(t)
            assert p.shape == (61, 3) and v.shape == (61, 3)
            np.testing.assert_allclose(np.linalg.norm(v, axis=1), tgt.speed)   # constant speed
            np.testing.assert_allclose(v, np.broadcast_to(v[0], v.shape))       # constant direction
            np.testing.assert_allclose(np.diff(p, axis=0), v[:-1] * (t[1] - t[0]), atol=1e-9)  # p' = v
            assert (p[:, :2] >= lo - 1e-9).all() and (p[:, :2] <= hi + 1e-9).all()
            np.testing.assert_allclose(np.rad2deg(tr.yaw(t)), np.rad2deg(np.arctan2(v[:, 1], v[:, 0])))
            z = tgt.altitude if tgt.type == "drone" else target_size(tgt.type, tgt.scale)[2] / 2
            np.testing.assert_allclose(p[:, 2], z)


def test_motion_reflects_when_path_longer_than_region(cfg):
    long = load_scene(preset="smoke", overrides={"dataset": {"duration": 20.0}})  # car: 80 m in a 16 m region
    t = np.linspace(0.0, 20.0, 2001)
    car = sample_trajectories(long, np.random.default_rng(3))[0]
    p, v = car.position(t), car.velocity(t)
    assert np.abs(p[:, :2]).max() <= 8.0 + 1e-9
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 4.0)
    assert (np.sign(v[:, :2]) != np.sign(v[0, :2])).any()  # it bounced
    step = np.linalg.norm(np.diff(p, axis=0), axis=1)
    assert step.max() <= 4.0 * (t[1] - t[0]) + 1e-9           # continuous path, no jumps


def test_motion_deterministic(cfg):
    a = sample_trajectories(cfg, np.random.default_rng([0, 5]))
    b = sample_trajectories(cfg, np.random.default_rng([0, 5]))
    c = sample_trajectories(cfg, np.random.default_rng([0, 6]))
    t = frame_times(cfg)
    assert len(t) == cfg.dataset.frames_per_sequence
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.position(t), y.position(t))
        np.testing.assert_array_equal(x.velocity(t), y.velocity(t))
    assert not np.allclose(a[0].position(t), c[0].position(t))
