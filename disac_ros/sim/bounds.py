"""Cramér-Rao lower bounds (CRB) on what one device's radar can estimate from one target's echo.

Signal model (``sim/radar.py``, :func:`~disac_ros.sim.radar.synthesize_echo`): sample n of chirp m on antenna
(r, c) (row r < N_z, column c < N_y, index r * N_y + c) is

    x[m, a, n] = alpha e^{-j 2 pi s (r u + c w)} e^{j 2 pi mu (m T_c + t_n)} s(t_n - tau) + noise,
    u = sin(theta), w = sin(phi) cos(theta)  (array-frame pitch theta along the rows, azimuth phi along the columns),
    s(t) = e^{j pi K t^2} on [0, T_r), K = B / T_r, t_n = n / F_s, tau = 2 R / c, mu = 2 f_c v / c,

alpha = |alpha| e^{j phi_0} the complex amplitude (the carrier phase e^{-j 2 pi f_c tau} is absorbed into the
unknown phase), noise complex white Gaussian of known power sigma^2 per sample. The pulse occupies the N_s samples
with t_n >= tau (:func:`~disac_ros.sim.radar.covered_samples`; the window is one PRI long, so N_s shrinks with the
range). The SNR used throughout is the integrated SNR

    rho = |alpha|^2 N_total / sigma^2,  N_total = N_s x (N_z N_y antennas) x (C chirps),

which is what ``sim/estimators.py`` measures: E[peak_snr] = 1 + rho (:func:`integrated_snr_from_peak`).

Assumptions of every bound: a single target, known noise power, unknown amplitude and phase (nuisances, projected
out), a constant amplitude over chirps (Swerling 0/I/III within a frame), the remaining parameters as stated per
bound. For this model the Fisher information is J_ij = (2 / sigma^2) Re sum (ds/dp_i)^* (ds/dp_j) (Kay, Fundamentals
of Statistical Signal Processing I: Estimation Theory, 1993, Eq. 15.52); the unknown phase removes the mean of each
phase derivative over the samples, so a parameter entering the phase as 2 pi f k over N equispaced samples k has
the bound of a tone's frequency (Rife & Boorstyn, IEEE Trans. Inf. Theory 20(5), 1974, Eq. 22; Kay Ex. 3.14):

    var(omega) >= 6 / (rho (N^2 - 1))  [rad/sample]^2,  rho the SNR integrated over the N samples.

- Range: the delay enters as the chirp's instantaneous frequency -K tau at fast time, a tone over the N_s covered
  samples with omega = 2 pi K tau / F_s, so var(tau) >= 1 / (2 rho (2 pi)^2 beta^2) with the rms bandwidth
  beta^2 = K^2 (N_s^2 - 1) / (12 F_s^2) -> B^2 / 12 for the full window (the flat LFM spectrum; Van Trees,
  Detection, Estimation and Modulation Theory III, 1971, ch. 10; Richards, Fundamentals of Radar Signal Processing,
  2005, Sec. 7.1). Doppler taken as known: with C > 1 chirps its coupling to the delay through the fast-time term
  e^{j 2 pi mu t_n} is a relative (T_r / T_c)^2 / (C^2 - 1) (about 1e-7 with the default radar), negligible; with one
  chirp range and Doppler are fully coupled (the LFM ambiguity ridge) and the estimator assumes mu = 0, whose bias
  mu / K is far below a millimetre.
- Angles: a 2-D tone over the N_z x N_y elements with spatial frequencies omega_u = 2 pi s u, omega_w = 2 pi s w
  (s the spacing in wavelengths): per axis var(omega_u) >= 6 / (rho (N_z^2 - 1)), var(omega_w) >= 6 / (rho (N_y^2
  - 1)), uncorrelated (the rows and columns of a full grid are), and decoupled from range and Doppler (which vary
  over chirps and samples only). The angles follow by theta = arcsin(u), phi = arcsin(w / cos(theta)) through the
  Jacobian (the CRB of a function of the parameters, Kay Eq. 3.30): var(theta) = var(u) / cos^2(theta),
  var(phi) = var(w) / (cos(phi) cos(theta))^2 + (tan(phi) tan(theta) / cos(theta))^2 var(u), and
  cov(theta, phi) = tan(phi) tan(theta) / cos^2(theta) var(u) (used by :func:`crb_world`).
- Radial velocity: mu enters as the tone 2 pi mu T_c over the C chirps; with the delay unknown its fast-time part
  is exactly absorbed by the delay (both phase derivatives are linear in t_n), leaving var(mu) >= 6 / (rho (2 pi
  T_c)^2 (C^2 - 1)), v = mu c / (2 f_c); infinite with one chirp (not observable).

Bounds are on unbiased estimators at a given SNR: at low SNR (below the detector's threshold, where outliers
dominate) an estimator's error exceeds them by far. They are standard deviations per echo; :func:`rmse_bound` turns
them into the bound on an RMSE over a set of echoes.
"""
from __future__ import annotations

import numpy as np

from disac_ros.config import C, RadarConfig
from disac_ros.sim import radar
from disac_ros.sim.labels import sensing_labels, wrap_angle

#: Keys of :func:`crb_world`: the world-frame labels (``sim/labels.KEYS``) and the slant range.
WORLD_KEYS = ("distance", "azimuth", "pitch", "radial_velocity", "slant_range")

_TINY = np.finfo(np.float64).tiny


def integrated_snr_from_peak(peak_snr_db):
    """Integrated SNR rho from the estimator's ``peak_snr_db``: max(10^(x / 10) - 1, tiny) (E[peak_snr] = 1 + rho)."""
    return np.maximum(10 ** (np.asarray(peak_snr_db, dtype=np.float64) / 10) - 1, _TINY)


def _tone_variance(rho, n):
    """6 / (rho (n^2 - 1)) [rad/sample]^2, inf where rho <= 0 or n < 2 (arrays broadcast)."""
    rho = np.asarray(rho, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    den = rho * (n**2 - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((rho > 0) & (n >= 2), 6 / np.where(den > 0, den, 1.0), np.inf)


def frequency_std(rho, n):
    """Std of a complex tone's frequency [rad/sample]: sqrt(6 / (rho (n^2 - 1))), Rife & Boorstyn 1974 (Eq. 22).

    ``rho`` the SNR integrated over the ``n`` equispaced samples (|b|^2 n / sigma^2); amplitude and phase unknown.
    Inf for n < 2 or rho <= 0.
    """
    return np.sqrt(_tone_variance(rho, n))


def range_std(rho, cfg: RadarConfig, slant_range=None):
    """Slant-range std [m]: (c / 2) sqrt(1 / (2 rho (2 pi)^2 beta^2)), beta^2 = K^2 (N_s^2 - 1) / (12 F_s^2).

    The delay CRB of a pulse of rms bandwidth beta with unknown phase (Van Trees III ch. 10; module docstring), with
    N_s the samples the pulse occupies: those of the target at ``slant_range`` [m]
    (:func:`~disac_ros.sim.radar.covered_samples`, the estimator's window) or, if None, the full window
    (N_s = num_samples, beta^2 ~ B^2 / 12). Doppler known (decoupled). ``rho`` integrated SNR, arrays broadcast.
    """
    n_s = cfg.num_samples if slant_range is None else radar.covered_samples(cfg, slant_range)
    omega_var = _tone_variance(rho, n_s)                                  # omega = 2 pi K tau / F_s
    tau_std = np.sqrt(omega_var) * cfg.sampling_frequency / (2 * np.pi * cfg.chirp_slope)
    return C * tau_std / 2


def _spatial_variances(rho, cfg: RadarConfig):
    """var(u), var(w) of u = sin(theta), w = sin(phi) cos(theta): 6 / (rho (N^2 - 1) (2 pi s)^2) per axis."""
    k = (2 * np.pi * cfg.element_spacing) ** 2
    return _tone_variance(rho, cfg.array_rows) / k, _tone_variance(rho, cfg.array_cols) / k


def _angle_covariance(rho, pitch_local, azimuth_local, cfg: RadarConfig):
    """(var pitch, var azimuth, cov) [rad^2] of the array-frame angles (module docstring)."""
    var_u, var_w = _spatial_variances(rho, cfg)
    theta = np.asarray(pitch_local, dtype=np.float64)
    phi = np.asarray(azimuth_local, dtype=np.float64)
    cos_t, cos_p = np.cos(theta), np.cos(phi)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        d_theta_du = 1 / np.abs(cos_t)                                    # theta = arcsin(u)
        d_phi_dw = 1 / np.abs(cos_p * cos_t)                              # phi = arcsin(w / cos(theta))
        d_phi_du = np.tan(phi) * np.tan(theta) / np.abs(cos_t)
        # a zero coefficient times an unobservable axis (one row) contributes nothing, not nan
        var_pitch = d_theta_du**2 * var_u
        cross_u = np.where(d_phi_du == 0, 0.0, d_phi_du**2 * var_u)
        var_azimuth = d_phi_dw**2 * var_w + cross_u
        cov = np.where(d_phi_du == 0, 0.0, d_theta_du * d_phi_du * var_u)
    return var_pitch, var_azimuth, cov


def angle_std(rho, pitch_local, azimuth_local, cfg: RadarConfig):
    """(std pitch, std azimuth) [rad] of the array-frame angles (``sim/estimators.py`` step b).

    Per axis the tone bound on the spatial frequency, var(2 pi s u) >= 6 / (rho (N_z^2 - 1)) over the rows and
    var(2 pi s w) >= 6 / (rho (N_y^2 - 1)) over the columns (Rife & Boorstyn 1974), rho integrated over all
    elements (and chirps and samples), mapped through u = sin(theta), w = sin(phi) cos(theta):
    std theta = std u / |cos theta|, var phi = var w / (cos phi cos theta)^2 + (tan phi tan theta / cos theta)^2 var u.
    Infinite towards the array's plane (cos -> 0) or along an axis with a single element. Arrays broadcast.
    """
    var_pitch, var_azimuth, _ = _angle_covariance(rho, pitch_local, azimuth_local, cfg)
    return np.sqrt(var_pitch), np.sqrt(var_azimuth)


def velocity_std(rho, cfg: RadarConfig):
    """Radial-velocity std [m/s]: (c / (2 f_c)) sqrt(6 / (rho (2 pi T_c)^2 (C^2 - 1))); inf with one chirp.

    The tone bound of the chirp-to-chirp phase 2 pi mu T_c over the C chirps (Rife & Boorstyn 1974), range unknown
    (which absorbs the fast-time Doppler term exactly, module docstring). ``rho`` integrated SNR, arrays broadcast.
    """
    omega_std = np.sqrt(_tone_variance(rho, cfg.num_chirps))             # omega = 2 pi mu T_c
    return C / (2 * cfg.carrier_frequency) * omega_std / (2 * np.pi * cfg.chirp_interval)


def _world(pose: radar.ArrayPose, slant_range, pitch_local, azimuth_local) -> np.ndarray:
    """(distance, azimuth, pitch) labels [..., 3] of the point at these array-frame coordinates (Eqs. 55-57)."""
    point = pose.to_world(slant_range, azimuth_local, pitch_local)
    labels = sensing_labels(pose.position, point, np.zeros_like(point))
    return np.stack([labels["distance"], labels["azimuth"], labels["pitch"]], axis=-1)


def _world_jacobian(pose: radar.ArrayPose, slant_range, pitch_local, azimuth_local) -> np.ndarray:
    """d(distance, azimuth, pitch) / d(slant_range, pitch_local, azimuth_local) [..., 3, 3], central differences."""
    x = np.stack(np.broadcast_arrays(*(np.asarray(v, dtype=np.float64)
                                       for v in (slant_range, pitch_local, azimuth_local))), axis=-1)
    steps = np.stack(np.broadcast_arrays(1e-6 * np.maximum(np.abs(x[..., 0]), 1.0), 1e-6, 1e-6), axis=-1)
    columns = []
    for i in range(3):
        h = np.zeros_like(x)
        h[..., i] = steps[..., i]
        plus, minus = _world(pose, *np.moveaxis(x + h, -1, 0)), _world(pose, *np.moveaxis(x - h, -1, 0))
        diff = plus - minus
        diff[..., 1] = wrap_angle(diff[..., 1])                           # azimuth across +-pi
        columns.append(diff / (2 * steps[..., i:i + 1]))
    return np.stack(columns, axis=-1)


def crb_world(rho, slant_range, pitch_local, azimuth_local, pose: radar.ArrayPose, cfg: RadarConfig) -> dict:
    """Stds of the world-frame labels (``sim/labels.py``) of targets seen at these array-frame coordinates.

    The array-frame covariance of (slant range, pitch, azimuth) - :func:`range_std` at the target's
    ``slant_range`` (its covered samples), the angle covariance of :func:`angle_std` including its pitch-azimuth
    term, range uncorrelated with the angles - is propagated through the Jacobian of the map to the labels,
    Sigma_world = G Sigma G^T (Kay Eq. 3.30), the map being :meth:`ArrayPose.to_world` followed by
    :func:`~disac_ros.sim.labels.sensing_labels` (as ``classical_estimates`` does) and G taken by central
    differences. ``radial_velocity`` is :func:`velocity_std` (the label of Eq. 58 is the line-of-sight velocity the
    Doppler measures). Returns a dict of float64 arrays of the broadcast shape for ``WORLD_KEYS`` (distance
    horizontal [m], azimuth and pitch [rad], radial_velocity [m/s], slant_range [m]).
    """
    rho, slant_range, pitch_local, azimuth_local = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (rho, slant_range, pitch_local, azimuth_local)))
    var_range = range_std(rho, cfg, slant_range) ** 2
    var_pitch, var_azimuth, cov = _angle_covariance(rho, pitch_local, azimuth_local, cfg)
    zero = np.zeros_like(var_range)
    sigma = np.stack([np.stack([var_range, zero, zero], -1), np.stack([zero, var_pitch, cov], -1),
                      np.stack([zero, cov, var_azimuth], -1)], -2)        # [..., 3, 3] (range, pitch, azimuth)
    g = _world_jacobian(pose, slant_range, pitch_local, azimuth_local)    # [..., 3 labels, 3 array coordinates]
    with np.errstate(invalid="ignore"):
        # G Sigma G^T's diagonal, with 0 * inf = 0 (a label that does not depend on an unobservable coordinate)
        terms = g[..., :, :, None] * sigma[..., None, :, :] * g[..., :, None, :]
        terms = np.where((g[..., :, :, None] == 0) | (g[..., :, None, :] == 0), 0.0, terms)
        var_world = terms.sum(axis=(-1, -2))
    std = np.sqrt(np.maximum(var_world, 0.0))
    return {"distance": std[..., 0], "azimuth": std[..., 1], "pitch": std[..., 2],
            "radial_velocity": np.broadcast_to(velocity_std(rho, cfg), rho.shape).astype(np.float64),
            "slant_range": np.sqrt(var_range)}


def rmse_bound(std_per_sample, axis=None):
    """Bound on an RMSE over a set: sqrt(mean(std^2)) of the per-sample CRB stds (over ``axis``, all by default)."""
    std = np.asarray(std_per_sample, dtype=np.float64)
    return np.sqrt(np.mean(std**2, axis=axis))
