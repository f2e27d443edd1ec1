"""disac_ros.sim.radar: the radar model of Eqs. (1)-(3): the samples follow the equation, and classical processing
recovers range, angles and radial velocity from them."""
from __future__ import annotations

import numpy as np
import pytest

from disac_ros.config import DEFAULT_RCS, RadarConfig
from disac_ros.sim import radar

CFG = RadarConfig()  # paper parameters: 10 GHz, 60 MHz, PRI 1 us, 4 x 4 array, one chirp, 20 dB
DOPPLER_CFG = RadarConfig(num_chirps=32, chirp_interval=100e-6)


def test_steering_vector_is_the_papers_kronecker_product():
    theta, phi = 0.3, -0.5
    a = radar.steering_vector(theta, phi, 4, 4)
    assert a.shape == (16,) and a.dtype == np.complex128
    assert a[1] == pytest.approx(np.exp(-1j * np.pi * np.sin(phi) * np.cos(theta)))   # next column: azimuth
    assert a[4] == pytest.approx(np.exp(-1j * np.pi * np.sin(theta)))                 # next row: pitch
    rows, cols, s = 3, 5, 0.4
    a = radar.steering_vector(theta, phi, rows, cols, s)
    for r in range(rows):
        for c in range(cols):
            expected = np.exp(-2j * np.pi * s * (r * np.sin(theta) + c * np.sin(phi) * np.cos(theta)))
            assert a[r * cols + c] == pytest.approx(expected)


def test_clean_echo_samples_follow_eq_1():
    cfg = RadarConfig(num_chirps=3, chirp_interval=40e-6)
    d, phi, theta, v, rcs = 21.0, 0.4, -0.2, -3.0, 10.0
    echo = radar.synthesize_echo(cfg, d, phi, theta, v, rcs, noise=False)
    assert echo.shape == (3, 16, 60) and echo.dtype == np.complex64
    lam, fc, tau = 3e8 / 10e9, 10e9, 2 * d / 3e8
    varphi = lam * rcs / ((4 * np.pi) ** 1.5 * d**2)
    mu = 2 * fc * v / 3e8
    a = radar.steering_vector(theta, phi, 4, 4)
    for m, ant, n in [(0, 0, 30), (2, 7, 45), (1, 15, 59)]:
        t = n / 60e6
        s = np.exp(1j * np.pi * (50e6 / 1e-6) * (t - tau) ** 2)
        x = varphi * a[ant] * np.exp(2j * np.pi * mu * (m * 40e-6 + t)) * s * np.exp(-2j * np.pi * fc * tau)
        assert echo[m, ant, n] == pytest.approx(x, rel=1e-5)
    first = int(np.ceil(tau * 60e6))                                  # samples before the delay: silence
    assert np.all(echo[..., :first] == 0) and np.all(echo[..., first:] != 0)


def test_noise_power_is_the_snr_of_the_reference_target():
    cfg = RadarConfig(num_chirps=8, chirp_interval=10e-6, snr_db=7.0, snr_reference_distance=15.0)
    args = (cfg, 30.0, 0.1, 0.1, 1.0, 10.0)
    noise = radar.synthesize_echo(*args, rng=np.random.default_rng(0)) - radar.synthesize_echo(*args, noise=False)
    varphi_ref = (3e8 / 10e9) / ((4 * np.pi) ** 1.5 * 15.0**2)
    expected = varphi_ref**2 / 10 ** (7.0 / 10)
    assert radar.noise_power(cfg) == pytest.approx(expected)
    assert np.mean(np.abs(noise) ** 2) == pytest.approx(expected, rel=0.05)      # 7680 samples
    assert np.mean(noise.real**2) == pytest.approx(np.mean(noise.imag**2), rel=0.1)  # circular


@pytest.mark.parametrize("distance, target", [(12.0, "drone"), (30.0, "drone"), (55.0, "drone"),
                                              (55.0, "car"), (120.0, "dog")])
def test_matched_filter_peaks_at_true_range(distance, target):
    echo = radar.synthesize_echo(CFG, distance, 0.2, 0.1, 0.0, DEFAULT_RCS[target], np.random.default_rng(1))
    resolution = radar.C / (2 * CFG.chirp_bandwidth)                 # 3 m
    ranges, power = radar.range_profile(echo, CFG)
    assert ranges.shape == power.shape == (CFG.num_samples,)
    assert abs(radar.estimate_range(echo, CFG) - distance) <= resolution


@pytest.mark.parametrize("pitch_deg, azimuth_deg", [(11.5, 17.2), (-20.0, -40.0), (35.0, 60.0)])
def test_angle_spectrum_peaks_at_true_angles(pitch_deg, azimuth_deg):
    pitch, azimuth = np.deg2rad(pitch_deg), np.deg2rad(azimuth_deg)
    echo = radar.synthesize_echo(CFG, 25.0, azimuth, pitch, 0.0, DEFAULT_RCS["car"], np.random.default_rng(2))
    grid = np.deg2rad(np.arange(-80.0, 81.0, 1.0))
    assert radar.angle_spectrum(echo, CFG, grid[:7], grid).shape == (7, len(grid))
    est_pitch, est_azimuth = radar.estimate_angles(echo, CFG)
    assert np.rad2deg(est_pitch) == pytest.approx(pitch_deg, abs=2.0)
    assert np.rad2deg(est_azimuth) == pytest.approx(azimuth_deg, abs=2.0)


@pytest.mark.parametrize("velocity", [-7.3, 0.0, 2.0, 5.5])
def test_doppler_peak_gives_radial_velocity(velocity):
    echo = radar.synthesize_echo(DOPPLER_CFG, 30.0, 0.1, 0.1, velocity, 10.0, np.random.default_rng(3))
    velocity_bin = radar.wavelength(DOPPLER_CFG) / (2 * DOPPLER_CFG.num_chirps * DOPPLER_CFG.chirp_interval)
    assert abs(radar.estimate_radial_velocity(echo, DOPPLER_CFG) - velocity) <= velocity_bin


def test_receding_target_has_positive_doppler_phase_advance():
    echo = radar.synthesize_echo(DOPPLER_CFG, 30.0, 0.0, 0.0, 2.0, 10.0, noise=False)
    step = np.angle(echo[1, 0, 40] / echo[0, 0, 40])                 # 2 pi mu T_c, mu = 2 f_c v / c > 0
    assert step == pytest.approx(2 * np.pi * (2 * 10e9 * 2.0 / 3e8) * 100e-6, rel=1e-4)


def test_single_chirp_cannot_give_velocity():
    echo = radar.synthesize_echo(CFG, 30.0, 0.1, 0.1, 3.0, 10.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="more than one chirp"):
        radar.estimate_radial_velocity(echo, CFG)


def test_shape_dtype_and_determinism():
    cfg = RadarConfig(num_chirps=4, chirp_interval=50e-6)
    a = radar.synthesize_echo(cfg, 30.0, 0.1, 0.1, 1.0, 10.0, np.random.default_rng(7))
    b = radar.synthesize_echo(cfg, 30.0, 0.1, 0.1, 1.0, 10.0, np.random.default_rng(7))
    c = radar.synthesize_echo(cfg, 30.0, 0.1, 0.1, 1.0, 10.0, np.random.default_rng(8))
    assert a.shape == (cfg.num_chirps, cfg.num_antennas, cfg.num_samples) == (4, 16, 60)
    assert a.dtype == np.complex64
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_amplitude_follows_eq_2():
    def power(d, target):
        return np.mean(np.abs(radar.synthesize_echo(CFG, d, 0.0, 0.0, 0.0, DEFAULT_RCS[target], noise=False)) ** 2)

    # Eq. (2) as printed: varphi ~ rcs, so the car (100 m^2) has 100x the drone's (1 m^2) amplitude, 1e4x its power
    assert np.sqrt(power(30.0, "car") / power(30.0, "drone")) == pytest.approx(100.0, rel=1e-5)
    assert np.sqrt(power(30.0, "dog") / power(30.0, "drone")) == pytest.approx(10.0, rel=1e-5)
    echo = radar.synthesize_echo(CFG, 20.0, 0.0, 0.0, 0.0, 1.0, noise=False)
    assert np.max(np.abs(echo)) == pytest.approx((3e8 / 10e9) / ((4 * np.pi) ** 1.5 * 20.0**2), rel=1e-5)
    # varphi ~ d^-2, measured on the samples both echoes cover (the chirp starts at the delay)
    near, far = (radar.synthesize_echo(CFG, d, 0.0, 0.0, 0.0, 10.0, noise=False) for d in (20.0, 40.0))
    assert np.abs(near[..., -1]).max() / np.abs(far[..., -1]).max() == pytest.approx(4.0, rel=1e-5)


@pytest.mark.parametrize("kwargs, match", [
    ({"slant_range": float("nan")}, "slant_range"),
    ({"azimuth": float("inf")}, "azimuth"),
    ({"pitch": float("nan")}, "pitch"),
    ({"radial_velocity": float("-inf")}, "radial_velocity"),
    ({"slant_range": 150.0}, r"c \* PRI / 2 = 150\.0 m"),
    ({"slant_range": 200.0}, "unambiguous range"),
    ({"rcs": 0.0}, "positive"),
    ({"slant_range": -3.0}, "positive"),
])
def test_bad_geometry_raises(kwargs, match):
    args = {"slant_range": 30.0, "azimuth": 0.1, "pitch": 0.1, "radial_velocity": 0.0, "rcs": 1.0} | kwargs
    with pytest.raises(ValueError, match=match):
        radar.synthesize_echo(CFG, **args)


def test_estimators_reject_an_echo_of_another_config():
    echo = radar.synthesize_echo(CFG, 30.0, 0.1, 0.1, 0.0, 1.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="echo must be"):
        radar.estimate_range(echo, RadarConfig(array_rows=2))
