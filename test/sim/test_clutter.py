"""disac_ros.sim.clutter: an empty scene returns nothing, a wall returns at its range with zero Doppler and the
model's reflectivity, canopies move by Billingsley's spectrum, the ground behind a building is shadowed, and every
device's clutter enters all of its per-target echoes, while ``clutter.model: none`` gives the earlier echoes."""
from __future__ import annotations

import numpy as np
import pytest

from disac_ros.config import load_scene
from disac_ros.data.generate import frame_sensing
from disac_ros.sim import clutter, estimators, radar
from disac_ros.sim.blockage import static_path_loss
from disac_ros.sim.labels import sensing_labels

WALL_DEVICE = {"id": "device_0", "position": [-21.0, 0.0, 3.0], "lookat": [0.0, 0.0, 3.0]}


def _scene(**overrides):
    base = {"radar": {"num_chirps": 8, "chirp_interval": 500e-6}}
    return load_scene(overrides={**base, **overrides})


def test_no_obstacles_and_no_ground_give_no_clutter():
    cfg = _scene(obstacles=[], clutter={"ground": False})
    for k, part in enumerate(clutter.scene_clutter(cfg)):
        assert len(clutter.device_scatterers(cfg, k).rcs) == 0
        assert not np.any(part.steady) and len(part.moving) == 0
        assert not np.any(part.frame(np.random.default_rng(0)))
    assert clutter.scene_clutter(_scene(clutter={"model": "none"})) is None


def test_fresnel_coefficient_of_a_lossless_material():
    assert clutter.fresnel_power((4.0, 0.0), (0.0, 0.0), 10e9) == pytest.approx(1 / 9)   # ((1 - 2) / (1 + 2))^2
    concrete = clutter.fresnel_power((5.31, 0.0), (0.0326, 0.8095), 10e9)                 # ITU-R P.2040 concrete
    assert 0.15 < concrete < 0.16


def test_a_wall_in_the_beam_returns_at_its_range_with_zero_doppler_and_its_reflectivity():
    # one 10 m wide, 6 m high face at x = -1, 20 m in front of a device 3 m up; no ground, no dihedral
    cfg = _scene(devices=[WALL_DEVICE], obstacles=[{"type": "building", "position": [0.0, 0.0], "size": [2, 10, 6]}],
                 clutter={"ground": False, "corners": False})
    sc = clutter.device_scatterers(cfg, 0)
    wall = sc.kind == clutter.KINDS.index("wall")
    assert wall.all() and np.allclose(sc.position[:, 0], -1.0 - 0.01)      # only the face that looks at the device
    cl = cfg.clutter
    smooth = 4 * cl.wall_scattering ** 2 * clutter.fresnel_power(cl.wall_permittivity, cl.wall_conductivity, 10e9)
    assert 0.85 < sc.rcs.sum() / (smooth * 10 * 6) < 1.0                    # cos^2 of the incidence, 0.9-1 here
    part = clutter.scene_clutter(cfg)[0]
    echo = part.frame(np.random.default_rng(0))
    assert np.allclose(echo, echo[0])                                       # steady: the same in every chirp
    pose = radar.ArrayPose.for_device(cfg.devices[0], cfg.radar)
    e = estimators.classical_estimate(echo.astype(np.complex64), cfg.radar, pose, np.zeros(3), detector="fixed")
    assert e.detected and 20.0 - 0.5 < e.slant_range < 22.0                 # the face, 20-21 m away
    assert abs(e.radial_velocity) < 0.05                                    # zero Doppler


def test_the_dihedral_of_a_wall_and_the_ground_peaks_broadside():
    obstacles = [{"type": "building", "position": [0.0, 0.0], "size": [2, 3, 4]}]
    broadside = clutter.device_scatterers(_scene(devices=[WALL_DEVICE], obstacles=obstacles), 0)
    aside = clutter.device_scatterers(_scene(devices=[{**WALL_DEVICE, "position": [-21.0, 2.0, 3.0]}],
                                             obstacles=obstacles), 0)
    corner = clutter.KINDS.index("corner")
    strong, weak = broadside.rcs[broadside.kind == corner].max(), aside.rcs[aside.kind == corner].max()
    assert strong > 100 * weak                                              # 5.4 deg off: the sinc's sidelobes


def test_canopies_move_by_billingsleys_spectrum_and_the_rest_stands_still():
    ratio, beta = clutter.billingsley(3.0, 10e9)                            # 6.71 mph at 10 GHz
    assert ratio == pytest.approx(1.580, abs=0.01) and beta == pytest.approx(7.686, abs=0.01)
    cfg = _scene()
    rho = clutter.chirp_correlation(cfg)
    assert np.allclose(np.diag(rho), 1) and np.all(np.diff(rho[0]) < 0)
    half = radar.wavelength(cfg.radar) * beta / (4 * np.pi)                 # rho(half) = 1 / 2
    assert 1 / (1 + (4 * np.pi * half / (radar.wavelength(cfg.radar) * beta)) ** 2) == pytest.approx(0.5)
    part = clutter.scene_clutter(cfg)[0]
    a, b = part.frame(np.random.default_rng(1)), part.frame(np.random.default_rng(2))
    assert len(part.moving) == np.sum(clutter.device_scatterers(cfg, 0).kind == clutter.KINDS.index("canopy"))
    assert not np.allclose(a, b)                                            # the leaves moved between frames
    treeless = _scene(obstacles=[ob for ob in cfg.model_dump()["obstacles"] if ob["type"] == "building"])
    ground_and_walls = clutter.scene_clutter(treeless)[0]                  # no canopy: nothing moves
    one, two = (ground_and_walls.frame(np.random.default_rng(i)) for i in (1, 2))
    assert np.array_equal(one, two)
    still = _scene(clutter={"wind_speed": 0.0})
    c = clutter.scene_clutter(still)[0]
    assert len(c.moving) == 0 and np.allclose(c.frame(np.random.default_rng(1)), c.frame(np.random.default_rng(2)))


def test_the_ground_behind_a_building_is_shadowed():
    cfg = _scene(devices=[WALL_DEVICE], obstacles=[{"type": "building", "position": [0.0, 0.0], "size": [2, 10, 6]}])
    loss = static_path_loss(cfg, WALL_DEVICE["position"], [[5.0, 0.0, 0.0], [-10.0, 0.0, 0.0]])
    assert loss[0] == pytest.approx(2 * cfg.propagation.building_loss_db) and loss[1] == 0.0


def _old_frame_sensing(cfg, positions, velocities, yaws, sizes, rng):
    """The per-target echoes as the generator made them before clutter (target and noise only)."""
    from disac_ros.sim.blockage import path_losses
    from disac_ros.sim.radar import aspect_rcs, draw_rcs, synthesize_echo

    dev = np.array([d.position for d in cfg.devices])
    radial = sensing_labels(dev[:, None, :], positions[None], velocities[None])["radial_velocity"]
    losses = path_losses(cfg, dev, positions, yaws, sizes)
    out = []
    for k, device in enumerate(cfg.devices):
        pose = radar.ArrayPose.for_device(device, cfg.radar)
        slant, azimuth, pitch, off = pose.local(positions)
        for n, tgt in enumerate(cfg.targets):
            los = positions[n, :2] - dev[k, :2]
            rcs = draw_rcs(aspect_rcs(tgt.radar_cross_section, tgt.aspect_ratio_db,
                                      float(yaws[n]) - float(np.arctan2(los[1], los[0]))),
                           tgt.swerling, cfg.radar.num_chirps, rng)
            out.append(synthesize_echo(cfg.radar, float(slant[n]), float(azimuth[n]), float(pitch[n]),
                                       float(radial[k, n]), rcs, rng, loss_db=float(losses.loss_db[k, n]),
                                       off_boresight=float(off[n])))
    return np.stack(out).reshape(len(cfg.devices), len(cfg.targets), *out[0].shape)


def test_every_echo_of_a_device_holds_its_clutter_and_none_reproduces_the_earlier_echoes():
    on = _scene()
    off = _scene(clutter={"model": "none"})
    positions = np.array([[2.0, -5.0, 0.8], [-6.0, 2.0, 0.3], [4.0, 8.0, 5.0]])
    velocities = np.array([[3.0, 1.0, 0.0], [-1.0, 0.5, 0.0], [0.0, -4.0, 0.0]])
    yaws, sizes = np.array([0.3, 2.0, -1.0]), np.array([[4.2, 1.8, 1.5], [0.9, 0.4, 0.6], [0.8, 0.8, 0.3]])
    seed = [5, 1, 2]
    a = frame_sensing(on, positions, velocities, yaws, sizes, np.random.default_rng(seed))
    b = frame_sensing(off, positions, velocities, yaws, sizes, np.random.default_rng(seed))
    old = _old_frame_sensing(off, positions, velocities, yaws, sizes, np.random.default_rng(seed))
    assert np.array_equal(b.echoes, old)                                   # model: none is the earlier generator
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.rcs, b.rcs)
    background = np.random.default_rng(seed).spawn(1)[0]
    for k, part in enumerate(clutter.scene_clutter(on)):
        expected = part.frame(background)                                  # the frame's clutter of device k
        for n in range(3):                                                 # the same in each per-target echo
            np.testing.assert_allclose(a.echoes[k, n] - b.echoes[k, n], expected, atol=1e-6 * np.abs(expected).max())
