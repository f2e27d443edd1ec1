"""Adverse camera conditions drawn once per sequence: clear, fog, or low light (pure NumPy; the radar is unaffected).

Both effects act on light, so both work in *linear* light: the 8-bit sRGB image is decoded with the sRGB
transfer curve (IEC 61966-2-1), changed, re-encoded and quantised to uint8 again. Haze adds scattered light to
the attenuated scene light, and a sensor counts photons; both are sums of irradiances, which is only true of
linear values, not of gamma-encoded ones. (The renderer's 8-bit output is taken to be sRGB-encoded, as any
image meant for display is.)

Fog, Koschmieder's law (Koschmieder 1924; as used for synthetic fog by Sakaridis, Dai and Van Gool, "Semantic
Foggy Scene Understanding with Synthetic Data", IJCV 126, 2018, Eqs. (1)-(2))::

    I = J t + A (1 - t),    t = exp(-beta d),    beta = -ln(0.02) / V = 3.912 / V

J the clear scene radiance, A the atmospheric light (``ConditionsConfig.fog_airlight``, linear units of full
scale), d the distance along the pixel's ray and V the visibility: the distance at which the contrast of a black
object against the horizon sky falls to 2 % (Koschmieder's visual range). Note that the WMO meteorological optical
range, which Sakaridis et al. use, takes a 5 % threshold instead (beta = 2.996 / V): the same V means a fog 1.3
times denser here. Pixels without geometry (the sky) are infinitely far: t = 0, they show the airlight.
Genesis' rasteriser returns the *planar* depth (the z coordinate in the camera frame) and, for the sky, its far
clip distance; :meth:`GenesisScene.render` turns the latter into ``inf``, and :func:`ray_distance` turns planar
depth into the distance along the ray.

Low light, the linear camera model of EMVA Standard 1288 (Release 4.0, 2021): the irradiance is scaled
by ``gain`` (a darker scene at the same exposure); the photo-electrons of a pixel have the Poisson variance of
their mean ``linear x full_well`` (shot noise, drawn by its normal approximation), and the read-out adds Gaussian
noise of ``read_noise`` electrons (the dark noise sigma_d). The result is divided by ``full_well`` back to [0, 1],
clipped (saturation and the zero floor), sRGB-encoded and quantised. Each colour channel is a separate pixel (no
Bayer mosaic). Every exposure has this noise (``sensor_noise: every_image``, gain 1 in clear air and fog), or only
dark ones (``low_light``, the project's first model).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from disac_ros.config import ConditionsConfig, SceneConfig

#: Condition kinds; a dataset stores a sequence's condition as the index into this tuple.
CONDITION_KINDS: tuple[str, ...] = ("clear", "fog", "low_light")
#: Contrast threshold that defines the meteorological visibility: beta = -ln(0.02) / V = 3.912 / V.
CONTRAST_THRESHOLD = 0.02
KOSCHMIEDER = -np.log(CONTRAST_THRESHOLD)  # 3.912
#: Stream tag of the per-sequence condition draw: ``np.random.default_rng([seed, sequence, CONDITION_STREAM])``.
CONDITION_STREAM = 17


@dataclass(frozen=True)
class Condition:
    """The camera condition of one sequence: ``visibility_m`` is set for fog only, ``gain`` for low light only."""

    kind: str = "clear"
    visibility_m: float | None = None
    gain: float | None = None

    def __post_init__(self):
        if self.kind not in CONDITION_KINDS:
            raise ValueError(f"condition kind must be one of {CONDITION_KINDS}, got {self.kind!r}")
        if (self.kind == "fog") != (self.visibility_m is not None):
            raise ValueError("visibility_m is required for fog and only for fog")
        if (self.kind == "low_light") != (self.gain is not None):
            raise ValueError("gain is required for low light and only for low light")
        if self.visibility_m is not None and not self.visibility_m > 0:
            raise ValueError(f"fog visibility must be > 0 m, got {self.visibility_m}")
        if self.gain is not None and not self.gain > 0:
            raise ValueError(f"low-light gain must be > 0, got {self.gain}")


CLEAR = Condition()


def draw_condition(cfg: ConditionsConfig, rng: np.random.Generator) -> Condition:
    """Fog with ``fog_probability``, low light with ``low_light_probability``, else clear.

    The visibility or gain is uniform in its configured range. Always consumes exactly two uniforms of ``rng``,
    whatever the outcome, so later draws from the same generator do not depend on it.
    """
    u, x = rng.random(2)
    if u < cfg.fog_probability:
        lo, hi = cfg.fog_visibility_m
        return Condition("fog", visibility_m=float(lo + (hi - lo) * x))
    if u < cfg.fog_probability + cfg.low_light_probability:
        lo, hi = cfg.low_light_gain
        return Condition("low_light", gain=float(lo + (hi - lo) * x))
    return CLEAR


def sequence_condition(scene_cfg: SceneConfig, seed: int, sequence: int) -> Condition:
    """The condition of sequence ``sequence``, from its own stream ``default_rng([seed, sequence, 17])``.

    Independent of every other draw of the sequence, so the dataset generator and the live bridge give the
    same sequence the same condition (``seed`` and ``sequence`` must be non-negative integers).
    """
    return draw_condition(scene_cfg.conditions, np.random.default_rng([seed, sequence, CONDITION_STREAM]))


def needs_depth(condition: Condition) -> bool:
    """Whether :func:`apply_condition` needs the rendered depth for ``condition`` (fog only)."""
    return condition.kind == "fog"


# -- sRGB transfer curve (IEC 61966-2-1:1999) -------------------------------------------------------------
def srgb_to_linear(v: np.ndarray) -> np.ndarray:
    """Decode sRGB values in [0, 1] to linear light in [0, 1] (float64)."""
    v = np.asarray(v, dtype=np.float64)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(v: np.ndarray) -> np.ndarray:
    """Encode linear light in [0, 1] to sRGB values in [0, 1] (inputs are clipped to [0, 1] first)."""
    v = np.clip(np.asarray(v, dtype=np.float64), 0.0, 1.0)
    return np.where(v <= 0.0031308, 12.92 * v, 1.055 * v ** (1 / 2.4) - 0.055)


_DECODE = srgb_to_linear(np.arange(256) / 255.0)   # linear light of every 8-bit code


def decode(rgb: np.ndarray) -> np.ndarray:
    """uint8 sRGB image -> linear light in [0, 1] (float64; a table of the 256 codes)."""
    return _DECODE[np.asarray(rgb, dtype=np.uint8)]


def encode(linear: np.ndarray) -> np.ndarray:
    """Linear light -> uint8 sRGB image (clipped, rounded to the nearest code)."""
    return np.rint(linear_to_srgb(linear) * 255.0).astype(np.uint8)


# -- geometry ----------------------------------------------------------------------------------------------
def ray_distance(depth: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    """Planar depth z [H, W] (camera-frame z, as Genesis renders it) -> distance along each pixel's ray.

    d = z sqrt(1 + x^2 + y^2) with x = (u + 0.5 - cx) / fx, y = (v + 0.5 - cy) / fy at pixel centres (the
    convention of Genesis' ``Camera.distance_center_to_plane``); ``inf`` stays ``inf``.
    """
    depth = np.asarray(depth, dtype=np.float64)
    K = np.asarray(intrinsics, dtype=np.float64)
    h, w = depth.shape
    x = (np.arange(w) + 0.5 - K[0, 2]) / K[0, 0]
    y = (np.arange(h) + 0.5 - K[1, 2]) / K[1, 1]
    return depth * np.sqrt(1.0 + x[None, :] ** 2 + y[:, None] ** 2)


def transmission(distance: np.ndarray, visibility_m: float) -> np.ndarray:
    """Koschmieder transmission t = exp(-3.912 d / V); 1 at d = 0, 0 at d = inf."""
    return np.exp(-KOSCHMIEDER / visibility_m * np.asarray(distance, dtype=np.float64))


# -- the effects, in linear light ----------------------------------------------------------------------------
def fog_linear(linear: np.ndarray, distance: np.ndarray, visibility_m: float, airlight: float) -> np.ndarray:
    """I = J t + A (1 - t) on linear light ``linear`` [H, W, 3] with the ray distance ``distance`` [H, W]."""
    t = transmission(distance, visibility_m)[..., None]
    return linear * t + airlight * (1.0 - t)


def low_light_linear(linear: np.ndarray, gain: float, full_well: float, read_noise: float,
                     rng: np.random.Generator) -> np.ndarray:
    """Scaled irradiance with shot and read noise (EMVA 1288), in linear units of full scale, clipped to [0, 1].

    The electrons of a pixel have mean mu = linear x gain x full_well and variance mu + read_noise^2 (Poisson shot
    noise and Gaussian read noise), drawn as one normal variate: the normal approximation of the Poisson count,
    EMVA 1288's own model of temporal noise, exact in mean and variance (a 1280 x 720 image costs 4x less than
    Poisson draws; only the skew of counts of a few electrons is left out).
    """
    mu = np.asarray(linear, dtype=np.float64) * (gain * full_well)
    electrons = mu + np.sqrt(mu + read_noise ** 2) * rng.standard_normal(mu.shape)
    return np.clip(electrons / full_well, 0.0, 1.0)


def apply_condition(rgb: np.ndarray, condition: Condition, cfg: ConditionsConfig, rng: np.random.Generator,
                    depth: np.ndarray | None = None, intrinsics: np.ndarray | None = None) -> np.ndarray:
    """Render ``condition`` onto one uint8 RGB view [H, W, 3]; returns a new uint8 [H, W, 3] array.

    Clear: ``rgb``. Fog: needs ``depth`` [H, W] in metres (``CameraFrame.depth``, ``inf`` for the sky); with
    ``intrinsics`` (the 3x3 K) it is the renderer's planar depth and is converted to the distance along each ray,
    without them it is taken to be that distance already. Low light: the irradiance times its gain. Then the
    sensor's shot and read noise, drawn from ``rng`` (deterministic given the generator's state): on every image
    (``cfg.sensor_noise: every_image``) or on dark ones only (``low_light``: clear is then a copy of ``rgb``).
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"rgb must be a uint8 [H, W, 3] image, got {rgb.dtype} {rgb.shape}")
    every = cfg.sensor_noise == "every_image"
    if condition.kind == "clear":
        return encode(low_light_linear(decode(rgb), 1.0, cfg.full_well, cfg.read_noise, rng)) if every else rgb.copy()
    if condition.kind == "fog":
        if depth is None:
            raise ValueError("fog needs the rendered depth: call GenesisScene.render(depth=True) and pass "
                             "depth=frame.depth")
        depth = np.asarray(depth, dtype=np.float64)
        if depth.shape != rgb.shape[:2]:
            raise ValueError(f"depth must be [H, W] = {rgb.shape[:2]}, got {depth.shape}")
        if np.isnan(depth).any() or (depth < 0).any():
            raise ValueError("depth must be >= 0 (inf for the sky), without NaN")
        distance = depth if intrinsics is None else ray_distance(depth, intrinsics)
        fogged = fog_linear(decode(rgb), distance, condition.visibility_m, cfg.fog_airlight)
        return encode(low_light_linear(fogged, 1.0, cfg.full_well, cfg.read_noise, rng) if every else fogged)
    return encode(low_light_linear(decode(rgb), condition.gain, cfg.full_well, cfg.read_noise, rng))
