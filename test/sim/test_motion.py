"""disac_ros.sim.motion: per-sequence draws (speed, altitude, size variant) and paths (linear or turning), reflected
at the region's edge and clear of the obstacles (pure NumPy)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from disac_ros.config import load_scene
from disac_ros.sim.motion import (
    CHECK_STEP,
    frame_times,
    sample_trajectories,
    sequence_trajectories,
    target_size,
    trunk_radius,
)


def _bounds(cfg):
    lo = np.subtract(cfg.world.region_center, cfg.world.region_half_extent)
    hi = np.add(cfg.world.region_center, cfg.world.region_half_extent)
    return lo, hi


def _linear(duration):
    return load_scene(preset="smoke", overrides={"dataset": {"duration": duration}, "motion": {"model": "linear"},
                                                 "obstacles": []})


def test_linear_motion_uniform_inside_region():
    cfg = _linear(3.0)
    lo, hi = _bounds(cfg)
    t = np.linspace(0.0, cfg.dataset.duration, 61)
    for seed in range(20):
        for tr, tgt in zip(sample_trajectories(cfg, np.random.default_rng(seed)), cfg.targets, strict=True):
            p, v = tr.position(t), tr.velocity(t)
            assert p.shape == (61, 3) and v.shape == (61, 3)
            assert tgt.speed[0] <= tr.speed <= tgt.speed[1]
            np.testing.assert_allclose(np.linalg.norm(v, axis=1), tr.speed)     # constant speed
            np.testing.assert_allclose(np.diff(p, axis=0), v[:-1] * (t[1] - t[0]), atol=1e-9)  # p' = v
            if 2 * tr.speed * cfg.dataset.duration < min(hi - lo):                # fits: a straight path
                np.testing.assert_allclose(v, np.broadcast_to(v[0], v.shape))
            assert (p[:, :2] >= lo - 1e-9).all() and (p[:, :2] <= hi + 1e-9).all()
            np.testing.assert_allclose(np.rad2deg(tr.yaw(t)), np.rad2deg(np.arctan2(v[:, 1], v[:, 0])))
            np.testing.assert_allclose(tr.size, target_size(tgt.type, tgt.scale[tr.variant]))
            z = tr.start[2] if tgt.type == "drone" else tr.size[2] / 2
            np.testing.assert_allclose(p[:, 2], z)


def test_motion_reflects_when_path_longer_than_region():
    cfg = _linear(20.0)                                      # up to 120 m of travel in a 24 m region
    lo, hi = _bounds(cfg)
    t = np.linspace(0.0, 20.0, 2001)
    car = sample_trajectories(cfg, np.random.default_rng(3))[0]
    p, v = car.position(t), car.velocity(t)
    assert (p[:, :2] >= lo - 1e-9).all() and (p[:, :2] <= hi + 1e-9).all()
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), car.speed)
    assert (np.sign(v[:, :2]) != np.sign(v[0, :2])).any()  # it bounced
    step = np.linalg.norm(np.diff(p, axis=0), axis=1)
    assert step.max() <= car.speed * (t[1] - t[0]) + 1e-9  # continuous path, no jumps


def test_draws_within_ranges_and_variants_from_the_pool():
    cfg = load_scene(preset="default")
    speeds, altitudes, variants = {n: [] for n in range(3)}, [], {n: set() for n in range(3)}
    for s in range(150):
        for n, (tr, tgt) in enumerate(zip(sequence_trajectories(cfg, 0, s), cfg.targets, strict=True)):
            assert tgt.speed[0] <= tr.speed <= tgt.speed[1]
            assert tr.variant in range(len(tgt.scale))
            np.testing.assert_allclose(tr.size, target_size(tgt.type, tgt.scale[tr.variant]))
            speeds[n].append(tr.speed)
            variants[n].add(tr.variant)
            if tgt.type == "drone":
                assert tgt.altitude[0] <= tr.start[2] <= tgt.altitude[1]
                altitudes.append(tr.start[2])
            else:
                assert tr.start[2] == pytest.approx(tr.size[2] / 2)
    for n, tgt in enumerate(cfg.targets):
        assert variants[n] == set(range(len(tgt.scale)))                   # every variant drawn
        lo, hi = tgt.speed
        assert np.ptp(speeds[n]) > 0.6 * (hi - lo)                          # spread over the range
    assert np.ptp(altitudes) > 0.6 * np.ptp(cfg.targets[2].altitude)


def test_turns_change_heading_within_a_sequence():
    cfg = load_scene(preset="default", overrides={"motion": {"turn_rate_hz": 2.0}, "obstacles": []})
    t = np.arange(0.0, cfg.dataset.duration, 0.01)
    lo, hi = _bounds(cfg)
    turned = 0
    for s in range(30):
        for tr in sequence_trajectories(cfg, 0, s):
            assert tr.turn_times[0] == 0.0 and (np.diff(tr.turn_times) > 0).all()
            assert (tr.turn_times < cfg.dataset.duration).all()
            assert (np.abs(np.diff(tr.headings)) <= np.deg2rad(cfg.motion.max_turn_deg) + 1e-12).all()
            v = tr.velocity(t)
            np.testing.assert_allclose(np.linalg.norm(v[:, :2], axis=1), tr.speed)
            p = tr.position(t)
            assert (p[:, :2] >= lo - 1e-9).all() and (p[:, :2] <= hi + 1e-9).all()
            assert np.linalg.norm(np.diff(p, axis=0), axis=1).max() <= tr.speed * 0.01 + 1e-9   # no jumps
            turned += len(tr.turn_times) > 1 and np.ptp(np.unwrap(tr.yaw(t))) > 1e-3
    assert turned > 30                                  # about 1 - exp(-4) of the 90 trajectories turn
    no_turns = cfg.model_copy(update={"motion": cfg.motion.model_copy(update={"turn_rate_hz": 0.0})})
    assert all(len(tr.turn_times) == 1 for s in range(10) for tr in sequence_trajectories(no_turns, 0, s))


def _clearance(tr, margin):
    return math.hypot(tr.size[0], tr.size[1]) / 2 + margin


def test_trajectories_keep_clear_of_obstacles_and_each_other():
    cfg = load_scene(preset="default")
    assert any(ob.type == "building" for ob in cfg.obstacles) and any(ob.type == "tree" for ob in cfg.obstacles)
    margin = cfg.motion.obstacle_margin
    t = np.arange(0.0, cfg.dataset.duration + 1e-9, CHECK_STEP / 5)   # finer than the check itself
    slack = 6.0 * CHECK_STEP / 2                                        # what the coarser check can miss
    for s in range(60):
        trajs = sequence_trajectories(cfg, 0, s)
        paths = [tr.position(t) for tr in trajs]
        for tr, p in zip(trajs, paths, strict=True):
            r = _clearance(tr, margin)
            bottom, top = p[0, 2] - tr.size[2] / 2, p[0, 2] + tr.size[2] / 2
            for ob in cfg.obstacles:
                x, y = ob.position
                if ob.type == "building":
                    sx, sy, sz = ob.size
                    if bottom >= sz:
                        continue                                      # a drone over the roof
                    gap = np.hypot(np.maximum(np.abs(p[:, 0] - x) - sx / 2, 0),
                                   np.maximum(np.abs(p[:, 1] - y) - sy / 2, 0))
                    assert gap.min() > r - slack, (s, tr.type, ob)
                else:
                    radius, _, total = ob.size
                    d = np.hypot(p[:, 0] - x, p[:, 1] - y)
                    if bottom < total - 2 * radius:
                        assert d.min() > r + trunk_radius(radius) - slack, (s, tr.type, ob)
                    if top > total - 2 * radius and bottom < total:
                        assert d.min() > r + radius - slack, (s, tr.type, ob)
        for i in range(len(trajs)):
            for j in range(i):
                if abs(paths[i][0, 2] - paths[j][0, 2]) < (trajs[i].size[2] + trajs[j].size[2]) / 2:
                    d = np.hypot(*(paths[i][:, :2] - paths[j][:, :2]).T)
                    assert d.min() > _clearance(trajs[i], 0) + _clearance(trajs[j], 0) - slack


def test_a_crowded_region_raises_naming_it():
    cfg = load_scene(preset="smoke", overrides={
        "world": {"region_half_extent": [4.0, 4.0]},
        "obstacles": [{"type": "building", "position": [0.0, 0.0], "size": [6.0, 6.0, 10.0]}],
        "motion": {"max_tries": 20}})
    with pytest.raises(ValueError, match=r"targets\[0\] \(car.*region \[-4\.0, -4\.0\]\.\.\[4\.0, 4\.0\]"):
        sequence_trajectories(cfg, 0, 0)


def test_deterministic_per_seed_and_sequence(cfg):
    a = sequence_trajectories(cfg, 0, 5)
    b = sequence_trajectories(cfg, 0, 5)
    c = sequence_trajectories(cfg, 0, 6)
    t = frame_times(cfg)
    assert len(t) == cfg.dataset.frames_per_sequence
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.position(t), y.position(t))
        np.testing.assert_array_equal(x.velocity(t), y.velocity(t))
        assert x.variant == y.variant and x.speed == y.speed
    assert not np.allclose(a[0].position(t), c[0].position(t))
    d = sample_trajectories(cfg, np.random.default_rng([0, 5]))        # the same stream
    for x, y in zip(a, d, strict=True):
        np.testing.assert_array_equal(x.position(t), y.position(t))


def test_generator_draws_sequence_trajectories(monkeypatch):
    """The generator's sequence i is ``sequence_trajectories(cfg, seed, i)``; it draws nothing else before it."""
    import disac_ros.data.generate as generate

    cfg = load_scene(preset="smoke")
    calls = []
    real = generate.sequence_trajectories

    def spy(*args, **kwargs):
        calls.append((args, kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(generate, "sequence_trajectories", spy)

    class Stop(Exception):
        pass

    class Scene:
        def set_targets(self, positions, yaws, variants=None):
            self.placed = (np.array(positions), np.array(yaws), variants)
            raise Stop

    gen = generate.Generator(cfg, "/nonexistent", scene=Scene())
    with pytest.raises(Stop):
        gen.chunk_arrays(2, 0)
    assert calls and calls[0][0][1:] == (cfg.seed, 2)
    expected = sequence_trajectories(cfg, cfg.seed, 2)
    positions, yaws, variants = gen.scene.placed
    np.testing.assert_array_equal(positions, [tr.position(0.0) for tr in expected])
    np.testing.assert_array_equal(yaws, [tr.yaw(0.0) for tr in expected])
    np.testing.assert_array_equal(variants, [tr.variant for tr in expected])
