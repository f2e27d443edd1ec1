"""The wireless link from a collaborator to the aggregation center (paper Sec. III-A3, Eqs. 8-10): its one home.

Training, evaluation, the cost tables and the ``channel`` node all use these functions, so they agree on every
convention:

* **Distance.** :func:`link_distances` measures each collaborator's 3-D distance to the center from the scene
  config's device positions (a run keeps the scene config of its dataset in ``data_manifest.json``; the channel
  node reads the scene YAML): the surveyed positions the system knows (``SceneConfig.surveyed``) for the
  prompt and TRAM's poses, the true ones (``known=False``) for the channel's physical gain. There is no other
  source of device positions.
* **Gain.** ``H_k = (d_ref / d_k) ** alpha`` (:func:`path_gain`); alpha = 0, the default, is the paper's pure AWGN
  channel (Sec. V-A2), H = 1.
* **SNR and noise.** A link is configured by its reference SNR, the SNR at H = 1, which fixes the noise power
  ``N_0 = P / 10^(snr_ref / 10)`` (:func:`noise_power`); the received SNR is ``snr_ref + 10 log10 H``
  (:func:`received_snr_db`). The SNR may vary with sim time (:func:`snr_at`: ``constant`` or ``sine``).
* **Rate, delay, payload.** Eq. (9) ``V = B log2(1 + P H / N_0)`` (:func:`link_rate`), Eq. (10)
  ``t_com = Z / V`` (:func:`transmission_delay`), ``Z`` from :func:`payload_bytes`; :func:`link_budget` gives all
  of them for one payload. The paper's experiments use B = 1 kHz and P = 1 W (Sec. V-A2).
* **Codes across the link.** :func:`transmit_codes` applies Eq. (8) to NumPy codes exactly as training applies
  :class:`disac_ros.models.lstn.AWGNChannel` (modulate, ``y = sqrt(H) c + n``, zero-forcing, demodulate).
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import torch

from disac_ros.models.lstn import AWGNChannel

#: Sec. V-A2: bandwidth B_k [Hz] and transmit power P_k [W] of every link in the paper's experiments.
BANDWIDTH_HZ = 1e3
POWER_W = 1.0
#: Time variations of a link's reference SNR (:func:`snr_at`).
SNR_PROFILES = ("constant", "sine")
#: Reference SNRs [dB] a live link may be configured with (:func:`check_link`), the sine schedule's whole swing
#: included: at -50 dB the noise is 10^5 times the code's power (nothing of the code is left; training used
#: 0..25 dB), at 100 dB it is 10^-10 of it (below float32 resolution: lossless in all but name).
SNR_RANGE_DB = (-50.0, 100.0)


# --- geometry and gain ---------------------------------------------------------------------------------------

def _positions(scene, known: bool) -> dict[str, np.ndarray]:
    return {d.id: np.asarray(d.position, dtype=np.float64) for d in (scene.surveyed() if known else scene).devices}


def link_distances(scene, center: str, devices: Iterable[str] | None = None, known: bool = True) -> dict[str, float]:
    """3-D distance [m] from each device (default: every device but ``center``) to ``center``.

    ``scene`` is a :class:`disac_ros.config.SceneConfig`: the one source of device positions, the surveyed ones
    the system knows (``known``, default) or the true ones (``known=False``, what the radio wave travels).
    """
    positions = _positions(scene, known)
    wanted = [d for d in positions if d != center] if devices is None else list(devices)
    unknown = [d for d in [center, *wanted] if d not in positions]
    if unknown:
        raise ValueError(f"unknown devices {unknown}: the scene has {list(positions)}")
    return {k: float(np.linalg.norm(positions[k] - positions[center])) for k in wanted}


#: Scale of the relative poses TRAM is told [m] (:func:`relative_poses`).
POSE_SCALE_M = 50.0


def relative_poses(scene, center: str, devices: Iterable[str]) -> np.ndarray:
    """Each device's surveyed pose relative to ``center`` as TRAM reads it: float32 [K, 4].

    (dx, dy, dz, distance) / 50 m.
    """
    positions = _positions(scene, True)
    distance = link_distances(scene, center, devices)
    rows = [[*(positions[k] - positions[center]), distance[k]] for k in devices]
    return (np.asarray(rows, dtype=np.float64).reshape(-1, 4) / POSE_SCALE_M).astype(np.float32)


def path_gain(distance_m: float, reference_distance_m: float = 1.0, exponent: float = 0.0) -> float:
    """Power gain H_k = (d_ref / d)^alpha of a link of length ``distance_m``; alpha = 0 gives H = 1 (pure AWGN)."""
    if not (distance_m > 0 and reference_distance_m > 0 and exponent >= 0):
        raise ValueError("path_gain needs distance_m > 0, reference_distance_m > 0 and exponent >= 0")
    if not all(math.isfinite(v) for v in (distance_m, reference_distance_m, exponent)):
        raise ValueError(f"path_gain needs finite values, got {distance_m}, {reference_distance_m}, {exponent}")
    try:
        gain = float((reference_distance_m / distance_m) ** exponent)
    except OverflowError:
        gain = math.inf
    if not (math.isfinite(gain) and gain > 0):
        raise ValueError(f"path gain ({reference_distance_m:g} / {distance_m:g})^{exponent:g} is outside the float "
                         f"range")
    return gain


# --- SNR -----------------------------------------------------------------------------------------------------

def snr_at(t: float, snr_db: float, profile: str = "constant", amplitude_db: float = 0.0,
           period_s: float = 10.0, phase: float = 0.0) -> float:
    """Reference SNR [dB] at sim time ``t`` [s].

    ``constant``: ``snr_db``. ``sine``: ``snr_db + amplitude_db * sin(2 pi t / period_s + phase)``.
    """
    if profile not in SNR_PROFILES:
        raise ValueError(f"snr_profile must be one of {SNR_PROFILES}, got {profile!r}")
    if not math.isfinite(snr_db):
        raise ValueError(f"snr_db must be finite, got {snr_db}")
    if profile == "constant":
        return float(snr_db)
    if not period_s > 0:
        raise ValueError(f"snr_period_s must be > 0 for the sine profile, got {period_s}")
    return float(snr_db + amplitude_db * math.sin(2 * math.pi * t / period_s + phase))


def received_snr_db(snr_ref_db: float, gain: float) -> float:
    """Received SNR [dB] of a link with power gain ``gain`` when ``snr_ref_db`` is the SNR at H = 1."""
    return float(snr_ref_db + 10.0 * math.log10(gain))


def noise_power(power_w: float, snr_ref_db: float) -> float:
    """N_0 [W] that makes ``P / N_0`` equal the reference SNR (the SNR at H = 1).

    Raises ``ValueError`` when N_0 is not a positive finite float (an SNR of thousands of dB).
    """
    try:
        noise = float(power_w / 10.0 ** (snr_ref_db / 10.0))
    except (OverflowError, ZeroDivisionError):
        noise = math.nan
    if not (math.isfinite(noise) and noise > 0):
        raise ValueError(f"noise power of P = {power_w:g} W at {snr_ref_db:g} dB is outside the float range")
    return noise


def check_link(snr_db: float, profile: str = "constant", amplitude_db: float = 0.0, period_s: float = 10.0,
               bandwidth_hz: float = BANDWIDTH_HZ, power_w: float = POWER_W) -> None:
    """Raise ``ValueError`` naming the first invalid link parameter (what a node checks before using them).

    The reference SNR, and for the sine profile its whole swing ``snr_db +- |amplitude_db|``, must stay in
    :data:`SNR_RANGE_DB`; the period, bandwidth and power must be finite and > 0.
    """
    snr_at(0.0, snr_db, profile, amplitude_db, period_s)
    for name, value in (("snr_amplitude_db", amplitude_db), ("snr_period_s", period_s)):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
    low, high = SNR_RANGE_DB
    if not low <= snr_db <= high:
        raise ValueError(f"snr_db must be in [{low:g}, {high:g}] dB, got {snr_db:g}")
    if profile == "sine" and not low <= snr_db - abs(amplitude_db) <= snr_db + abs(amplitude_db) <= high:
        raise ValueError(f"snr_amplitude_db: the sine profile swings {snr_db:g} +- {abs(amplitude_db):g} dB, outside "
                         f"[{low:g}, {high:g}] dB")
    for name, value in (("bandwidth_hz", bandwidth_hz), ("power_w", power_w)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be finite and > 0, got {value}")


# --- Eqs. (9) and (10) ---------------------------------------------------------------------------------------

def link_rate(bandwidth_hz: float, power_w: float, gain: float, noise_power_w: float) -> float:
    """Eq. 9, Shannon rate of link k in bit/s: ``V_k = B_k log2(1 + P_k H_k / N_0)``."""
    if bandwidth_hz <= 0 or power_w < 0 or gain < 0 or noise_power_w <= 0:
        raise ValueError("link_rate needs bandwidth_hz > 0, power_w >= 0, gain >= 0 and noise_power > 0")
    snr = power_w * gain / noise_power_w
    if snr < 1e-8:  # log2(1 + x) loses x below float resolution; log1p keeps it (the rate of a very weak link)
        return bandwidth_hz * math.log1p(snr) / math.log(2.0)
    return bandwidth_hz * math.log2(1.0 + snr)


def transmission_delay(payload_bits: float, rate: float) -> float:
    """Eq. 10, ``t_com = Z(c) / V_k`` in seconds for ``payload_bits`` bits at ``rate`` bit/s."""
    if payload_bits < 0 or rate <= 0:
        raise ValueError("transmission_delay needs payload_bits >= 0 and rate > 0")
    return payload_bits / rate


def payload_bytes(L_se: int, d_se: int, dtype: torch.dtype = torch.float32, num_samples: int = 1) -> int:
    """Bytes of ``num_samples`` semantic codes [L_se, d_se] sent as ``dtype`` values (``Z(c)/8`` of Eq. 10).

    E.g. the paper's 100,352 bytes per set (Sec. V-C, vs. 1,370,112 bytes of raw data, a 92.7 % reduction) is
    25,088 float32 values, such as ``L_se=49, d_se=512``; the paper does not state its L_se and d_se.
    """
    if L_se < 1 or d_se < 1 or num_samples < 0:
        raise ValueError("payload_bytes needs L_se >= 1, d_se >= 1 and num_samples >= 0")
    itemsize = torch.empty((), dtype=dtype).element_size()
    return int(L_se) * int(d_se) * itemsize * int(num_samples)


def link_budget(payload: int, snr_ref_db: float, gain: float = 1.0, bandwidth_hz: float = BANDWIDTH_HZ,
                power_w: float = POWER_W) -> dict[str, float]:
    """Bytes, received SNR, N_0, Shannon rate (Eq. 9) and delay (Eq. 10) of ``payload`` bytes over one link.

    ``snr_ref_db`` is the SNR at H = 1 (see the module docstring); with ``gain`` 1, the paper's AWGN link, it is
    the link's SNR. A link so weak that its rate underflows to 0 bit/s has ``delay_s`` = inf (it never delivers);
    a caller that publishes the budget checks it is finite. Raises ``ValueError`` for a non-finite SNR or gain, a
    negative payload or a noise power outside the float range.
    """
    if not (math.isfinite(snr_ref_db) and payload >= 0 and math.isfinite(gain) and gain > 0):
        raise ValueError(f"link_budget needs a finite SNR, payload >= 0 and a finite gain > 0, got {snr_ref_db}, "
                         f"{payload}, {gain}")
    noise = noise_power(power_w, snr_ref_db)
    rate = link_rate(bandwidth_hz, power_w, gain, noise)
    bits = 8 * int(payload)
    delay = transmission_delay(bits, rate) if rate > 0 else math.inf
    return {"payload_bytes": float(payload), "payload_bits": float(bits), "snr_db": received_snr_db(snr_ref_db, gain),
            "gain": float(gain), "noise_power_w": noise, "rate_bps": float(rate), "delay_s": float(delay)}


# --- Eq. (8) on NumPy codes ----------------------------------------------------------------------------------

def transmit_codes(codes: np.ndarray, snr_db: float, gain: float = 1.0, lossless: bool = False,
                   generator: torch.Generator | None = None) -> np.ndarray:
    """The channel as training applies it: modulate -> ``y = sqrt(H) c + n`` at ``snr_db`` -> equalise -> demodulate.

    ``codes`` [B, L_se, d_se] float32; ``snr_db`` is the *received* SNR (noise scaled to the measured power of
    ``sqrt(H) c``, :class:`disac_ros.models.lstn.AWGNChannel`). The receiver knows H (from the distance) and
    divides by it, so the decoder sees ``e + n'`` at that SNR for any H, exactly as in training (H = 1).
    ``generator``: a ``torch.Generator`` for reproducible noise (default: torch's global RNG). At an extreme
    SNR (hundreds of dB below 0) the noise overflows float32 and the result holds inf: a caller that publishes it
    checks it is finite.
    """
    codes = np.asarray(codes, dtype=np.float32)
    if codes.ndim != 3 or not np.isfinite(codes).all():
        raise ValueError(f"codes must be a finite float32 [B, L_se, d_se] array, got {list(codes.shape)}")
    if not (math.isfinite(snr_db) and math.isfinite(gain) and gain > 0):
        raise ValueError(f"transmit_codes needs a finite SNR and a finite gain > 0, got {snr_db}, {gain}")
    code = torch.from_numpy(codes)
    channel = AWGNChannel(gain=math.sqrt(gain), lossless=lossless, equalize=True).eval()
    if generator is not None:  # AWGNChannel draws from the global RNG; fork it around the call for a seeded link
        with torch.random.fork_rng(devices=[]):
            # The CPU generator only: torch.manual_seed also queues a CUDA seeding that records a stack trace
            # while CUDA is not initialised, a third of the channel node's CPU per code.
            torch.default_generator.manual_seed(int(torch.randint(0, 2**62, (1,), generator=generator)))
            y = channel.transmit(code, float(snr_db))
    else:
        y = channel.transmit(code, float(snr_db))
    return y.numpy().astype(np.float32)
