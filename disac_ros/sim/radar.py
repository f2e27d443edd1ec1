"""SIMO LFM radar echo of Sec. III-A1, Eqs. (1)-(3), with a physical link budget and an array pose.

    R_{k,n} = varphi a(theta, phi) e^{j 2 pi mu t} s(t - tau) + N_0                          (1)
    varphi  = lambda eps_n / ((4 pi)^{3/2} d^2)                                              (2, as printed)
    lambda  = c / f_c                                                                        (3)

with s(t) = exp(j pi K_t t^2) on [0, T_r) (complex baseband LFM chirp), tau = 2 R / c,
mu = 2 f_c v / c, and the steering vector of an N_z x N_y array with spacing s (wavelengths)

    a(theta, phi) = [e^{-j 2 pi s r sin(theta)}]_{r < N_z} (x) [e^{-j 2 pi s c sin(phi) cos(theta)}]_{c < N_y},

antenna index r * N_y + c (rows = z outer, columns = y inner); s = 1/2 gives the paper's e^{-j pi ...}.

Sample n of chirp m on antenna a (t_n = n / F_s, T_c = chirp_interval) is

    x[m, a, n] = A_m g(psi) 10^(-L / 20) a_a e^{j 2 pi mu (m T_c + t_n)} s(t_n - tau) e^{-j 2 pi f_c tau} + N_0,

with A_m the amplitude of chirp m (its RCS sigma_m), g the element pattern at the off-boresight angle psi and L
an extra two-way propagation loss [dB] (blockage, computed elsewhere).

Array frame (:class:`ArrayPose`). Each device's array has a pose: x along its boresight (towards the device's
``lookat`` for ``boresight: view``, the world's +x for ``world_x``), y the horizontal axis to its left (z_world x
boresight, normalised), z completing the right-handed frame (up, tilted with the boresight). The steering vector
is the paper's, unchanged, over angles measured in this frame exactly as Eqs. (56)-(57) measure them in the world
frame: azimuth = atan2(-y', x'), pitch = atan2(-z', hypot(x', y')). The labels stay Eqs. (55)-(57) in the world
frame (``sim/labels.py``); only the echo and the estimators use the array frame. With ``world_x`` the array frame
is the world frame and the local angles equal the labels.

Amplitude (``radar.amplitude``):

- ``radar_equation`` (default): A = sqrt(P_r), P_r = P_t G_t G_r lambda^2 sigma / ((4 pi)^3 R^4 L_s), the
  monostatic radar equation (Skolnik, Radar Handbook, ch. 1; Richards, Fundamentals of Radar Signal Processing,
  ch. 2) with the gains converted from dBi and G_r the gain of one receiving element: amplitude ~ sqrt(sigma) / R^2,
  in sqrt(W) (volts across 1 ohm). A clean sample has power P_r.
- ``paper_eq2``: A = Eq. (2) as printed, linear in sigma (the project's first model).

Element pattern: each element's power pattern is cos(psi)^q per way (q = ``element_pattern_exponent``), so the
two-way amplitude factor is g(psi) = cos(psi)^q for psi < 90 deg and 0 behind the array (psi >= 90 deg: the
array's ground plane shields its back half-space). q = 0 is isotropic everywhere, behind the array included
(the project's first model).

Noise (``radar.noise``), complex circular Gaussian of power sigma_n^2 per sample:

- ``link_budget`` (default): sigma_n^2 = k T0 B F with k Boltzmann's constant, T0 = ``noise_temperature``,
  B = F_s (the complex sampled bandwidth) and F the noise figure (linear).
- ``reference_snr``: sigma_n^2 = A_ref^2 / 10^(snr_db / 10), A_ref the chosen amplitude model's value for a 1 m^2
  target at ``snr_reference_distance`` on boresight: ``snr_db`` is that reference's per-sample SNR.

:func:`radar_budget` gives received power, noise power and the per-sample and integrated SNR.

RCS (:func:`aspect_rcs`, :func:`draw_rcs`): a mean that depends on the aspect under which a device sees the target,
fluctuating by the Swerling models. The echo takes a real RCS per chirp; the random phase of the scattering
coefficient is not modelled separately (the carrier phase e^{-j 2 pi f_c tau} already makes the absolute phase
arbitrary from frame to frame, and a random phase per chirp would destroy the Doppler of Swerling II/IV targets).

Conventions (documented because the paper leaves them open):

- delay and path loss use the true 3-D slant range (physics); the labels use the horizontal Eq. (55);
- v > 0 means receding (Eq. 58) and gives mu > 0, the paper's sign (the opposite of the usual physical
  sign of a receding target's Doppler shift); estimators invert the same convention;
- s(t) is zero for t < 0 and t >= T_r: samples before the delay hold noise only;
- chirp m starts at m * T_c; the delay is frozen over a frame (range migration of v * N * T_c is far below
  the 3 m range cell), so chirp-to-chirp phase advances by 2 pi mu T_c;
- the azimuth enters only as sin(phi) cos(theta): phi and pi - phi give the same echo (planar array); the
  element pattern (0 behind the array) is what tells them apart, so estimators search the front half-space.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from disac_ros.config import C, RadarConfig

BOLTZMANN = 1.380649e-23  # k [J/K] (SI, exact)
SWERLING_MODELS = (0, 1, 2, 3, 4)


def wavelength(cfg: RadarConfig) -> float:
    """Eq. (3): lambda = c / f_c [m]."""
    return C / cfg.carrier_frequency


def max_range(cfg: RadarConfig) -> float:
    """Largest slant range whose delay fits in one PRI: c T_r / 2 [m]."""
    return C * cfg.pulse_repetition_interval / 2


# --- array pose ----------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class ArrayPose:
    """Position [3] and orientation of a device's array; ``rotation`` [3, 3] has the array axes as rows (world).

    Row 0 is the boresight x_a, row 1 the horizontal left axis y_a = (z_world x x_a) / |.|, row 2 z_a = x_a x y_a.
    A world vector w has array coordinates ``rotation @ w``.
    """

    position: np.ndarray
    rotation: np.ndarray

    @classmethod
    def from_device(cls, position, lookat, boresight: str = "view") -> ArrayPose:
        """Array at ``position`` facing ``lookat`` (``view``) or the world's +x (``world_x``).

        Raises ValueError for an unknown boresight, a ``lookat`` at the position or straight above/below it
        (the horizontal axis is then undefined).
        """
        position = np.asarray(position, dtype=np.float64).reshape(3)
        if boresight == "world_x":
            return cls(position, np.eye(3))
        if boresight != "view":
            raise ValueError(f"ArrayPose: boresight must be 'view' or 'world_x', got {boresight!r}")
        forward = np.asarray(lookat, dtype=np.float64).reshape(3) - position
        norm = np.linalg.norm(forward)
        if not norm > 0:
            raise ValueError(f"ArrayPose: lookat {list(lookat)} is the device's position")
        x_a = forward / norm
        left = np.cross([0.0, 0.0, 1.0], x_a)
        if np.linalg.norm(left) < 1e-9:
            raise ValueError(f"ArrayPose: lookat {list(lookat)} is straight above or below {list(position)}; "
                             "the array's horizontal axis is undefined")
        y_a = left / np.linalg.norm(left)
        return cls(position, np.stack([x_a, y_a, np.cross(x_a, y_a)]))

    @classmethod
    def for_device(cls, device, radar: RadarConfig) -> ArrayPose:
        """Pose of a ``DeviceConfig``'s array under ``radar.boresight``."""
        return cls.from_device(device.position, device.lookat, radar.boresight)

    def local(self, target_positions) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """World points [..., 3] -> (slant_range, azimuth_local, pitch_local, off_boresight), each [...].

        Angles in the array frame as Eqs. (56)-(57) define them in the world frame: azimuth = atan2(-y', x'),
        pitch = atan2(-z', hypot(x', y')) [rad]; off_boresight psi = angle between the boresight and the
        direction to the point, in [0, pi] (cos psi = cos(pitch) cos(azimuth)).
        """
        delta = np.asarray(target_positions, dtype=np.float64) - self.position
        p = delta @ self.rotation.T                                              # array coordinates [..., 3]
        slant = np.linalg.norm(p, axis=-1)
        horizontal = np.hypot(p[..., 0], p[..., 1])
        off = np.arccos(np.clip(p[..., 0] / np.maximum(slant, 1e-12), -1.0, 1.0))
        return slant, np.arctan2(-p[..., 1], p[..., 0]), np.arctan2(-p[..., 2], horizontal), off

    def to_world(self, slant_range, azimuth_local, pitch_local) -> np.ndarray:
        """Inverse of :meth:`local`: the world point [..., 3] at that slant range and array-frame angles."""
        r, az, el = (np.asarray(v, dtype=np.float64) for v in (slant_range, azimuth_local, pitch_local))
        p = np.stack(np.broadcast_arrays(r * np.cos(el) * np.cos(az), -r * np.cos(el) * np.sin(az),
                                         -r * np.sin(el)), axis=-1)
        return self.position + p @ self.rotation


# --- waveform, steering, amplitude and noise ----------------------------------------------------------------

def steering_vector(pitch: float, azimuth: float, rows: int, cols: int, spacing: float = 0.5) -> np.ndarray:
    """a(theta, phi): complex128 [rows * cols], antenna index = row * cols + col (array-frame angles)."""
    a_z = np.exp(-2j * np.pi * spacing * np.arange(rows) * np.sin(pitch))
    a_y = np.exp(-2j * np.pi * spacing * np.arange(cols) * np.sin(azimuth) * np.cos(pitch))
    return np.kron(a_z, a_y)


def lfm_chirp(cfg: RadarConfig, t: np.ndarray | None = None) -> np.ndarray:
    """s(t) = exp(j pi K_t t^2) on [0, T_r), zero elsewhere; complex128 of t's shape.

    Default t = n / F_s, n < num_samples, giving [num_samples].
    """
    if t is None:
        t = np.arange(cfg.num_samples) / cfg.sampling_frequency
    inside = (t >= 0) & (t < cfg.pulse_repetition_interval)
    return np.where(inside, np.exp(1j * np.pi * cfg.chirp_slope * t**2), 0)


def delayed_replicas(cfg: RadarConfig) -> np.ndarray:
    """The pulse delayed by every sample delay tau_i = i / F_s: s(t_n - tau_i), complex64 [S_i, S_n].

    What a matched filter correlates the echo with (the RVFN's radar front end, the classical estimator).
    """
    t = np.arange(cfg.num_samples) / cfg.sampling_frequency
    return lfm_chirp(cfg, t[None, :] - t[:, None]).astype(np.complex64)


def path_amplitude(distance: float, rcs: float, wavelength: float) -> float:
    """Eq. (2): varphi = lambda * rcs / ((4 pi)^{3/2} d^2), as printed (amplitude linear in the RCS)."""
    return wavelength * rcs / ((4 * np.pi) ** 1.5 * distance**2)


def _radar_equation_constant(cfg: RadarConfig) -> float:
    """P_t G_t G_r lambda^2 / ((4 pi)^3 L_s) [W m^2]: P_r = constant * sigma / R^4."""
    gains = 10 ** ((cfg.tx_gain_db + cfg.rx_gain_db) / 10)
    return cfg.transmit_power * gains * wavelength(cfg) ** 2 / ((4 * np.pi) ** 3 * 10 ** (cfg.system_loss_db / 10))


def received_power(cfg: RadarConfig, slant_range, rcs):
    """Radar equation P_r = P_t G_t G_r lambda^2 sigma / ((4 pi)^3 R^4 L_s) [W], on boresight, per element."""
    return _radar_equation_constant(cfg) * np.asarray(rcs) / np.asarray(slant_range) ** 4


def element_gain(cfg: RadarConfig, off_boresight):
    """Two-way amplitude factor g(psi) = cos(psi)^q for psi < 90 deg, 0 behind the array; 1 everywhere if q = 0."""
    q = cfg.element_pattern_exponent
    psi = np.abs((np.asarray(off_boresight, dtype=np.float64) + np.pi) % (2 * np.pi) - np.pi)   # in [0, pi]
    if q == 0:
        return np.ones_like(psi)
    return np.where(psi < np.pi / 2, np.abs(np.cos(psi)) ** q, 0.0)


def echo_amplitude(cfg: RadarConfig, slant_range, rcs, loss_db=0.0, off_boresight=0.0):
    """Amplitude A g(psi) 10^(-L/20) of one clean sample under ``cfg.amplitude`` (rcs may be an array)."""
    if cfg.amplitude == "radar_equation":
        base = np.sqrt(received_power(cfg, slant_range, rcs))
    elif cfg.amplitude == "paper_eq2":
        base = path_amplitude(np.asarray(slant_range), np.asarray(rcs), wavelength(cfg))
    else:
        raise ValueError(f"radar.amplitude must be 'radar_equation' or 'paper_eq2', got {cfg.amplitude!r}")
    return base * element_gain(cfg, off_boresight) * 10 ** (-np.asarray(loss_db) / 20)


def rcs_from_amplitude(cfg: RadarConfig, slant_range, amplitude):
    """Inverse of :func:`echo_amplitude` on boresight without loss: the RCS [m^2] giving ``amplitude`` at that range."""
    slant_range, amplitude = np.asarray(slant_range), np.asarray(amplitude)
    if cfg.amplitude == "radar_equation":
        return amplitude**2 * slant_range**4 / _radar_equation_constant(cfg)
    return amplitude / path_amplitude(slant_range, 1.0, wavelength(cfg))


def noise_power(cfg: RadarConfig) -> float:
    """sigma_n^2 of N_0 per complex sample under ``cfg.noise``.

    ``link_budget``: k T0 F_s F. ``reference_snr``: A_ref^2 / 10^(snr_db / 10), A_ref the amplitude of a 1 m^2
    target at ``snr_reference_distance`` on boresight (the chosen amplitude model).
    """
    if cfg.noise == "link_budget":
        return BOLTZMANN * cfg.noise_temperature * cfg.sampling_frequency * 10 ** (cfg.noise_figure_db / 10)
    if cfg.noise == "reference_snr":
        return float(echo_amplitude(cfg, cfg.snr_reference_distance, 1.0)) ** 2 / 10 ** (cfg.snr_db / 10)
    raise ValueError(f"radar.noise must be 'link_budget' or 'reference_snr', got {cfg.noise!r}")


def covered_samples(cfg: RadarConfig, slant_range):
    """Samples of the window holding the echo (t_n >= tau = 2 R / c), as :func:`synthesize_echo` fills them."""
    t = np.arange(cfg.num_samples) / cfg.sampling_frequency
    tau = 2 * np.asarray(slant_range, dtype=np.float64) / C
    return np.sum((t - tau[..., None] >= 0) & (t - tau[..., None] < cfg.pulse_repetition_interval), axis=-1)


def radar_budget(cfg: RadarConfig, slant_range, rcs, loss_db=0.0, off_boresight=0.0) -> dict:
    """Link budget of a target (arrays broadcast): powers and SNRs of one device's echo.

    Keys: ``received_power`` (clean per-sample power A^2 [W]; for ``paper_eq2`` the square of Eq. 2),
    ``noise_power`` [W], ``snr_per_sample_db``, ``coherent_samples`` (N_s(R) x num_antennas x num_chirps, N_s(R)
    the samples of the window that hold the echo, :func:`covered_samples`), ``coherent_gain_db`` and
    ``integrated_snr_db`` = per-sample SNR x coherent samples: the SNR of the fully matched (range, angle,
    Doppler) filter output. With the full window (N_s = num_samples) the gain would be ``full_window_gain_db``.
    """
    power = echo_amplitude(cfg, slant_range, rcs, loss_db, off_boresight) ** 2
    noise = noise_power(cfg)
    n = covered_samples(cfg, slant_range) * cfg.num_antennas * cfg.num_chirps
    with np.errstate(divide="ignore"):
        snr_db = 10 * np.log10(power / noise)
        gain_db = 10 * np.log10(n)
    return {"received_power": power, "noise_power": noise, "snr_per_sample_db": snr_db, "coherent_samples": n,
            "coherent_gain_db": gain_db, "integrated_snr_db": snr_db + gain_db,
            "full_window_gain_db": 10 * math.log10(cfg.num_samples * cfg.num_antennas * cfg.num_chirps)}


# --- radar cross-section --------------------------------------------------------------------------------------

def aspect_rcs(mean_rcs, aspect_ratio_db, aspect_angle):
    """Mean RCS [m^2] seen under horizontal aspect angle alpha [rad] (target heading vs device-to-target direction).

    sigma(alpha) = mean (r + (1 - r) sin^2 alpha) 2 / (1 + r), r = 10^(-ratio_db / 10): broadside (alpha = 90 deg)
    over nose-on (alpha = 0) is the ratio, and the average over a uniform aspect is ``mean_rcs``. An aspect-dependent
    component of a target's RCS as in the ISAC target model of 3GPP TR 38.901 (Rel-19) Sec. 7.9.
    """
    r = 10 ** (-np.asarray(aspect_ratio_db, dtype=np.float64) / 10)
    return np.asarray(mean_rcs) * (r + (1 - r) * np.sin(aspect_angle) ** 2) * 2 / (1 + r)


def draw_rcs(mean, swerling: int, num_chirps: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """RCS per chirp [num_chirps] float64 of one frame around ``mean`` [m^2] (Swerling 1960; Richards ch. 2).

    0: constant; I: exponential power (chi-square 2 dof) drawn once per frame; II: the same drawn per chirp;
    III: chi-square 4 dof (Gamma(k=2, theta=mean/2)) once per frame; IV: the same per chirp. Means are ``mean``;
    variances mean^2 (I/II), mean^2 / 2 (III/IV), 0 (0). Each device should draw with its own generator (devices
    tens of degrees apart see independent RCS draws). Raises ValueError for an unknown model.
    """
    if swerling not in SWERLING_MODELS:
        raise ValueError(f"draw_rcs: swerling must be one of {SWERLING_MODELS}, got {swerling!r}")
    mean = float(mean)
    if swerling == 0:
        return np.full(num_chirps, mean)
    rng = rng if rng is not None else np.random.default_rng()
    size = 1 if swerling in (1, 3) else num_chirps
    draws = rng.exponential(mean, size) if swerling in (1, 2) else rng.gamma(2.0, mean / 2, size)
    return np.broadcast_to(draws, (num_chirps,)).astype(np.float64)


# --- echo -------------------------------------------------------------------------------------------------------

def synthesize_echo(cfg: RadarConfig, slant_range: float, azimuth: float, pitch: float, radial_velocity: float,
                    rcs, rng: np.random.Generator | None = None, noise: bool = True, loss_db: float = 0.0,
                    off_boresight: float = 0.0, background: np.ndarray | None = None) -> np.ndarray:
    """Echo of one target, Eq. (1): complex64 [num_chirps, num_antennas, num_samples].

    slant_range [m] (3-D), azimuth/pitch [rad] in the array frame (:meth:`ArrayPose.local`; the world angles of
    Eqs. 56-57 for ``boresight: world_x``), radial_velocity [m/s] (> 0 receding), rcs [m^2] a number or one per
    chirp [num_chirps] (Swerling II/IV, :func:`draw_rcs`), loss_db an extra two-way propagation loss [dB] applied
    as 10^(-loss_db / 20) to the amplitude, off_boresight psi [rad] the element pattern's angle (from
    :meth:`ArrayPose.local`; arccos(cos(pitch) cos(azimuth)) of the local angles). ``background`` [C, A, S]: a
    return of the static scene added before the noise (the device's clutter, :mod:`disac_ros.sim.clutter`).
    ``rng`` draws the noise (a fresh unseeded generator if None); ``noise=False`` gives the clean echo.
    Raises ValueError for non-finite geometry, non-positive range/RCS, a negative loss, an RCS array of the wrong
    length, or a delay beyond the PRI.
    """
    rcs_values = np.asarray(rcs, dtype=np.float64)
    geometry = {"slant_range": slant_range, "azimuth": azimuth, "pitch": pitch, "radial_velocity": radial_velocity,
                "rcs": rcs_values, "loss_db": loss_db, "off_boresight": off_boresight}
    for name, value in geometry.items():
        if not np.all(np.isfinite(value)):
            raise ValueError(f"synthesize_echo: {name} is {value}, expected a finite number")
    if rcs_values.ndim > 1 or (rcs_values.ndim == 1 and rcs_values.shape[0] != cfg.num_chirps):
        raise ValueError(f"synthesize_echo: rcs must be a number or one per chirp [{cfg.num_chirps}], "
                         f"got shape {list(rcs_values.shape)}")
    if slant_range <= 0 or np.any(rcs_values <= 0):
        raise ValueError(f"synthesize_echo: slant_range ({slant_range}) and rcs ({rcs}) must be positive")
    if loss_db < 0:
        raise ValueError(f"synthesize_echo: loss_db ({loss_db}) must be >= 0 (a loss)")
    tau = 2 * slant_range / C
    if tau >= cfg.pulse_repetition_interval:
        raise ValueError(f"synthesize_echo: target at {slant_range:.1f} m is beyond the unambiguous range "
                         f"c * PRI / 2 = {max_range(cfg):.1f} m")
    fc = cfg.carrier_frequency
    mu = 2 * fc * radial_velocity / C                                           # Doppler shift [Hz]
    t = np.arange(cfg.num_samples) / cfg.sampling_frequency                      # fast time t_n [S]
    slow = np.arange(cfg.num_chirps)[:, None] * cfg.chirp_interval               # chirp starts m T_c [C, 1]
    pulse = np.exp(2j * np.pi * mu * (slow + t)) * lfm_chirp(cfg, t - tau) * np.exp(-2j * np.pi * fc * tau)  # [C, S]
    amplitude = np.broadcast_to(echo_amplitude(cfg, slant_range, rcs_values, loss_db, off_boresight),
                                (cfg.num_chirps,))                               # per chirp [C]
    a = steering_vector(pitch, azimuth, cfg.array_rows, cfg.array_cols, cfg.element_spacing)              # [A]
    echo = amplitude[:, None, None] * a[None, :, None] * pulse[:, None, :]       # [C, A, S]
    if background is not None:
        echo = echo + background
    if noise:
        rng = rng if rng is not None else np.random.default_rng()
        sigma = np.sqrt(noise_power(cfg) / 2)                                    # per real/imaginary part
        echo = echo + sigma * (rng.standard_normal(echo.shape) + 1j * rng.standard_normal(echo.shape))
    return echo.astype(np.complex64)
