"""SIMO LFM radar echo of Sec. III-A1, Eqs. (1)-(3), and classical estimators used to check it.

    R_{k,n} = varphi a(theta, phi) e^{j 2 pi mu t} s(t - tau) + N_0                          (1)
    varphi  = lambda eps_n / ((4 pi)^{3/2} d^2)                                              (2)
    lambda  = c / f_c                                                                        (3)

with s(t) = exp(j pi K_t t^2) on [0, T_r) (complex baseband LFM chirp), tau = 2 d / c,
mu = 2 f_c v / c, and the steering vector of an N_z x N_y array with spacing s (wavelengths)

    a(theta, phi) = [e^{-j 2 pi s r sin(theta)}]_{r < N_z} (x) [e^{-j 2 pi s c sin(phi) cos(theta)}]_{c < N_y}.

Conventions (documented because the paper leaves them open): the delay and path loss use the true
3-D slant range; v > 0 means receding and gives mu > 0 (the paper's sign); chirp m of a frame starts at
m * chirp_interval, and the carrier phase e^{-j 2 pi f_c tau} is included so that the phase advances
from chirp to chirp by 2 pi mu * chirp_interval. The noise is circular Gaussian with the power that gives
``snr_db`` per sample for a 1 m^2 target at ``snr_reference_distance``, so amplitude carries RCS and range.
"""
from __future__ import annotations

import numpy as np

from disac_ros.config import RadarConfig

C = 3e8  # speed of light [m/s], as in the paper


def wavelength(cfg: RadarConfig) -> float:
    return C / cfg.carrier_frequency


def steering_vector(pitch: float, azimuth: float, rows: int, cols: int, spacing: float = 0.5) -> np.ndarray:
    """a(theta, phi) [rows * cols] complex128; antenna index = row * cols + col."""
    a_z = np.exp(-2j * np.pi * spacing * np.arange(rows) * np.sin(pitch))
    a_y = np.exp(-2j * np.pi * spacing * np.arange(cols) * np.sin(azimuth) * np.cos(pitch))
    return np.kron(a_z, a_y)


def lfm_chirp(cfg: RadarConfig, t: np.ndarray | None = None) -> np.ndarray:
    """s(t) = exp(j pi K_t t^2) on [0, T_r), zero elsewhere; default t = n / F_s, n < num_samples."""
    if t is None:
        t = np.arange(cfg.num_samples) / cfg.sampling_frequency
    inside = (t >= 0) & (t < cfg.pulse_repetition_interval)
    return np.where(inside, np.exp(1j * np.pi * cfg.chirp_slope * t**2), 0)


def path_amplitude(distance: float, rcs: float, wavelength_m: float) -> float:
    """Eq. (2): varphi = lambda * rcs / ((4 pi)^{3/2} d^2)."""
    return wavelength_m * rcs / ((4 * np.pi) ** 1.5 * distance**2)


def noise_power(cfg: RadarConfig) -> float:
    return path_amplitude(cfg.snr_reference_distance, 1.0, wavelength(cfg)) ** 2 / 10 ** (cfg.snr_db / 10)


def synthesize_echo(cfg: RadarConfig, slant_range: float, azimuth: float, pitch: float, radial_velocity: float,
                    rcs: float, rng: np.random.Generator | None = None, noise: bool = True) -> np.ndarray:
    """Echo of one target, Eq. (1): complex64 [num_chirps, num_antennas, num_samples]."""
    geometry = {"slant_range": slant_range, "azimuth": azimuth, "pitch": pitch,
                "radial_velocity": radial_velocity, "rcs": rcs}
    for name, value in geometry.items():
        if not np.isfinite(value):
            raise ValueError(f"synthesize_echo: {name} is {value}, expected a finite number")
    if slant_range <= 0 or rcs <= 0:
        raise ValueError(f"synthesize_echo: slant_range ({slant_range}) and rcs ({rcs}) must be positive")
    tau = 2 * slant_range / C
    if tau >= cfg.pulse_repetition_interval:
        raise ValueError(f"target at {slant_range:.1f} m is beyond the unambiguous range "
                         f"c * PRI / 2 = {C * cfg.pulse_repetition_interval / 2:.1f} m")
    fc = cfg.carrier_frequency
    mu = 2 * fc * radial_velocity / C
    t = np.arange(cfg.num_samples) / cfg.sampling_frequency                      # fast time [S]
    slow = np.arange(cfg.num_chirps)[:, None] * cfg.chirp_interval               # chirp starts [C, 1]
    pulse = lfm_chirp(cfg, t - tau) * np.exp(2j * np.pi * mu * (slow + t)) * np.exp(-2j * np.pi * fc * tau)
    a = steering_vector(pitch, azimuth, cfg.array_rows, cfg.array_cols, cfg.element_spacing)
    echo = path_amplitude(slant_range, rcs, wavelength(cfg)) * a[None, :, None] * pulse[:, None, :]
    if noise:
        rng = rng if rng is not None else np.random.default_rng()
        sigma = np.sqrt(noise_power(cfg) / 2)
        echo = echo + sigma * (rng.standard_normal(echo.shape) + 1j * rng.standard_normal(echo.shape))
    return echo.astype(np.complex64)


# --- classical estimators (a check of the model, and a reference for the learned ones) ----------------

def matched_filter(echo: np.ndarray, cfg: RadarConfig) -> tuple[np.ndarray, np.ndarray]:
    """Correlate every chirp and antenna with the reference chirp at each candidate delay.

    Returns (ranges [S] in m, output [C, A, S] complex): output[..., i] is the echo correlated with
    s(t - tau_i), tau_i = i / F_s.
    """
    t = np.arange(cfg.num_samples) / cfg.sampling_frequency
    delays = np.arange(cfg.num_samples) / cfg.sampling_frequency
    refs = lfm_chirp(cfg, t[None, :] - delays[:, None])                        # [S_delay, S]
    out = np.einsum("cas,ds->cad", echo, refs.conj())
    return C * delays / 2, out


def range_profile(echo: np.ndarray, cfg: RadarConfig) -> tuple[np.ndarray, np.ndarray]:
    """(ranges [S] in m, power [S]) summed non-coherently over chirps and antennas."""
    ranges, out = matched_filter(echo, cfg)
    return ranges, np.sum(np.abs(out) ** 2, axis=(0, 1))


def estimate_range(echo: np.ndarray, cfg: RadarConfig) -> float:
    ranges, power = range_profile(echo, cfg)
    return float(ranges[np.argmax(power)])


def _range_gated(echo: np.ndarray, cfg: RadarConfig) -> np.ndarray:
    """Matched-filter output at the strongest range bin: [C, A] snapshots."""
    _, out = matched_filter(echo, cfg)
    return out[..., np.argmax(np.sum(np.abs(out) ** 2, axis=(0, 1)))]


def angle_spectrum(echo: np.ndarray, cfg: RadarConfig, pitches: np.ndarray, azimuths: np.ndarray) -> np.ndarray:
    """Bartlett beamformer power [len(pitches), len(azimuths)] on the range-gated snapshots."""
    x = _range_gated(echo, cfg).reshape(-1, cfg.array_rows, cfg.array_cols)      # [C, N_z, N_y]
    s = cfg.element_spacing
    p, az = np.asarray(pitches)[:, None], np.asarray(azimuths)[None, :]
    a_z = np.exp(-2j * np.pi * s * np.arange(cfg.array_rows) * np.sin(p)[..., None])             # [P, 1, N_z]
    a_y = np.exp(-2j * np.pi * s * np.arange(cfg.array_cols) * (np.sin(az) * np.cos(p))[..., None])  # [P, Az, N_y]
    beam = np.einsum("pr,pzc,mrc->pzm", a_z[:, 0].conj(), a_y.conj(), x)       # a(theta, phi)^H x per chirp
    return np.sum(np.abs(beam) ** 2, axis=-1)


def estimate_angles(echo: np.ndarray, cfg: RadarConfig, resolution_deg: float = 0.5) -> tuple[float, float]:
    """(pitch, azimuth) in rad at the angle-spectrum peak over [-80, 80] deg."""
    grid = np.deg2rad(np.arange(-80, 80 + resolution_deg, resolution_deg))
    power = angle_spectrum(echo, cfg, grid, grid)
    i, j = np.unravel_index(np.argmax(power), power.shape)
    return float(grid[i]), float(grid[j])


def estimate_radial_velocity(echo: np.ndarray, cfg: RadarConfig, oversample: int = 16) -> float:
    """Radial velocity [m/s] at the Doppler peak of a zero-padded FFT over chirps (needs num_chirps > 1)."""
    if echo.shape[0] < 2:
        raise ValueError("radial velocity needs more than one chirp per frame (radar.num_chirps > 1); "
                         "a single pulse of 1 us cannot resolve Doppler")
    x = _range_gated(echo, cfg)                                                   # [C, A]
    n = oversample * x.shape[0]
    spectrum = np.sum(np.abs(np.fft.fft(x, n=n, axis=0)) ** 2, axis=1)
    mu = np.fft.fftfreq(n, d=cfg.chirp_interval)[np.argmax(spectrum)]
    return float(mu * C / (2 * cfg.carrier_frequency))
