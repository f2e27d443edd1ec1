"""The radar model of Eqs. (1)-(3): classical processing recovers range, angles and radial velocity."""
from __future__ import annotations

import numpy as np
import pytest

from disac_ros.config import RadarConfig
from disac_ros.sim import radar

CFG = RadarConfig()  # paper parameters: 10 GHz, 60 MHz, PRI 1 us, 4 x 4 array, one chirp, 20 dB


@pytest.mark.parametrize("distance", [12.0, 30.0, 55.0, 120.0])
def test_matched_filter_peaks_at_true_range(distance):
    echo = radar.synthesize_echo(CFG, distance, 0.2, 0.1, 0.0, 10.0, np.random.default_rng(1))
    resolution = radar.C / (2 * CFG.chirp_bandwidth)
    assert abs(radar.estimate_range(echo, CFG) - distance) <= resolution


@pytest.mark.parametrize("pitch_deg, azimuth_deg", [(11.5, 17.2), (-20.0, -40.0), (35.0, 60.0)])
def test_angle_spectrum_peaks_at_true_angles(pitch_deg, azimuth_deg):
    pitch, azimuth = np.deg2rad(pitch_deg), np.deg2rad(azimuth_deg)
    echo = radar.synthesize_echo(CFG, 25.0, azimuth, pitch, 0.0, 100.0, np.random.default_rng(2))
    est_pitch, est_azimuth = radar.estimate_angles(echo, CFG)
    assert np.rad2deg(est_pitch) == pytest.approx(pitch_deg, abs=2.0)
    assert np.rad2deg(est_azimuth) == pytest.approx(azimuth_deg, abs=2.0)


@pytest.mark.parametrize("velocity", [-7.3, 0.0, 2.0, 5.5])
def test_doppler_peak_gives_radial_velocity(velocity):
    cfg = RadarConfig(num_chirps=32, chirp_interval=100e-6)
    echo = radar.synthesize_echo(cfg, 30.0, 0.1, 0.1, velocity, 10.0, np.random.default_rng(3))
    velocity_bin = radar.wavelength(cfg) / (2 * cfg.num_chirps * cfg.chirp_interval)
    assert abs(radar.estimate_radial_velocity(echo, cfg) - velocity) <= velocity_bin


def test_single_chirp_cannot_give_velocity():
    echo = radar.synthesize_echo(CFG, 30.0, 0.1, 0.1, 3.0, 10.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="more than one chirp"):
        radar.estimate_radial_velocity(echo, CFG)


def test_shape_dtype_and_determinism():
    cfg = RadarConfig(num_chirps=4, chirp_interval=50e-6)
    a = radar.synthesize_echo(cfg, 30.0, 0.1, 0.1, 1.0, 10.0, np.random.default_rng(7))
    b = radar.synthesize_echo(cfg, 30.0, 0.1, 0.1, 1.0, 10.0, np.random.default_rng(7))
    c = radar.synthesize_echo(cfg, 30.0, 0.1, 0.1, 1.0, 10.0, np.random.default_rng(8))
    assert a.shape == (4, 16, 60) and a.dtype == np.complex64
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_amplitude_follows_rcs_and_range():
    def amplitude(d, rcs):
        return np.max(np.abs(radar.synthesize_echo(CFG, d, 0.0, 0.0, 0.0, rcs, noise=False)))

    assert amplitude(30.0, 100.0) / amplitude(30.0, 1.0) == pytest.approx(100.0, rel=1e-5)  # varphi ~ rcs
    assert amplitude(20.0, 10.0) / amplitude(40.0, 10.0) == pytest.approx(4.0, rel=1e-5)    # varphi ~ d^-2


def test_steering_vector_matches_paper_form():
    theta, phi = 0.3, -0.5
    a = radar.steering_vector(theta, phi, 4, 4)
    assert a[1] == pytest.approx(np.exp(-1j * np.pi * np.sin(phi) * np.cos(theta)))   # next column: azimuth
    assert a[4] == pytest.approx(np.exp(-1j * np.pi * np.sin(theta)))                 # next row: pitch


@pytest.mark.parametrize("kwargs, match", [
    ({"slant_range": float("nan")}, "slant_range"),
    ({"azimuth": float("inf")}, "azimuth"),
    ({"slant_range": 200.0}, "unambiguous range"),
    ({"rcs": 0.0}, "positive"),
])
def test_bad_geometry_raises(kwargs, match):
    args = {"slant_range": 30.0, "azimuth": 0.1, "pitch": 0.1, "radial_velocity": 0.0, "rcs": 1.0} | kwargs
    with pytest.raises(ValueError, match=match):
        radar.synthesize_echo(CFG, **args)
