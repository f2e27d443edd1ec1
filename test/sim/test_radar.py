"""disac_ros.sim.radar: the radar model of Eqs. (1)-(3): the samples follow the equation, and classical processing
recovers range, angles and radial velocity from them; the physical link budget (radar equation, thermal noise),
element pattern, array pose and RCS models behind ``radar.amplitude``, ``radar.noise`` and ``radar.boresight``."""
from __future__ import annotations

import numpy as np
import pytest

from disac_ros.config import DEFAULT_RCS, RadarConfig
from disac_ros.sim import radar
from disac_ros.sim.estimators import classical_estimate
from disac_ros.sim.labels import sensing_labels

# The project's first model (Eq. 2 as printed, per-sample SNR of a reference target): the tests of the waveform,
# the steering vector and the checking estimators use it; the physical model has its own tests below.
LEGACY = {"amplitude": "paper_eq2", "noise": "reference_snr"}
CFG = RadarConfig(**LEGACY)  # paper parameters: 10 GHz, 60 MHz, PRI 1 us, 4 x 4 array, one chirp, 20 dB
DOPPLER_CFG = RadarConfig(num_chirps=32, chirp_interval=100e-6, **LEGACY)
PHYSICAL = RadarConfig(num_chirps=8, chirp_interval=500e-6)  # the default preset's radar, default link budget


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
    cfg = RadarConfig(num_chirps=3, chirp_interval=40e-6, **LEGACY)
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
    cfg = RadarConfig(num_chirps=8, chirp_interval=10e-6, snr_db=7.0, snr_reference_distance=15.0, **LEGACY)
    args = (cfg, 30.0, 0.1, 0.1, 1.0, 10.0)
    noise = radar.synthesize_echo(*args, rng=np.random.default_rng(0)) - radar.synthesize_echo(*args, noise=False)
    varphi_ref = (3e8 / 10e9) / ((4 * np.pi) ** 1.5 * 15.0**2)
    expected = varphi_ref**2 / 10 ** (7.0 / 10)
    assert radar.noise_power(cfg) == pytest.approx(expected)
    assert np.mean(np.abs(noise) ** 2) == pytest.approx(expected, rel=0.05)      # 7680 samples
    assert np.mean(noise.real**2) == pytest.approx(np.mean(noise.imag**2), rel=0.1)  # circular


# The one classical processing chain (sim/estimators.py) recovers what the model put in (the echo holds a target
# and noise only, so the known-noise detector: no zero-Doppler notch). With an array facing +x (world_x) its world
# angles are the array-frame angles the echo was made with.
POSE = radar.ArrayPose.from_device((0.0, 0.0, 0.0), (1.0, 0.0, 0.0), "world_x")


def estimate(echo, cfg):
    return classical_estimate(echo, cfg, POSE, np.zeros(3), detector="fixed")


@pytest.mark.parametrize("distance, target", [(12.0, "drone"), (30.0, "drone"), (55.0, "drone"),
                                              (55.0, "car"), (120.0, "dog")])
def test_matched_filter_peaks_at_true_range(distance, target):
    echo = radar.synthesize_echo(CFG, distance, 0.2, 0.1, 0.0, DEFAULT_RCS[target], np.random.default_rng(1))
    resolution = radar.C / (2 * CFG.chirp_bandwidth)                 # 3 m
    assert abs(estimate(echo, CFG).slant_range - distance) <= resolution


@pytest.mark.parametrize("pitch_deg, azimuth_deg", [(11.5, 17.2), (-20.0, -40.0), (35.0, 60.0)])
def test_angle_spectrum_peaks_at_true_angles(pitch_deg, azimuth_deg):
    pitch, azimuth = np.deg2rad(pitch_deg), np.deg2rad(azimuth_deg)
    echo = radar.synthesize_echo(CFG, 25.0, azimuth, pitch, 0.0, DEFAULT_RCS["car"], np.random.default_rng(2))
    est = estimate(echo, CFG)
    assert np.rad2deg(est.pitch) == pytest.approx(pitch_deg, abs=2.0)
    assert np.rad2deg(est.azimuth) == pytest.approx(azimuth_deg, abs=2.0)


@pytest.mark.parametrize("velocity", [-7.3, 0.0, 2.0, 5.5])
def test_doppler_peak_gives_radial_velocity(velocity):
    echo = radar.synthesize_echo(DOPPLER_CFG, 30.0, 0.1, 0.1, velocity, 10.0, np.random.default_rng(3))
    velocity_bin = radar.wavelength(DOPPLER_CFG) / (2 * DOPPLER_CFG.num_chirps * DOPPLER_CFG.chirp_interval)
    assert abs(estimate(echo, DOPPLER_CFG).radial_velocity - velocity) <= velocity_bin


def test_receding_target_has_positive_doppler_phase_advance():
    echo = radar.synthesize_echo(DOPPLER_CFG, 30.0, 0.0, 0.0, 2.0, 10.0, noise=False)
    step = np.angle(echo[1, 0, 40] / echo[0, 0, 40])                 # 2 pi mu T_c, mu = 2 f_c v / c > 0
    assert step == pytest.approx(2 * np.pi * (2 * 10e9 * 2.0 / 3e8) * 100e-6, rel=1e-4)


def test_single_chirp_cannot_give_velocity():
    echo = radar.synthesize_echo(CFG, 30.0, 0.1, 0.1, 3.0, 10.0, np.random.default_rng(0))
    assert estimate(echo, CFG).radial_velocity == 0.0  # one 1 us pulse resolves no Doppler: the stated output


def test_shape_dtype_and_determinism():
    cfg = RadarConfig(num_chirps=4, chirp_interval=50e-6)  # the physical default model
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
    ({"rcs": np.array([1.0, -1.0])}, "one per chirp"),        # CFG has one chirp: two values are the wrong length
    ({"rcs": np.array([[1.0]])}, "one per chirp"),
    ({"loss_db": -1.0}, "loss_db"),
    ({"loss_db": float("nan")}, "loss_db"),
    ({"off_boresight": float("inf")}, "off_boresight"),
])
def test_bad_geometry_raises(kwargs, match):
    args = {"slant_range": 30.0, "azimuth": 0.1, "pitch": 0.1, "radial_velocity": 0.0, "rcs": 1.0} | kwargs
    with pytest.raises(ValueError, match=match):
        radar.synthesize_echo(CFG, **args)


def test_estimators_reject_an_echo_of_another_config():
    echo = radar.synthesize_echo(CFG, 30.0, 0.1, 0.1, 0.0, 1.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="echoes must be"):
        estimate(echo, RadarConfig(array_rows=2))


# --- the physical model: radar equation, thermal noise, element pattern ---------------------------------------

K_BOLTZMANN = 1.380649e-23


def _radar_equation_power(rcs, distance, cfg=PHYSICAL):
    """P_r = P_t G_t G_r lambda^2 sigma / ((4 pi)^3 R^4 L_s), written out from the config's fields."""
    lam = 3e8 / cfg.carrier_frequency
    gains = 10 ** (cfg.tx_gain_db / 10) * 10 ** (cfg.rx_gain_db / 10)
    return (cfg.transmit_power * gains * lam**2 * rcs
            / ((4 * np.pi) ** 3 * distance**4 * 10 ** (cfg.system_loss_db / 10)))


def test_radar_equation_amplitude_goes_as_sqrt_rcs_and_paper_eq2_linearly():
    def peak(cfg, rcs, d=30.0):
        return np.abs(radar.synthesize_echo(cfg, d, 0.0, 0.0, 0.0, rcs, noise=False)).max()

    assert PHYSICAL.amplitude == "radar_equation" and PHYSICAL.noise == "link_budget"   # the defaults
    assert peak(PHYSICAL, 1.0) == pytest.approx(np.sqrt(_radar_equation_power(1.0, 30.0)), rel=1e-5)
    for ratio in (10.0, 100.0):
        assert peak(PHYSICAL, ratio) / peak(PHYSICAL, 1.0) == pytest.approx(np.sqrt(ratio), rel=1e-5)
        assert peak(CFG, ratio) / peak(CFG, 1.0) == pytest.approx(ratio, rel=1e-5)
    # both fall as R^-2 in amplitude (R^-4 in power): compare the last sample, which both delays cover
    near, far = (radar.synthesize_echo(PHYSICAL, d, 0.0, 0.0, 0.0, 10.0, noise=False) for d in (20.0, 40.0))
    assert np.abs(near[..., -1]).max() / np.abs(far[..., -1]).max() == pytest.approx(4.0, rel=1e-5)


def test_physical_samples_follow_eq_1_with_loss_and_pattern():
    cfg = RadarConfig(num_chirps=3, chirp_interval=40e-6, element_pattern_exponent=2.0)
    d, phi, theta, v, rcs, loss, psi = 21.0, 0.4, -0.2, -3.0, np.array([10.0, 4.0, 25.0]), 6.0, 0.5
    echo = radar.synthesize_echo(cfg, d, phi, theta, v, rcs, noise=False, loss_db=loss, off_boresight=psi)
    fc, tau = 10e9, 2 * d / 3e8
    mu = 2 * fc * v / 3e8
    a = radar.steering_vector(theta, phi, 4, 4)
    for m, ant, n in [(0, 0, 30), (1, 7, 45), (2, 15, 59)]:
        t = n / 60e6
        amplitude = np.sqrt(_radar_equation_power(rcs[m], d, cfg)) * np.cos(psi) ** 2 * 10 ** (-loss / 20)
        s = np.exp(1j * np.pi * (50e6 / 1e-6) * (t - tau) ** 2)
        x = amplitude * a[ant] * np.exp(2j * np.pi * mu * (m * 40e-6 + t)) * s * np.exp(-2j * np.pi * fc * tau)
        assert echo[m, ant, n] == pytest.approx(x, rel=1e-5)
    # a per-chirp RCS equals the scalar RCS chirp by chirp
    for m in range(3):
        alone = radar.synthesize_echo(cfg, d, phi, theta, v, float(rcs[m]), noise=False, loss_db=loss,
                                      off_boresight=psi)
        np.testing.assert_allclose(echo[m], alone[m], rtol=1e-5)


def test_link_budget_noise_is_thermal():
    cfg = PHYSICAL
    expected = K_BOLTZMANN * 290.0 * 60e6 * 10 ** (8.0 / 10)                 # k T0 B F, B = F_s, NF 8 dB
    assert radar.noise_power(cfg) == pytest.approx(expected, rel=1e-9)
    noise = radar.synthesize_echo(cfg, 30.0, 0.1, 0.1, 1.0, 1.0, rng=np.random.default_rng(0), loss_db=400.0)
    assert np.mean(np.abs(noise) ** 2) == pytest.approx(expected, rel=0.05)  # 7680 samples, the echo is 1e-20 below
    assert np.mean(noise.real**2) == pytest.approx(np.mean(noise.imag**2), rel=0.1)
    hot = RadarConfig(noise_figure_db=11.0, noise_temperature=580.0)
    assert radar.noise_power(hot) == pytest.approx(expected * 2 * 10 ** 0.3, rel=1e-9)


def test_reference_snr_uses_the_chosen_amplitude_model():
    cfg = RadarConfig(noise="reference_snr", snr_db=7.0, snr_reference_distance=15.0)   # radar equation amplitude
    assert radar.noise_power(cfg) == pytest.approx(_radar_equation_power(1.0, 15.0, cfg) / 10 ** 0.7, rel=1e-9)
    budget = radar.radar_budget(cfg, 15.0, 1.0)
    assert budget["snr_per_sample_db"] == pytest.approx(7.0)


def test_radar_budget_numbers():
    budget = radar.radar_budget(PHYSICAL, 15.0, 1.0)
    noise = K_BOLTZMANN * 290.0 * 60e6 * 10 ** 0.8
    assert budget["received_power"] == pytest.approx(_radar_equation_power(1.0, 15.0), rel=1e-9)
    assert budget["noise_power"] == pytest.approx(noise, rel=1e-9)
    assert budget["snr_per_sample_db"] == pytest.approx(10 * np.log10(_radar_equation_power(1.0, 15.0) / noise))
    # 15 m: delay 100 ns = 6 samples of silence, so 54 of the 60 samples x 16 antennas x 8 chirps integrate
    assert budget["coherent_samples"] == 54 * 16 * 8
    assert budget["integrated_snr_db"] == pytest.approx(budget["snr_per_sample_db"] + 10 * np.log10(54 * 128))
    assert budget["full_window_gain_db"] == pytest.approx(10 * np.log10(60 * 128))
    # arrays broadcast; 10x the RCS is +10 dB, twice the range -12 dB; 6 dB of loss is -6 dB
    grid = radar.radar_budget(PHYSICAL, np.array([[15.0], [30.0]]), np.array([1.0, 10.0]))
    assert grid["snr_per_sample_db"].shape == (2, 2)
    assert grid["snr_per_sample_db"][0, 1] - grid["snr_per_sample_db"][0, 0] == pytest.approx(10.0)
    assert grid["snr_per_sample_db"][0, 0] - grid["snr_per_sample_db"][1, 0] == pytest.approx(40 * np.log10(2))
    lossy = radar.radar_budget(PHYSICAL, 15.0, 1.0, loss_db=6.0)
    assert budget["snr_per_sample_db"] - lossy["snr_per_sample_db"] == pytest.approx(6.0)


def _matched_output(echo, cfg, d, phi, theta, v):
    """Fully matched filter at the true delay, angles and Doppler: (Z, samples integrated N)."""
    t = np.arange(cfg.num_samples) / cfg.sampling_frequency
    replica = radar.lfm_chirp(cfg, t - 2 * d / 3e8)
    a = radar.steering_vector(theta, phi, cfg.array_rows, cfg.array_cols, cfg.element_spacing)
    doppler = np.exp(2j * np.pi * (2 * cfg.carrier_frequency * v / 3e8) * np.arange(cfg.num_chirps)
                     * cfg.chirp_interval)
    z = np.einsum("cas,s,a,c->", echo, replica.conj(), a.conj(), doppler.conj())
    return z, np.sum(np.abs(replica) ** 2) * cfg.num_antennas * cfg.num_chirps


@pytest.mark.parametrize("distance, rcs", [(15.0, 1.0), (25.0, 1.0), (40.0, 10.0)])
def test_matched_filter_snr_matches_the_link_budget(distance, rcs):
    rng = np.random.default_rng(4)
    geometry = (distance, 0.3, -0.1, 2.0)
    snr = []
    for _ in range(40):
        echo = radar.synthesize_echo(PHYSICAL, *geometry, rcs, rng)
        z, n = _matched_output(echo, PHYSICAL, *geometry)
        snr.append(np.abs(z) ** 2 / (radar.noise_power(PHYSICAL) * n) - 1)     # E|Z|^2 = N sigma^2 (1 + SNR)
    budget = radar.radar_budget(PHYSICAL, distance, rcs)["integrated_snr_db"]
    assert 10 * np.log10(np.mean(snr)) == pytest.approx(budget, abs=1.0)


def test_eighty_db_of_loss_leaves_the_peak_at_noise_level():
    rng = np.random.default_rng(5)
    geometry = (30.0, 0.3, -0.1, 2.0)

    def mean_peak(loss_db, rcs):
        powers = []
        for _ in range(60):
            z, n = _matched_output(radar.synthesize_echo(PHYSICAL, *geometry, rcs, rng, loss_db=loss_db),
                                   PHYSICAL, *geometry)
            powers.append(np.abs(z) ** 2 / (radar.noise_power(PHYSICAL) * n))
        return 10 * np.log10(np.mean(powers))

    assert mean_peak(0.0, 100.0) > 40.0                           # a car in the open: ~44 dB
    assert mean_peak(80.0, 100.0) == pytest.approx(mean_peak(400.0, 100.0), abs=1.0)   # vs noise only: ~0 dB


@pytest.mark.parametrize("q", [1.0, 1.5, 3.0])
def test_element_pattern_lowers_gain_off_boresight(q):
    cfg = RadarConfig(element_pattern_exponent=q)

    def power(psi):
        return np.mean(np.abs(radar.synthesize_echo(cfg, 30.0, 0.0, 0.0, 0.0, 10.0, noise=False,
                                                     off_boresight=psi)) ** 2)

    assert power(np.deg2rad(60.0)) / power(0.0) == pytest.approx(np.cos(np.deg2rad(60.0)) ** (2 * q), rel=1e-5)
    assert power(np.deg2rad(30.0)) > power(np.deg2rad(60.0)) > power(np.deg2rad(85.0)) > 0
    for behind in (np.deg2rad(90.0), np.deg2rad(120.0), np.pi):
        assert power(behind) == 0.0                                   # no signal from behind the array
    isotropic = RadarConfig(element_pattern_exponent=0.0)             # the first model: the same everywhere
    assert radar.element_gain(isotropic, np.array([0.0, 1.0, 2.5])) == pytest.approx([1.0, 1.0, 1.0])


# --- RCS models -------------------------------------------------------------------------------------------------

def test_aspect_rcs_averages_to_the_mean_and_spans_the_ratio():
    alpha = np.linspace(0, 2 * np.pi, 3600, endpoint=False)                # uniform aspect
    for mean, ratio_db in [(100.0, 10.0), (10.0, 4.0), (1.0, 1.0), (5.0, 0.0)]:
        sigma = radar.aspect_rcs(mean, ratio_db, alpha)
        assert np.mean(sigma) == pytest.approx(mean, rel=1e-9)
        broadside, nose_on = radar.aspect_rcs(mean, ratio_db, np.array([np.pi / 2, 0.0]))
        assert broadside / nose_on == pytest.approx(10 ** (ratio_db / 10), rel=1e-9)
        assert radar.aspect_rcs(mean, ratio_db, np.pi) == pytest.approx(nose_on)      # tail-on = nose-on
        assert sigma.min() == pytest.approx(nose_on) and sigma.max() == pytest.approx(broadside)


@pytest.mark.parametrize("model, var_ratio, per_chirp", [(0, 0.0, False), (1, 1.0, False), (2, 1.0, True),
                                                         (3, 0.5, False), (4, 0.5, True)])
def test_swerling_draws_have_the_models_statistics(model, var_ratio, per_chirp):
    mean, chirps, frames = 10.0, 8, 20000
    rng = np.random.default_rng(model)
    draws = np.stack([radar.draw_rcs(mean, model, chirps, rng) for _ in range(frames)])    # [frames, chirps]
    assert draws.shape == (frames, chirps) and draws.dtype == np.float64 and np.all(draws > 0)
    assert np.mean(draws) == pytest.approx(mean, rel=0.03)
    assert np.var(draws) == pytest.approx(var_ratio * mean**2, rel=0.08, abs=1e-9)
    spread = np.ptp(draws, axis=1)
    assert np.all(spread > 0) if per_chirp else np.all(spread == 0)   # II/IV vary over a frame, 0/I/III do not
    if per_chirp:                                                     # and chirps are independent of each other
        assert abs(np.corrcoef(draws[:, 0], draws[:, 1])[0, 1]) < 0.05


@pytest.mark.parametrize("model", [1, 2, 3, 4])
def test_two_devices_draw_uncorrelated_rcs(model):
    first, second = np.random.default_rng([3, 0]), np.random.default_rng([3, 1])     # one generator per device
    a = np.array([radar.draw_rcs(10.0, model, 4, first)[0] for _ in range(20000)])
    b = np.array([radar.draw_rcs(10.0, model, 4, second)[0] for _ in range(20000)])
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.05


def test_unknown_swerling_model_raises():
    for bad in (5, -1, "1", None):
        with pytest.raises(ValueError, match="swerling"):
            radar.draw_rcs(1.0, bad, 8, np.random.default_rng(0))


# --- array pose ---------------------------------------------------------------------------------------------------

DEVICES = [((-13.0, -12.0, 9.0), (0.0, 0.0, 0.5)), ((17.0, -8.0, 3.5), (0.0, 0.0, 1.0)),
           ((8.0, 15.0, 6.0), (0.0, 0.0, 0.5)), ((-17.0, 12.0, 12.0), (0.0, 0.0, 0.5)),
           ((0.0, 0.0, 1.0), (5.0, 0.0, 9.0))]


@pytest.mark.parametrize("position, lookat", DEVICES)
@pytest.mark.parametrize("boresight", ["view", "world_x"])
def test_array_pose_local_and_to_world_are_inverse(position, lookat, boresight):
    pose = radar.ArrayPose.from_device(position, lookat, boresight)
    r = pose.rotation
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(r) == pytest.approx(1.0)                     # right-handed
    assert r[1, 2] == pytest.approx(0.0, abs=1e-12)                   # y axis horizontal
    assert np.cross([0, 0, 1.0], r[0]) @ r[1] > 0                     # ... and to the boresight's left
    points = np.random.default_rng(0).uniform([-30, -30, 0], [30, 30, 20], size=(50, 3))
    slant, az, el, off = pose.local(points)
    assert slant.shape == az.shape == el.shape == off.shape == (50,)
    np.testing.assert_allclose(pose.to_world(slant, az, el), points, atol=1e-9)
    np.testing.assert_allclose(np.cos(off), np.cos(az) * np.cos(el), atol=1e-12)
    np.testing.assert_allclose(slant, np.linalg.norm(points - np.asarray(position), axis=1))
    if boresight == "view":                                           # the lookat is on boresight
        _, az0, el0, off0 = pose.local(np.asarray(lookat))
        assert (az0, el0, off0) == pytest.approx((0.0, 0.0, 0.0), abs=1e-7)


def test_world_x_and_a_level_view_give_the_world_labels():
    device = np.array([-13.0, -12.0, 9.0])
    points = np.random.default_rng(1).uniform([-30, -30, 0], [30, 30, 20], size=(50, 3))
    labels = sensing_labels(device, points, np.zeros(3))
    for pose in (radar.ArrayPose.from_device(device, (0.0, 0.0, 0.5), "world_x"),
                 radar.ArrayPose.from_device(device, device + [7.0, 0.0, 0.0], "view")):
        slant, az, el, _ = pose.local(points)
        np.testing.assert_allclose(az, labels["azimuth"], atol=1e-12)
        np.testing.assert_allclose(el, labels["pitch"], atol=1e-12)
        np.testing.assert_allclose(slant, labels["slant_range"], atol=1e-12)


def test_view_boresight_turns_and_tilts_the_angles():
    pose = radar.ArrayPose.from_device((0.0, 0.0, 10.0), (10.0, 10.0, 0.0))   # facing north-east, 35 deg down
    _, az, el, _ = pose.local(np.array([[20.0, 20.0, -10.0], [0.0, 10.0, 10.0], [-5.0, -5.0, 15.0]]))
    assert az[0] == pytest.approx(0.0, abs=1e-12) and el[0] == pytest.approx(0.0, abs=1e-12)   # on boresight
    assert az[1] < 0                                                  # to the left (+y of the array): phi < 0
    assert abs(az[2]) > np.pi / 2                                     # behind the array
    device_cfg = type("Device", (), {"position": (0.0, 0.0, 10.0), "lookat": (10.0, 10.0, 0.0)})()
    np.testing.assert_allclose(radar.ArrayPose.for_device(device_cfg, RadarConfig()).rotation, pose.rotation)


@pytest.mark.parametrize("lookat, boresight, match", [((0.0, 0.0, 1.0), "view", "position"),
                                                      ((0.0, 0.0, 5.0), "view", "straight above"),
                                                      ((1.0, 0.0, 1.0), "north", "boresight")])
def test_array_pose_rejects_degenerate_views(lookat, boresight, match):
    with pytest.raises(ValueError, match=match):
        radar.ArrayPose.from_device((0.0, 0.0, 1.0), lookat, boresight)
