"""The frozen classical baseline: what one device's radar alone recovers from its echo, defined once.

The learned system must beat this reference. For an echo [C, A, S] of one target (``sim/radar.py``), the device's
:class:`~disac_ros.sim.radar.ArrayPose` and its radar config, :func:`classical_estimates` (vectorised over
thousands of echoes; :func:`classical_estimate` for one) runs four documented steps, all FFT- or BLAS-based:

(a) Range. Matched filter (pulse compression): every chirp and antenna is correlated with the replica
    s(t_n - tau_i) at each sample delay tau_i = i / F_s. The outputs are summed over chirps and antennas coherently,
    on a coarse grid of Doppler x angle cells (2x zero-padded DFTs over chirps and over the array's rows and
    columns: the range-Doppler-angle cube of a classical radar chain); each range bin's power is divided by its
    noise level (the replica's samples inside the window), and the largest cell in the visible region gives the
    range bin (a non-coherent sum over chirps and antennas would lose 2-3 dB of detection sensitivity). A parabola
    through the log power of that cell at the peak bin and its two neighbours interpolates between bins, and a
    second parabola through the cell's powers with exact replicas at tau^ and tau^ +- a quarter sample refines it,
    so the delay tau^ is not restricted to the 2.5 m grid c / (2 F_s); slant range R^ = c tau^ / 2.
(b) Angles. The snapshots gated at tau^ (the echo correlated with the exact replica s(t_n - tau^)) are summed over
    chirps at the coarse Doppler cell of (a), arranged on the N_z x N_y array and beamformed by a zero-padded 2-D
    FFT (``angle_fft`` x ``angle_fft``, default 64 x 64). The peak within the visible region (sin^2 theta +
    sin^2 phi cos^2 theta <= 1) is interpolated by a parabola of the log power along each axis, giving sin(theta)
    and sin(phi) cos(theta) in the array frame, hence the array-frame pitch and azimuth. The planar array cannot
    tell phi from pi - phi (front and back give the same phases); the array sees only its front half-space (its
    element pattern is 0 behind it, ``sim/radar.py``), so |phi| <= 90 deg is taken. With an isotropic pattern
    (``element_pattern_exponent: 0``) a target behind the array is reported at its mirror image in front. Element
    spacing above half a wavelength would add grating-lobe ambiguities that this step does not resolve.
(c) Doppler. The range-and-angle-gated signal (the gated snapshots combined with the steering vector at the
    estimated angles) is transformed by a zero-padded FFT over chirps (``doppler_oversample`` x num_chirps points),
    and its peak interpolated like (a): mu^, hence v^ = mu^ c / (2 f_c) (> 0 receding, the echo's convention),
    unambiguous for |v| < lambda / (4 T_c). With one chirp per frame Doppler is not observable: v^ = 0.
(d) Detection. ``peak_snr`` = |Z|^2 / (sigma_n^2 N) compares the fully coherent peak Z (range, angles and Doppler
    matched) with the noise power sigma_n^2 that the radar config fixes (``radar.noise_power``), N the samples the
    filter integrates (replica samples x antennas x chirps): its expectation is 1 + the integrated SNR of
    ``radar.radar_budget``. Two detectors (``radar.detector``, or the ``detector`` argument):

    * ``mti_cfar`` (the default), what a radar engineer uses in clutter (Richards, Fundamentals of Radar Signal
      Processing, 2nd ed., chs. 5 and 6): first a zero-Doppler notch (MTI), each sample's mean over
      the chirps removed before (a), so steady clutter (ground, walls, corners: ``sim/clutter.py``) cancels and
      a target keeps the share 1 - |D(w)|^2 / C^2 of its power (D the Dirichlet kernel; a target under a tenth of
      a Doppler bin, ~0.4 m/s with 8 chirps of 0.5 ms, keeps under 5 %); then a cell-averaging CFAR along range
      on the cube of (a): the range bin is the cell of largest power over its local level (8 training cells on
      each side, beyond 2 guard cells, every second bin: neighbouring bins of the 2.5 m grid share the 3 m
      resolution cell), detected when that ratio reaches alpha = N (Pfa^(-1/N) - 1) for N training cells, the
      square-law CA-CFAR threshold at a design false-alarm probability per cell Pfa = 1e-7 (:data:`CFAR_PFA`);
      the cells within :data:`MIN_RANGE_M` (5 m: the radar's minimum range, every target of the scene is beyond
      10 m) are not searched, as a radar blanks its first cells (where the window holds no whole chirp and the
      cell's own training set is one-sided).
      Measured on noise-only echoes of the default radar: 1.03-1.07 x the design rate per cell (at 1e-2 and
      1e-3, cells within 75 m; beyond, the window holds less than half the chirp, the range resolution coarsens
      and the rate rises to ~1.5 x), and 0.9 % of 2,000 echoes have a false alarm somewhere in the cube. Doppler
      (c) is then the fit of a tone through the notch (|e(w)^H z|^2 / (1 - |D(w)|^2 / C^2), not searched where
      the notch keeps under 5 %), and |Z| is divided by the square root of the share the notch kept at the
      estimated Doppler, so the RCS estimate is the target's. With one chirp there is no notch: CFAR only.
    * ``fixed`` (the project's first detector, right for a world of noise only): peak_snr_db >= ``threshold_db``
      (default 13 dB, a CA-CFAR whose noise level is known). On 20,000 noise-only frames of the default preset the
      largest cell has a median of 10.9 dB and exceeds 13 dB in 0.2 % of frames; an integrated SNR of 14.6 dB is
      detected (steady target) in about 94 % of frames, 12.6 dB in about half. In clutter it takes the strongest
      clutter cell for the target.

The outputs are WORLD-frame (labels of ``sim/labels.py``): the point at R^ and the array-frame angles is taken to
the world with :meth:`ArrayPose.to_world` and Eqs. (55)-(57) give distance (horizontal, = R^ cos(world pitch)),
azimuth and pitch. ``rcs_db`` inverts the peak's amplitude |Z| / N through the amplitude model of the config
(the radar equation by default) at R^ and the estimated off-boresight angle (element pattern, floored at 1e-3);
an unknown blockage loss makes it low.

Rule when not detected (frozen: the learning issue's baseline): the state is the region's centre (a world point
passed in, e.g. from the scene config) as seen by the device, i.e. its distance, azimuth, pitch and slant range by
Eqs. (55)-(57), and radial velocity 0; ``rcs_db`` is NaN (no class evidence); ``peak_snr_db`` and the array-frame
angles keep their measured values.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from disac_ros.config import C, RadarConfig
from disac_ros.sim import radar
from disac_ros.sim.labels import sensing_labels

DETECTION_THRESHOLD_DB = 13.0
#: The baseline's detectors (``radar.detector``): ``mti_cfar`` (zero-Doppler notch, then CA-CFAR) or ``fixed``.
DETECTORS = ("mti_cfar", "fixed")
CFAR_PFA = 1e-7        # design false-alarm probability per cell of the range x Doppler x angle cube
CFAR_GUARD = 2         # guard cells on each side of the cell under test, in range
CFAR_TRAINING = 8      # training cells on each side, in range
CFAR_SPACING = 2       # every second range bin beyond the guard cells (module docstring)
MIN_RANGE_M = 5.0      # the CFAR searches beyond this range [m]: the cells before it are the radar's blind zone
_NOTCH_FLOOR = 0.05    # Doppler inside the notch that kept less than this share of a tone's power is not searched
ANGLE_FFT = 64
DOPPLER_OVERSAMPLE = 16
_BATCH = 256  # echoes per block (memory: the coarse cube, 256 x S x 2C x 4A complex64, ~130 MB by default)
_RCS_GAIN_FLOOR = 1e-3


@dataclass(frozen=True)
class Estimate:
    """One echo's classical estimate (world-frame state; see the module docstring for the fallback rule)."""

    detected: bool
    peak_snr_db: float
    slant_range: float
    distance: float
    azimuth: float
    pitch: float
    radial_velocity: float
    rcs_db: float
    azimuth_local: float
    pitch_local: float
    cfar_db: float


@dataclass(frozen=True)
class Estimates:
    """Estimates of M echoes: the fields of :class:`Estimate`, each an array [M].

    ``estimates["distance"]`` is a field's array (as for a dict of arrays), ``estimates[i]`` echo i's
    :class:`Estimate`.
    """

    detected: np.ndarray
    peak_snr_db: np.ndarray
    slant_range: np.ndarray
    distance: np.ndarray
    azimuth: np.ndarray
    pitch: np.ndarray
    radial_velocity: np.ndarray
    rcs_db: np.ndarray
    azimuth_local: np.ndarray
    pitch_local: np.ndarray
    cfar_db: np.ndarray

    def __len__(self) -> int:
        return len(self.detected)

    def __getitem__(self, key: str | int) -> np.ndarray | Estimate:
        if isinstance(key, str):
            if key not in self.keys():
                raise KeyError(key)
            return getattr(self, key)
        return Estimate(**{f.name: getattr(self, f.name)[key].item() for f in fields(self)})

    def keys(self) -> list[str]:
        return [f.name for f in fields(self)]

    def as_dict(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _parabolic(minus: np.ndarray, centre: np.ndarray, plus: np.ndarray) -> np.ndarray:
    """Vertex offset in [-0.5, 0.5] bins of the parabola through three samples (0 where it is not a maximum)."""
    den = minus - 2 * centre + plus
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(den < 0, 0.5 * (minus - plus) / den, 0.0)
    return np.clip(np.nan_to_num(delta), -0.5, 0.5)


def _log(power: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(power, np.finfo(np.float32).tiny))


def _replica(cfg: RadarConfig, t: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """s(t_n - tau_b): complex64 [B, S]."""
    return radar.lfm_chirp(cfg, t[None, :] - tau[:, None]).astype(np.complex64)


def _poses(poses, m: int) -> tuple[np.ndarray, np.ndarray]:
    """One ArrayPose or M of them -> positions [M, 3], rotations [M, 3, 3]."""
    if isinstance(poses, radar.ArrayPose):
        return np.tile(poses.position, (m, 1)), np.tile(poses.rotation, (m, 1, 1))
    poses = list(poses)
    if len(poses) != m:
        raise ValueError(f"classical_estimates: {m} echoes but {len(poses)} poses (give one pose or one per echo)")
    return np.stack([p.position for p in poses]), np.stack([p.rotation for p in poses])


def _wrap(f: np.ndarray) -> np.ndarray:
    """Normalised frequency -> [-0.5, 0.5)."""
    return (f + 0.5) % 1.0 - 0.5


def _kernel(k: np.ndarray, size: int, n: int) -> np.ndarray:
    """FFT kernel e^{-j 2 pi i k / size} of bins k [B] over i < n: complex64 [B, n]."""
    return np.exp(-2j * np.pi * np.outer(k / size, np.arange(n))).astype(np.complex64)


def cfar_alpha(pfa: float, training):
    """CA-CFAR threshold multiplier for exponential (square-law) cells: alpha = N (Pfa^(-1/N) - 1), N cells."""
    training = np.asarray(training, dtype=np.float64)
    return training * (pfa ** (-1.0 / training) - 1.0)


def cfar_ratio(power: np.ndarray, guard: int = CFAR_GUARD, training: int = CFAR_TRAINING,
               spacing: int = CFAR_SPACING, axis: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Cell-averaging CFAR along ``axis``: power / local level (power's shape), and the cells averaged (int [n]).

    The level of a cell is the mean of up to ``training`` cells on each side, the first ``guard + 1`` cells away
    and then every ``spacing``-th (fewer at the window's edges, where the count shrinks and :func:`cfar_alpha`
    should use it). Spacing 2: neighbouring range bins of the 2.5 m sample grid share much of the 3 m resolution
    cell (their noise powers correlate by 0.5), every second one by 0.06, so the training cells are nearly
    independent, as the CA-CFAR threshold assumes.
    """
    p = np.moveaxis(power, axis, -1)
    n = p.shape[-1]
    total, count = np.zeros_like(p), np.zeros(n, np.int64)
    for offset in guard + 1 + spacing * np.arange(training):
        if offset < n:
            total[..., offset:] += p[..., :n - offset]
            total[..., :n - offset] += p[..., offset:]
            count[offset:] += 1
            count[:n - offset] += 1
    level = total / np.maximum(count, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(level > 0, p / level, 0.0)
    return np.moveaxis(ratio, -1, axis), count


def _blind_bins(cfg: RadarConfig) -> int:
    """Range bins inside :data:`MIN_RANGE_M` (the first samples of the window; at least one)."""
    return max(1, math.ceil(MIN_RANGE_M / (C / (2 * cfg.sampling_frequency))))


def _notch_gain(n_chirps: int, frequency: np.ndarray) -> np.ndarray:
    """Share of a tone's power that removing the mean over ``n_chirps`` chirps keeps, at normalised frequency [...].

    1 - |D(w)|^2 / C^2, D the Dirichlet kernel sum_m e^{j w m}, w in cycles per chirp.
    """
    d = np.abs(np.sum(np.exp(2j * np.pi * np.multiply.outer(frequency, np.arange(n_chirps))), axis=-1))
    return 1.0 - d ** 2 / n_chirps ** 2


def coarse_cube(x: np.ndarray, cfg: RadarConfig) -> np.ndarray:
    """Step (a)'s range x Doppler x angle power cube of echoes [B, C, A, S]: float [B, S_i, K_d, K_z K_y].

    Matched filter at every sample delay, summed coherently over chirps and antennas on a coarse (2x zero-padded)
    Doppler x angle DFT grid, each range bin's power divided by its noise level (the replica's samples inside the
    window: noise alone gives cells of mean C A); cells outside the visible region are 0.
    """
    b, n_chirps, n_ant, n_s = x.shape
    n_z, n_y, s = cfg.array_rows, cfg.array_cols, cfg.element_spacing
    replicas = radar.delayed_replicas(cfg)                                          # s(t_n - tau_i) [S_i, S_n]
    energy = np.maximum(np.sum(np.abs(replicas) ** 2, axis=1), 1.0)                 # replica samples [S_i]
    compressed = np.moveaxis(x @ replicas.conj().T, -1, 1)                           # [B, S_i, C, A]
    k_d, k_z, k_y = (2 * n_chirps if n_chirps > 1 else 1), 2 * n_z, 2 * n_y
    dft_d = _kernel(np.arange(k_d), k_d, n_chirps).T                                 # [C, K_d]
    dft_a = np.kron(_kernel(np.arange(k_z), k_z, n_z).T, _kernel(np.arange(k_y), k_y, n_y).T)  # [A, K_z K_y]
    cube = dft_d.T @ compressed @ dft_a                                              # [B, S_i, K_d, K_a]
    cube = (cube.real**2 + cube.imag**2) / energy[None, :, None, None]              # power / noise level
    fz, fy = np.fft.fftfreq(k_z), np.fft.fftfreq(k_y)
    coarse_visible = np.hypot(fz[:, None], fy[None, :]) / s <= 1 + 1 / (s * min(k_z, k_y))   # one cell of margin
    cube *= coarse_visible.reshape(-1)
    return cube


def _block(x: np.ndarray, cfg: RadarConfig, angle_fft: int, doppler_oversample: int,
           detector: str = "mti_cfar") -> dict[str, np.ndarray]:
    """Steps (a)-(c) and the coherent peak for echoes [B, C, A, S]; array-frame results [B]."""
    b, n_chirps, n_ant, n_s = x.shape
    if detector == "mti_cfar" and n_chirps > 1:  # zero-Doppler notch: remove each sample's mean over the chirps
        x = x - x.mean(axis=1, keepdims=True)
    n_z, n_y = cfg.array_rows, cfg.array_cols
    fs, s = cfg.sampling_frequency, cfg.element_spacing
    t = np.arange(n_s) / fs
    rows = np.arange(b)
    # (a) range: the coarse cube; its most significant cell (CA-CFAR) or its largest gives the range bin
    cube = coarse_cube(x, cfg)                                                       # [B, S_i, K_d, K_a]
    k_d, k_z, k_y = cube.shape[2], 2 * n_z, 2 * n_y
    if detector == "mti_cfar":  # the most significant cell against its range neighbours (CA-CFAR)
        ratio, count = cfar_ratio(cube)
        ratio[:, :_blind_bins(cfg)] = 0.0   # the radar's minimum range: no detection in its first cells
        i0, kd, ka = np.unravel_index(np.argmax(ratio.reshape(b, -1), axis=1), cube.shape[1:])
        cfar_db = 10 * np.log10(np.maximum(ratio[rows, i0, kd, ka], 1e-30))
        alpha_db = 10 * np.log10(cfar_alpha(CFAR_PFA, count[i0]))
    else:
        i0, kd, ka = np.unravel_index(np.argmax(cube.reshape(b, -1), axis=1), cube.shape[1:])
        cfar_db = alpha_db = np.full(b, np.nan)
    kz, ky = np.divmod(ka, k_y)
    cut = _log(cube[rows, :, kd, ka])                                                # range cut of the cell [B, S_i]
    inner = (i0 > 0) & (i0 < n_s - 1)
    delta = np.where(inner, _parabolic(cut[rows, np.maximum(i0 - 1, 0)], cut[rows, i0],
                                       cut[rows, np.minimum(i0 + 1, n_s - 1)]), 0.0)
    tau = np.maximum(i0 + delta, 0.0) / fs
    e_d, e_z, e_y = _kernel(kd, k_d, n_chirps), _kernel(kz, k_z, n_z), _kernel(ky, k_y, n_y)
    cell = (e_d[:, :, None, None] * e_z[:, None, :, None] * e_y[:, None, None, :]).reshape(b, n_chirps, n_ant)
    # one refinement: the same parabola through the cell's powers with exact replicas at tau^ and tau^ +- 1/4 sample
    step = 0.25 / fs
    power = [np.abs(np.einsum("bcas,bs,bca->b", x, _replica(cfg, t, tau + k * step).conj(), cell)) ** 2
             for k in (-1, 0, 1)]
    tau = np.maximum(tau + step * _parabolic(*(_log(p) for p in power)), 0.0)
    replica = _replica(cfg, t, tau)                                                  # s(t_n - tau^) [B, S]
    n_ref = np.sum(np.abs(replica) ** 2, axis=1)                                    # samples integrated [B]
    gated = np.einsum("bcas,bs->bca", x, replica.conj())                             # snapshots [B, C, A]
    # (b) angles: chirps summed at the coarse Doppler, zero-padded 2-D FFT over (rows, cols), peak in the visible region
    focused = np.einsum("bca,bc->ba", gated, e_d).reshape(b, n_z, n_y)
    spectrum = np.abs(np.fft.fft2(focused, s=(angle_fft, angle_fft))) ** 2           # [B, K, K]
    f = np.fft.fftfreq(angle_fft)
    visible = (f[:, None] ** 2 + f[None, :] ** 2) / s**2 <= 1.0                     # u^2 + w^2 <= 1
    kr, kc = np.unravel_index(np.argmax(np.where(visible, spectrum, -1.0).reshape(b, -1), axis=1), visible.shape)
    ls = _log(spectrum)
    dr = _parabolic(ls[rows, (kr - 1) % angle_fft, kc], ls[rows, kr, kc], ls[rows, (kr + 1) % angle_fft, kc])
    dc = _parabolic(ls[rows, kr, (kc - 1) % angle_fft], ls[rows, kr, kc], ls[rows, kr, (kc + 1) % angle_fft])
    u = np.clip(-_wrap((kr + dr) / angle_fft) / s, -1.0, 1.0)                        # sin(theta)
    pitch = np.arcsin(u)
    azimuth = np.arcsin(np.clip(-_wrap((kc + dc) / angle_fft) / s / np.maximum(np.cos(pitch), 1e-9), -1.0, 1.0))
    # (c) Doppler: beamform at the estimated angles, zero-padded FFT over chirps, parabolic peak
    w = np.sin(azimuth) * np.cos(pitch)                                              # sin(phi) cos(theta)
    a_z = np.exp(-2j * np.pi * s * np.arange(n_z)[None, :] * u[:, None])
    a_y = np.exp(-2j * np.pi * s * np.arange(n_y)[None, :] * w[:, None])
    steer = (a_z[:, :, None] * a_y[:, None, :]).reshape(b, n_ant).astype(np.complex64)   # a(theta^, phi^) [B, A]
    z = np.einsum("bca,ba->bc", gated, steer.conj())                                 # [B, C]
    notched = detector == "mti_cfar" and n_chirps > 1
    if n_chirps > 1:
        n_d = doppler_oversample * n_chirps
        dop = np.abs(np.fft.fft(z, n=n_d, axis=1)) ** 2
        if notched:  # the ML fit of a tone through the notch: |e(w)^H z|^2 / |P e(w)|^2 (P: the notch projector)
            kept = _notch_gain(n_chirps, np.arange(n_d) / n_d)                        # [n_d]
            dop = np.where(kept > _NOTCH_FLOOR, dop / np.maximum(kept, _NOTCH_FLOOR), 0.0)
        k = np.argmax(dop, axis=1)
        ld = _log(dop)
        dk = _parabolic(ld[rows, (k - 1) % n_d], ld[rows, k], ld[rows, (k + 1) % n_d])
        mu = _wrap((k + dk) / n_d) / cfg.chirp_interval
    else:
        mu = np.zeros(b)
    velocity = mu * C / (2 * cfg.carrier_frequency)
    phase = np.exp(-2j * np.pi * mu[:, None] * cfg.chirp_interval * np.arange(n_chirps)[None, :])
    peak = np.abs(np.sum(z * phase, axis=1)).astype(np.float64)                      # |Z| [B]
    if notched:  # the level the target had before the notch (the notch kept the share `kept` of its power)
        peak /= np.sqrt(np.maximum(_notch_gain(n_chirps, mu * cfg.chirp_interval), _NOTCH_FLOOR))
    n_total = n_ref * n_ant * n_chirps
    return {"slant_range": C * tau / 2, "azimuth_local": azimuth, "pitch_local": pitch, "radial_velocity": velocity,
            "peak": peak, "n_total": n_total, "cfar_db": cfar_db, "alpha_db": alpha_db}


def classical_estimates(echoes: np.ndarray, cfg: RadarConfig, poses: radar.ArrayPose | Sequence[radar.ArrayPose],
                        fallback, threshold_db: float = DETECTION_THRESHOLD_DB, angle_fft: int = ANGLE_FFT,
                        doppler_oversample: int = DOPPLER_OVERSAMPLE, detector: str | None = None) -> Estimates:
    """Classical estimates of echoes [M, C, A, S] (module docstring, steps a-d): :class:`Estimates` of arrays [M].

    ``poses``: one :class:`~disac_ros.sim.radar.ArrayPose` for all echoes or one per echo; ``fallback``: the
    world point [3] (or one per echo, [M, 3]) reported when a target is not detected, the region's centre.
    ``detector``: ``mti_cfar`` or ``fixed`` (``threshold_db`` against the known noise); None: ``cfg.detector``.
    Raises ValueError for echoes of another config, an unknown detector, or poses / fallback points that do not
    match M.
    """
    detector = cfg.detector if detector is None else detector
    if detector not in DETECTORS:
        raise ValueError(f"classical_estimates: detector must be one of {DETECTORS}, got {detector!r}")
    echoes = np.asarray(echoes)
    shape = (cfg.num_chirps, cfg.num_antennas, cfg.num_samples)
    if echoes.ndim != 4 or echoes.shape[1:] != shape:
        raise ValueError(f"echoes must be [M, {', '.join(map(str, shape))}] for this radar config, "
                         f"got {list(echoes.shape)}")
    m = echoes.shape[0]
    positions, rotations = _poses(poses, m)
    fallback = np.broadcast_to(np.asarray(fallback, dtype=np.float64), (m, 3))
    parts = [_block(echoes[i:i + _BATCH].astype(np.complex64), cfg, angle_fft, doppler_oversample, detector)
             for i in range(0, m, _BATCH)]
    out = {key: np.concatenate([p[key] for p in parts]) if parts else np.zeros(0) for key in
           ("slant_range", "azimuth_local", "pitch_local", "radial_velocity", "peak", "n_total", "cfar_db",
            "alpha_db")}
    # (d) detection: the CFAR's threshold, or the fixed one against the noise power of the config
    with np.errstate(divide="ignore"):
        peak_snr_db = 10 * np.log10(out["peak"] ** 2 / (radar.noise_power(cfg) * out["n_total"]))
    if detector == "mti_cfar":  # a detection whose range falls inside the blind zone is none (a near return's skirt)
        detected = (out["cfar_db"] >= out["alpha_db"]) & (out["slant_range"] >= MIN_RANGE_M)
    else:
        detected = peak_snr_db >= threshold_db
    # world frame: Eqs. (55)-(57) of the estimated point; the fallback point where nothing was detected
    el, az, r = out["pitch_local"], out["azimuth_local"], out["slant_range"]
    local = np.stack([r * np.cos(el) * np.cos(az), -r * np.cos(el) * np.sin(az), -r * np.sin(el)], axis=-1)
    points = positions + np.einsum("mj,mji->mi", local, rotations)
    points = np.where(detected[:, None], points, fallback)
    world = sensing_labels(positions, points, np.zeros_like(points))
    off = np.arccos(np.clip(np.cos(el) * np.cos(az), -1.0, 1.0))
    gain = np.maximum(radar.element_gain(cfg, off), _RCS_GAIN_FLOOR)
    with np.errstate(divide="ignore"):
        rcs = radar.rcs_from_amplitude(cfg, r, out["peak"] / np.maximum(out["n_total"], 1) / gain)
        rcs_db = np.where(detected, 10 * np.log10(rcs), np.nan)
    return Estimates(detected=detected, peak_snr_db=peak_snr_db, slant_range=world["slant_range"],
                     distance=world["distance"], azimuth=world["azimuth"], pitch=world["pitch"],
                     radial_velocity=np.where(detected, out["radial_velocity"], 0.0), rcs_db=rcs_db,
                     azimuth_local=az, pitch_local=el, cfar_db=out["cfar_db"])


def classical_estimate(echo: np.ndarray, cfg: RadarConfig, pose: radar.ArrayPose, fallback,
                       threshold_db: float = DETECTION_THRESHOLD_DB, **kwargs) -> Estimate:
    """:func:`classical_estimates` of one echo [C, A, S]: an :class:`Estimate`."""
    echo = np.asarray(echo)
    if echo.ndim != 3:
        raise ValueError(f"echo must be [chirps, antennas, samples], got {list(echo.shape)}")
    return classical_estimates(echo[None], cfg, pose, np.asarray(fallback)[None], threshold_db, **kwargs)[0]
