"""SIMO LFM radar echo of Sec. III-A1, Eqs. (1)-(3), and classical estimators used to check it.

    R_{k,n} = varphi a(theta, phi) e^{j 2 pi mu t} s(t - tau) + N_0                          (1)
    varphi  = lambda eps_n / ((4 pi)^{3/2} d^2)                                              (2)
    lambda  = c / f_c                                                                        (3)

with s(t) = exp(j pi K_t t^2) on [0, T_r) (complex baseband LFM chirp), tau = 2 d / c,
mu = 2 f_c v / c, and the steering vector of an N_z x N_y array with spacing s (wavelengths)

    a(theta, phi) = [e^{-j 2 pi s r sin(theta)}]_{r < N_z} (x) [e^{-j 2 pi s c sin(phi) cos(theta)}]_{c < N_y},

antenna index r * N_y + c (rows = z outer, columns = y inner); s = 1/2 gives the paper's e^{-j pi ...}.

Sample n of chirp m on antenna a (t_n = n / F_s, T_c = chirp_interval) is

    x[m, a, n] = varphi a_a e^{j 2 pi mu (m T_c + t_n)} s(t_n - tau) e^{-j 2 pi f_c tau} + N_0.

Conventions (documented because the paper leaves them open):

- delay and path loss use the true 3-D slant range (physics); the labels use the horizontal Eq. (55);
- v > 0 means receding (Eq. 58) and gives mu > 0, the paper's sign (the opposite of the usual physical
  sign of a receding target's Doppler shift); estimators invert the same convention;
- s(t) is zero for t < 0 and t >= T_r: samples before the delay hold noise only;
- chirp m starts at m * T_c; the delay is frozen over a frame (range migration of v * N * T_c is far below
  the 3 m range cell), so chirp-to-chirp phase advances by 2 pi mu T_c;
- the azimuth enters only as sin(phi) cos(theta): phi and pi - phi give the same echo (planar array);
- N_0 is circular Gaussian of power sigma^2 = varphi_ref^2 / 10^(snr_db / 10), with varphi_ref the
  Eq. (2) amplitude of a 1 m^2 target at ``snr_reference_distance``: ``snr_db`` is the per-sample SNR of
  that reference, so the echo amplitude really carries RCS and range.
"""
from __future__ import annotations

import numpy as np

from disac_ros.config import RadarConfig

C = 3e8  # speed of light [m/s], as in the paper


def wavelength(cfg: RadarConfig) -> float:
    """Eq. (3): lambda = c / f_c [m]."""
    return C / cfg.carrier_frequency


def max_range(cfg: RadarConfig) -> float:
    """Largest slant range whose delay fits in one PRI: c T_r / 2 [m]."""
    return C * cfg.pulse_repetition_interval / 2


def steering_vector(pitch: float, azimuth: float, rows: int, cols: int, spacing: float = 0.5) -> np.ndarray:
    """a(theta, phi): complex128 [rows * cols], antenna index = row * cols + col."""
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


def path_amplitude(distance: float, rcs: float, wavelength: float) -> float:
    """Eq. (2): varphi = lambda * rcs / ((4 pi)^{3/2} d^2), as printed (amplitude linear in the RCS)."""
    return wavelength * rcs / ((4 * np.pi) ** 1.5 * distance**2)


def noise_power(cfg: RadarConfig) -> float:
    """sigma^2 of N_0: varphi_ref^2 / 10^(snr_db / 10), varphi_ref = Eq. (2) for 1 m^2 at the reference distance."""
    return path_amplitude(cfg.snr_reference_distance, 1.0, wavelength(cfg)) ** 2 / 10 ** (cfg.snr_db / 10)


def synthesize_echo(cfg: RadarConfig, slant_range: float, azimuth: float, pitch: float, radial_velocity: float,
                    rcs: float, rng: np.random.Generator | None = None, noise: bool = True) -> np.ndarray:
    """Echo of one target, Eq. (1): complex64 [num_chirps, num_antennas, num_samples].

    slant_range [m] (3-D), azimuth/pitch [rad] (Eqs. 56-57), radial_velocity [m/s] (> 0 receding), rcs [m^2].
    ``rng`` draws the noise (a fresh unseeded generator if None); ``noise=False`` gives the clean echo.
    Raises ValueError for non-finite geometry, non-positive range/RCS, or a delay beyond the PRI.
    """
    geometry = {"slant_range": slant_range, "azimuth": azimuth, "pitch": pitch,
                "radial_velocity": radial_velocity, "rcs": rcs}
    for name, value in geometry.items():
        if not np.isfinite(value):
            raise ValueError(f"synthesize_echo: {name} is {value}, expected a finite number")
    if slant_range <= 0 or rcs <= 0:
        raise ValueError(f"synthesize_echo: slant_range ({slant_range}) and rcs ({rcs}) must be positive")
    tau = 2 * slant_range / C
    if tau >= cfg.pulse_repetition_interval:
        raise ValueError(f"synthesize_echo: target at {slant_range:.1f} m is beyond the unambiguous range "
                         f"c * PRI / 2 = {max_range(cfg):.1f} m")
    fc = cfg.carrier_frequency
    mu = 2 * fc * radial_velocity / C                                           # Doppler shift [Hz]
    t = np.arange(cfg.num_samples) / cfg.sampling_frequency                      # fast time t_n [S]
    slow = np.arange(cfg.num_chirps)[:, None] * cfg.chirp_interval               # chirp starts m T_c [C, 1]
    pulse = np.exp(2j * np.pi * mu * (slow + t)) * lfm_chirp(cfg, t - tau) * np.exp(-2j * np.pi * fc * tau)  # [C, S]
    a = steering_vector(pitch, azimuth, cfg.array_rows, cfg.array_cols, cfg.element_spacing)              # [A]
    echo = path_amplitude(slant_range, rcs, wavelength(cfg)) * a[None, :, None] * pulse[:, None, :]       # [C, A, S]
    if noise:
        rng = rng if rng is not None else np.random.default_rng()
        sigma = np.sqrt(noise_power(cfg) / 2)                                    # per real/imaginary part
        echo = echo + sigma * (rng.standard_normal(echo.shape) + 1j * rng.standard_normal(echo.shape))
    return echo.astype(np.complex64)


# --- classical estimators (a check of the model, and a reference for the learned ones) ----------------

def _check_echo(echo: np.ndarray, cfg: RadarConfig) -> np.ndarray:
    echo = np.asarray(echo)
    if echo.ndim != 3 or echo.shape[1:] != (cfg.num_antennas, cfg.num_samples):
        raise ValueError(f"echo must be [chirps, {cfg.num_antennas}, {cfg.num_samples}] for this radar config, "
                         f"got {list(echo.shape)}")
    return echo


def matched_filter(echo: np.ndarray, cfg: RadarConfig) -> tuple[np.ndarray, np.ndarray]:
    """Correlate every chirp and antenna with the reference chirp at each candidate delay tau_i = i / F_s.

    echo [C, A, S] -> (ranges [S] in m = c tau_i / 2, output [C, A, S] complex): output[..., i] is the echo
    correlated with s(t - tau_i) over the sampling window (the exact replica the model produces).
    """
    echo = _check_echo(echo, cfg)
    t = np.arange(cfg.num_samples) / cfg.sampling_frequency
    refs = lfm_chirp(cfg, t[None, :] - t[:, None])                              # s(t_n - tau_i) [S_delay, S]
    return C * t / 2, np.einsum("cas,ds->cad", echo, refs.conj())


def range_profile(echo: np.ndarray, cfg: RadarConfig) -> tuple[np.ndarray, np.ndarray]:
    """Range profile of echo [C, A, S]: (ranges [S] in m, matched-filter power [S] summed over chirps, antennas)."""
    ranges, out = matched_filter(echo, cfg)
    return ranges, np.sum(np.abs(out) ** 2, axis=(0, 1))


def estimate_range(echo: np.ndarray, cfg: RadarConfig) -> float:
    """Slant range [m] at the range-profile peak (grid c / 2F_s = 2.5 m; resolution c / 2B)."""
    ranges, power = range_profile(echo, cfg)
    return float(ranges[np.argmax(power)])


def _range_gated(echo: np.ndarray, cfg: RadarConfig) -> np.ndarray:
    """Matched-filter output at the strongest range bin: snapshots [C, A]."""
    _, out = matched_filter(echo, cfg)
    return out[..., np.argmax(np.sum(np.abs(out) ** 2, axis=(0, 1)))]


def angle_spectrum(echo: np.ndarray, cfg: RadarConfig, pitches: np.ndarray, azimuths: np.ndarray) -> np.ndarray:
    """Bartlett power sum_m |a(theta, phi)^H x_m|^2 of the range-gated snapshots: [len(pitches), len(azimuths)]."""
    x = _range_gated(echo, cfg)                                                  # [C, A]
    p, az = np.meshgrid(np.asarray(pitches, dtype=float), np.asarray(azimuths, dtype=float), indexing="ij")
    s, rows, cols = cfg.element_spacing, np.arange(cfg.array_rows), np.arange(cfg.array_cols)
    a_z = np.exp(-2j * np.pi * s * rows * np.sin(p)[..., None])                  # [P, Az, N_z]
    a_y = np.exp(-2j * np.pi * s * cols * (np.sin(az) * np.cos(p))[..., None])   # [P, Az, N_y]
    beam = np.einsum("pqr,pqc,mrc->pqm", a_z.conj(), a_y.conj(), x.reshape(-1, cfg.array_rows, cfg.array_cols))
    return np.sum(np.abs(beam) ** 2, axis=-1)


def estimate_angles(echo: np.ndarray, cfg: RadarConfig, resolution_deg: float = 0.5) -> tuple[float, float]:
    """(pitch, azimuth) [rad] at the angle-spectrum peak on a grid over [-80, 80] deg.

    Only |phi| < 90 deg is searched: the planar array cannot tell phi from pi - phi.
    """
    grid = np.deg2rad(np.arange(-80, 80 + resolution_deg / 2, resolution_deg))
    power = angle_spectrum(echo, cfg, grid, grid)
    i, j = np.unravel_index(np.argmax(power), power.shape)
    return float(grid[i]), float(grid[j])


def estimate_radial_velocity(echo: np.ndarray, cfg: RadarConfig, oversample: int = 16) -> float:
    """Radial velocity [m/s] (> 0 receding) at the Doppler peak; needs num_chirps > 1.

    The peak of a zero-padded (``oversample`` x) FFT over chirps of the range-gated snapshots [C, A];
    unambiguous for |v| < lambda / (4 T_c).
    """
    if np.asarray(echo).shape[0] < 2:
        raise ValueError("radial velocity needs more than one chirp per frame (radar.num_chirps > 1); "
                         "a single pulse of 1 us cannot resolve Doppler")
    x = _range_gated(echo, cfg)                                                  # [C, A]
    n = oversample * x.shape[0]
    spectrum = np.sum(np.abs(np.fft.fft(x, n=n, axis=0)) ** 2, axis=1)           # [n]
    mu = np.fft.fftfreq(n, d=cfg.chirp_interval)[np.argmax(spectrum)]
    return float(mu * C / (2 * cfg.carrier_frequency))
