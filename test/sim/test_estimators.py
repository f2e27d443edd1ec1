"""disac_ros.sim.estimators: the frozen classical baseline recovers range, world angles and velocity of targets in
front of the array, measures the link budget's SNR, reports blocked targets as not detected with the stated
fallback, and is fast and batch-invariant; its MTI notch removes a steady return and keeps a moving one, and its
CA-CFAR keeps the false-alarm rate it is designed for.

Echoes of a target in noise alone test the estimation steps with the known-noise detector (``fixed``): there is
nothing for the notch to remove, and its loss on slow targets is tested on its own below."""
from __future__ import annotations

import time

import numpy as np
import pytest

from disac_ros.config import RadarConfig
from disac_ros.sim import estimators as est
from disac_ros.sim import radar
from disac_ros.sim.labels import sensing_labels

DEFAULT = RadarConfig(num_chirps=8, chirp_interval=500e-6)          # the default preset's radar
LOUD = RadarConfig(num_chirps=8, chirp_interval=500e-6, transmit_power=10.0)   # +30 dB: clean-ish echoes
DEVICE, LOOKAT = np.array([-13.0, -12.0, 9.0]), np.array([0.0, 0.0, 0.5])
POSE = radar.ArrayPose.from_device(DEVICE, LOOKAT)
CENTER = np.array([0.0, 0.0, 0.5])                                   # the fallback point (region centre)
RANGE_BIN = 3e8 / (2 * 60e6)                                         # 2.5 m sample grid
VELOCITY_RESOLUTION = 0.03 / (2 * 8 * 500e-6)                        # lambda / (2 N T_c) = 3.75 m/s


def _scene(cfg, pose, count, rng, rcs=100.0, loss_db=0.0, ranges=(8.0, 60.0), noise=True):
    """Random targets in front of ``pose``'s array: echoes [M, C, A, S] and world truth."""
    echoes, truth = [], []
    for _ in range(count):
        point = pose.to_world(rng.uniform(*ranges), rng.uniform(-1.0, 1.0), rng.uniform(-0.75, 0.75))
        velocity = rng.uniform(-1, 1, 3) * 4.0
        slant, az, el, off = pose.local(point)
        labels = sensing_labels(pose.position, point, velocity)
        echoes.append(radar.synthesize_echo(cfg, float(slant), float(az), float(el),
                                            float(labels["radial_velocity"]), rcs, rng, noise, loss_db=loss_db,
                                            off_boresight=float(off)))
        truth.append(labels)
    return np.stack(echoes), {k: np.array([t[k] for t in truth]) for k in truth[0]}


def fixed(*args, **kwargs):
    return est.classical_estimates(*args, detector="fixed", **kwargs)


def fixed_one(*args, **kwargs):
    return est.classical_estimate(*args, detector="fixed", **kwargs)


def _angle_error(a, b):
    return np.abs((np.asarray(a) - np.asarray(b) + np.pi) % (2 * np.pi) - np.pi)


def test_recovers_range_world_angles_and_velocity_in_front_of_the_array():
    echoes, truth = _scene(LOUD, POSE, 60, np.random.default_rng(0))
    e = fixed(echoes, LOUD, POSE, CENTER)
    assert len(e) == 60 and e.detected.all()
    range_error = np.abs(e.slant_range - truth["slant_range"])
    assert range_error.max() < 0.2 * RANGE_BIN                       # interpolated: a fraction of the 2.5 m grid
    assert np.sqrt(np.mean(range_error**2)) < 0.1
    assert np.rad2deg(_angle_error(e.azimuth, truth["azimuth"])).max() < 1.0      # WORLD frame (Eq. 56)
    assert np.rad2deg(_angle_error(e.pitch, truth["pitch"])).max() < 1.0          # WORLD frame (Eq. 57)
    assert np.abs(e.radial_velocity - truth["radial_velocity"]).max() < VELOCITY_RESOLUTION
    assert np.abs(e.radial_velocity - truth["radial_velocity"]).max() < 0.1      # interpolated well below it
    np.testing.assert_allclose(e.distance, e.slant_range * np.cos(e.pitch), rtol=1e-9)  # Eq. (55): horizontal
    assert np.abs(e.distance - truth["distance"]).max() < 0.5


def test_world_x_first_model_angles_are_the_labels():
    cfg = RadarConfig(num_chirps=8, chirp_interval=500e-6, boresight="world_x", amplitude="paper_eq2",
                      noise="reference_snr")
    pose = radar.ArrayPose.from_device(DEVICE, LOOKAT, cfg.boresight)          # faces +x, whatever it looks at
    echoes, truth = _scene(cfg, pose, 20, np.random.default_rng(1))
    e = fixed(echoes, cfg, pose, CENTER)
    assert e.detected.all()
    np.testing.assert_allclose(e.azimuth, e.azimuth_local) and np.testing.assert_allclose(e.pitch, e.pitch_local)
    assert np.rad2deg(_angle_error(e.azimuth, truth["azimuth"])).max() < 1.0
    assert np.rad2deg(_angle_error(e.pitch, truth["pitch"])).max() < 1.0


@pytest.mark.parametrize("distance, rcs", [(15.0, 1.0), (25.0, 1.0), (40.0, 10.0)])
def test_peak_snr_measures_the_link_budget(distance, rcs):
    rng = np.random.default_rng(2)
    point = POSE.to_world(distance, 0.3, 0.2)
    slant, az, el, off = POSE.local(point)
    echoes = np.stack([radar.synthesize_echo(DEFAULT, distance, float(az), float(el), 1.5, rcs, rng,
                                             off_boresight=float(off)) for _ in range(40)])
    e = fixed(echoes, DEFAULT, POSE, CENTER)
    budget = radar.radar_budget(DEFAULT, distance, rcs, off_boresight=off)["integrated_snr_db"]
    assert e.detected.all()
    assert 10 * np.log10(np.mean(10 ** (e.peak_snr_db / 10)) - 1) == pytest.approx(budget, abs=1.0)


def test_blocked_target_is_not_detected_and_reported_at_the_region_centre():
    rng = np.random.default_rng(3)
    blocked, _ = _scene(DEFAULT, POSE, 40, rng, loss_db=80.0, ranges=(15.0, 30.0))
    silent, _ = _scene(DEFAULT, POSE, 40, rng, loss_db=400.0, ranges=(15.0, 30.0))   # noise only
    open_air, _ = _scene(DEFAULT, POSE, 40, rng, ranges=(15.0, 30.0))
    e_blocked, e_silent, e_open = (fixed(x, DEFAULT, POSE, CENTER)
                                   for x in (blocked, silent, open_air))
    assert e_open.detected.all() and not e_blocked.detected.any() and not e_silent.detected.any()
    # the blocked peak is at noise level: its mean power within a dB of a noise-only frame's, far below the open's
    mean_db = [10 * np.log10(np.mean(10 ** (e.peak_snr_db / 10))) for e in (e_blocked, e_silent, e_open)]
    assert mean_db[0] == pytest.approx(mean_db[1], abs=1.0) and mean_db[2] > mean_db[0] + 20
    assert np.all(e_blocked.peak_snr_db < est.DETECTION_THRESHOLD_DB)
    # fallback: the region centre as seen by the device (Eqs. 55-57), radial velocity 0, no RCS
    seen = sensing_labels(DEVICE, CENTER, np.zeros(3))
    for key in ("distance", "azimuth", "pitch", "slant_range"):
        np.testing.assert_allclose(getattr(e_blocked, key), seen[key], rtol=1e-12)
    assert np.all(e_blocked.radial_velocity == 0) and np.all(np.isnan(e_blocked.rcs_db))
    assert np.all(np.isfinite(e_open.rcs_db))


def test_target_behind_the_array_is_not_detected():
    rng = np.random.default_rng(4)
    point = POSE.to_world(20.0, np.deg2rad(150.0), 0.1)              # behind: the element pattern gives 0
    slant, az, el, off = POSE.local(point)
    assert off > np.pi / 2
    echo = radar.synthesize_echo(DEFAULT, float(slant), float(az), float(el), 0.0, 100.0, rng,
                                 off_boresight=float(off))
    e = fixed_one(echo, DEFAULT, POSE, CENTER)
    assert not e.detected and e.radial_velocity == 0.0


def test_rcs_estimate_recovers_the_class_rcs():
    rng = np.random.default_rng(5)
    for rcs in (100.0, 10.0, 1.0):
        echoes, _ = _scene(LOUD, POSE, 10, rng, rcs=rcs, ranges=(10.0, 40.0))
        e = fixed(echoes, LOUD, POSE, CENTER)
        np.testing.assert_allclose(e.rcs_db, 10 * np.log10(rcs), atol=1.0)   # inverted radar equation + pattern


def test_threshold_is_a_parameter():
    rng = np.random.default_rng(6)
    point = POSE.to_world(25.0, 0.0, 0.0)
    echo = radar.synthesize_echo(DEFAULT, 25.0, 0.0, 0.0, 0.0, 1.0, rng)
    e = fixed_one(echo, DEFAULT, POSE, CENTER)
    assert e.detected and e.peak_snr_db > 20
    assert fixed_one(echo, DEFAULT, POSE, CENTER, threshold_db=e.peak_snr_db + 1).detected is False
    assert np.linalg.norm(POSE.to_world(e.slant_range, e.azimuth_local, e.pitch_local) - point) < 1.0


def test_single_chirp_gives_zero_velocity():
    cfg = RadarConfig(transmit_power=1.0)                            # the paper's single pulse
    rng = np.random.default_rng(7)
    echoes, truth = _scene(cfg, POSE, 10, rng, ranges=(10.0, 30.0))
    e = fixed(echoes, cfg, POSE, CENTER)
    assert e.detected.all() and np.all(e.radial_velocity == 0.0)
    assert np.abs(e.slant_range - truth["slant_range"]).max() < 0.2 * RANGE_BIN
    assert np.rad2deg(_angle_error(e.azimuth, truth["azimuth"])).max() < 1.0


def test_vectorised_equals_scalar_across_blocks_and_poses(monkeypatch):
    rng = np.random.default_rng(8)
    poses = [radar.ArrayPose.from_device(p, (0.0, 0.0, 0.5)) for p in [DEVICE, (17.0, -8.0, 3.5), (8.0, 15.0, 6.0)]]
    echoes, per_pose, fallbacks = [], [], []
    for i in range(9):
        pose = poses[i % 3]
        x, _ = _scene(DEFAULT, pose, 1, rng, rcs=10.0, loss_db=80.0 if i % 4 == 0 else 0.0)   # some undetected
        echoes.append(x[0])
        per_pose.append(pose)
        fallbacks.append(CENTER + [0.0, i, 0.0])
    echoes = np.stack(echoes)
    monkeypatch.setattr(est, "_BATCH", 4)                            # 9 echoes in blocks of 4, 4 and 1
    batch = est.classical_estimates(echoes, DEFAULT, per_pose, np.stack(fallbacks))
    assert 0 < batch.detected.sum() < 9
    for i in range(9):
        single = est.classical_estimate(echoes[i], DEFAULT, per_pose[i], fallbacks[i])
        assert isinstance(single, est.Estimate) and single.detected == batch.detected[i]
        for key, value in batch.as_dict().items():
            np.testing.assert_allclose(getattr(single, key), value[i], rtol=1e-5, atol=1e-6, equal_nan=True,
                                       err_msg=key)
        assert batch[i].distance == pytest.approx(single.distance, rel=1e-5)
    assert batch["distance"] is batch.distance and set(batch.keys()) == set(batch.as_dict())   # dict-like too
    with pytest.raises(KeyError):
        batch["range"]


def test_six_thousand_default_echoes_in_well_under_a_minute():
    rng = np.random.default_rng(9)
    clean, truth = _scene(DEFAULT, POSE, 20, rng, rcs=10.0, ranges=(10.0, 35.0), noise=False)
    sigma = np.sqrt(radar.noise_power(DEFAULT) / 2)
    echoes = np.tile(clean, (300, 1, 1, 1))                          # 6,000 noisy echoes of 20 geometries
    echoes = echoes + (sigma * (rng.standard_normal(echoes.shape) + 1j * rng.standard_normal(echoes.shape))
                       ).astype(np.complex64)
    start = time.perf_counter()
    e = est.classical_estimates(echoes, DEFAULT, POSE, CENTER)
    elapsed = time.perf_counter() - start
    assert len(e) == 6000 and elapsed < 30.0, f"{elapsed:.1f} s for 6,000 echoes"
    assert e.detected.mean() > 0.97                                  # the notch loses the slowest (|v| < ~0.3 m/s)
    assert np.median(np.abs(e.slant_range - np.tile(truth["slant_range"], 300))) < 0.5


def test_rejects_mismatched_inputs():
    echo = radar.synthesize_echo(DEFAULT, 20.0, 0.0, 0.0, 0.0, 1.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="echoes must be"):
        est.classical_estimates(echo[None], RadarConfig(num_chirps=4, chirp_interval=500e-6), POSE, CENTER)
    with pytest.raises(ValueError, match="echoes must be"):
        est.classical_estimates(echo, DEFAULT, POSE, CENTER)
    with pytest.raises(ValueError, match="echo must be"):
        est.classical_estimate(echo[None], DEFAULT, POSE, CENTER)
    with pytest.raises(ValueError, match="poses"):
        est.classical_estimates(np.stack([echo, echo]), DEFAULT, [POSE], CENTER)


def test_the_notch_removes_a_steady_return_and_keeps_a_moving_one():
    # a steady 100 m^2 return at 15 m (a wall, a corner) and a 1 m^2 target receding at 3 m/s at 30 m, in one echo
    rng = np.random.default_rng(8)
    steady_point, moving_point = POSE.to_world(15.0, 0.1, 0.05), POSE.to_world(30.0, -0.3, 0.1)
    parts = []
    for point, rcs, velocity in ((steady_point, 100.0, 0.0), (moving_point, 1.0, 3.0)):
        slant, az, el, off = (float(v) for v in POSE.local(point))
        parts.append(radar.synthesize_echo(DEFAULT, slant, az, el, velocity, rcs, rng, noise=False, off_boresight=off))
    sigma = np.sqrt(radar.noise_power(DEFAULT) / 2)
    echoes = np.stack([parts[0] + parts[1] + sigma * (rng.standard_normal(parts[0].shape)
                                                      + 1j * rng.standard_normal(parts[0].shape))
                       for _ in range(20)]).astype(np.complex64)
    textbook = fixed(echoes, DEFAULT, POSE, CENTER)
    assert np.all(np.abs(textbook.slant_range - 15.0) < 1.0)              # the known-noise threshold takes the wall
    notched = est.classical_estimates(echoes, DEFAULT, POSE, CENTER)      # the default: MTI, then CA-CFAR
    assert notched.detected.all() and np.all(np.abs(notched.slant_range - 30.0) < 0.5)
    assert np.all(np.abs(notched.radial_velocity - 3.0) < 0.3)
    # the notch's loss is undone in the level: the RCS is the target's within the estimate's spread
    assert np.abs(np.median(notched.rcs_db)) < 2.0


def test_a_target_slower_than_the_notch_is_lost():
    rng = np.random.default_rng(9)
    point = POSE.to_world(25.0, 0.0, 0.0)
    echoes = np.stack([radar.synthesize_echo(DEFAULT, 25.0, 0.0, 0.0, 0.05, 1.0, rng) for _ in range(20)])
    assert fixed(echoes, DEFAULT, POSE, CENTER).detected.all()            # 0.05 m/s: 1/75 of a Doppler bin
    assert not est.classical_estimates(echoes, DEFAULT, POSE, CENTER).detected.any()
    assert np.linalg.norm(POSE.to_world(25.0, 0.0, 0.0) - point) < 1e-9


def test_nothing_is_detected_inside_the_minimum_range():
    """A moving return at 2.5 m (inside the 5 m blind zone) is not taken; one at 12 m beside it is."""
    rng = np.random.default_rng(11)
    near = radar.synthesize_echo(LOUD, 2.5, 0.0, 0.0, 3.0, 100.0, rng, noise=False)
    far = radar.synthesize_echo(LOUD, 12.0, 0.2, 0.0, 2.0, 1.0, rng, noise=False)
    sigma = np.sqrt(radar.noise_power(LOUD) / 2)
    noise = sigma * (rng.standard_normal((10, *near.shape)) + 1j * rng.standard_normal((10, *near.shape)))
    alone = est.classical_estimates((near + noise).astype(np.complex64), LOUD, POSE, CENTER)
    assert np.all(~alone.detected | (alone.slant_range >= est.MIN_RANGE_M))
    both = est.classical_estimates((near + far + noise).astype(np.complex64), LOUD, POSE, CENTER)
    assert both.detected.all() and np.all(np.abs(both.slant_range - 12.0) < 0.5)
    assert np.isfinite(both.rcs_db).all()


def test_ca_cfar_threshold_holds_its_false_alarm_rate():
    rng = np.random.default_rng(10)
    iid = rng.exponential(1.0, (4000, 60, 8))                             # the formula on independent cells
    ratio, count = est.cfar_ratio(iid)
    assert (ratio >= est.cfar_alpha(1e-3, count)[None, :, None]).mean() == pytest.approx(1e-3, rel=0.15)
    # noise-only echoes through the notch and the matched filter: neighbouring range bins correlate, the spaced
    # training cells do not; cells with full training within 75 m (the window still holds half the chirp, so the
    # range resolution is at most twice 3 m) keep the design rate within 15 %
    sigma = np.sqrt(radar.noise_power(DEFAULT) / 2)
    shape = (300, DEFAULT.num_chirps, DEFAULT.num_antennas, DEFAULT.num_samples)
    noise = (sigma * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))).astype(np.complex64)
    cube = est.coarse_cube(noise - noise.mean(axis=1, keepdims=True), DEFAULT)
    ratio, count = est.cfar_ratio(cube)
    inner = (count == count.max()) & (np.arange(DEFAULT.num_samples) * RANGE_BIN <= 75.0)
    cells = cube[:, inner] > 0
    for pfa in (1e-2, 1e-3):
        alarms = ratio[:, inner] >= est.cfar_alpha(pfa, count.max())
        assert alarms[cells].mean() == pytest.approx(pfa, rel=0.15)
