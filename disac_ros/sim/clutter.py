"""Clutter: what the static scene returns to each device's radar (pure NumPy), with the source of every model.

Per device k the clutter C_k [C, A, S] is added to every target's echo R_{k,n} of the frame. The per-target echo
keeps the paper's form (the other targets stay out of R_{k,n}: the paper's assumption); the clutter is the same
physical return in all of a device's per-target echoes of one frame. Scatterers (``clutter.model: scene``):

* ground: a grid of ``ground_cell_m`` cells over the world's ground plane (``world.size``, centred on the origin,
  outside building footprints), each of mean RCS sigma0 A by the constant-gamma model sigma0 = gamma sin(psi), psi
  the grazing angle from the device (Barton, "Land clutter models for radar design and analysis", Proc. IEEE
  73(2), 1985; Nathanson, Reilly and Cohen, Radar Design Principles, 2nd ed., 1999). gamma = -15 dB, a middle
  value of the land classes at X band (from about -20 dB for flatland to -10 dB for wooded hills): the grass and
  paving between the buildings.
* walls and roofs: facets of ``ground_cell_m`` on every face of a building facing the device, diffuse (Lambertian)
  backscatter of the effective-roughness model (Degli-Esposti et al., "Measurement and modelling of scattering
  from buildings", IEEE Trans. Antennas Propag. 55(1), 2007): a facet scatters the share S^2 of what a smooth
  face would reflect, |Gamma|^2 (normal-incidence Fresnel coefficient of ITU-R P.2040 concrete), with a cosine
  pattern, so monostatically sigma0 = 4 S^2 |Gamma|^2 cos^2(theta_i); S = 0.4 (measured 0.2-0.5). A flat face's
  specular return (within about lambda / L of its normal) is left out.
* corners: each wall's dihedral with the ground, by physical optics (Knott, Shaeffer and Tuley, Radar Cross
  Section, 2nd ed., 1993, ch. 5; 8 pi a^2 b^2 / lambda^2 at the symmetric 45-degree incidence):
  sigma = 16 pi a^2 b'^2 cos^2(eps) / lambda^2 |Gamma_w Gamma_g|^2 rho_w rho_g (1 - S^2) sinc^2(k a sin alpha),
  a the wall's length, b' the part of its height a ground bounce towards the device reaches (min(height, device
  height)), eps the depression angle, alpha the horizontal angle off the wall's normal; Gamma_g of ITU-R P.2040
  medium dry ground; rho = exp(-(4 pi h cos(theta_i) / lambda)^2) the specular loss of a surface of rms height h
  at incidence theta_i from its normal (Ament 1953; Beckmann and Spizzichino 1963: 3 mm for a wall, 1 cm for the
  ground) and 1 - S^2 the specular share the wall's diffuse scattering leaves (Degli-Esposti). One point at the
  foot of the wall's centre.
* canopies: a grid of points inside each tree's canopy sphere sharing sigma = gamma_c pi r^2 (gamma_c = -10 dB:
  X-band backscatter of tree canopies, Ulaby and Dobson, Handbook of Radar Scattering Statistics for Terrain,
  1989), each seen through the canopy in front of it (the foliage loss of the chord). Wind-blown leaves move:
  Billingsley's model (Low-Angle Radar Land Clutter, 2002, ch. 3) splits their power into a steady share
  r / (1 + r) and a moving share with the velocity spectrum (beta / 2) exp(-beta |v|), r = 489.8 w^-1.55 f^-1.21,
  beta = 1 / (0.1048 (log10 w + 0.4147)) s/m (w in statute mph, f in GHz; as MathWorks' ``billingsleyicm``),
  whose slow-time correlation is rho(tau) = 1 / (1 + (4 pi tau / (lambda beta))^2). The moving share is drawn
  afresh every frame (rho is ~0 over a frame period of 0.1-0.4 s) with that correlation between chirps; ground
  and walls are steady (zero Doppler).

Every scatterer returns Eq. (1)'s point echo with zero Doppler (the radar equation, the element pattern, the
two-way loss of its path through buildings and canopies, :func:`disac_ros.sim.blockage.static_path_loss`), times a
complex Gaussian amplitude of unit mean power (speckle: many scatterers share a cell) drawn once per device from
``clutter.seed``: a static scene returns the same clutter every frame; a dihedral gets a random phase of unit
modulus. Targets do not shadow the clutter behind them (left out).

No transmitter phase noise: the transmitter and the receiver's mixer share one oscillator, so at delays below
1 us its phase noise cancels in the mixer (the range-correlation effect, Budge and Burt, "Range correlation effects
in radars", IEEE National Radar Conference, 1993), and steady clutter stays steady from chirp to chirp; what
limits its cancellation here is the canopies' motion. ``clutter.model: none`` adds no clutter.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from disac_ros.config import C, RadarConfig, SceneConfig
from disac_ros.sim import radar
from disac_ros.sim.blockage import static_path_loss

KINDS = ("ground", "wall", "corner", "canopy")
_MPH = 3600 / 1609.344  # m/s -> statute miles per hour
_BATCH = 2048           # scatterers per block of point responses (16 x 60 complex128 each: ~30 MB a block)
_OUTSIDE = 0.01         # facets sit this far [m] outside their face, so their own building never shadows them


def fresnel_power(permittivity: tuple[float, float], conductivity: tuple[float, float], frequency: float) -> float:
    """|Gamma|^2 at normal incidence of a material of ITU-R P.2040 Table 3 form at ``frequency`` [Hz].

    eps_r = a f^b, sigma = c f^d (f in GHz), complex permittivity eps = eps_r - j 17.98 sigma / f (P.2040 Eq. 9b).
    """
    f = frequency / 1e9
    eps = permittivity[0] * f ** permittivity[1] - 1j * 17.98 * conductivity[0] * f ** conductivity[1] / f
    root = np.sqrt(eps)
    return float(abs((1 - root) / (1 + root)) ** 2)


def ament(rms_height: float, cos_incidence: float, wavelength: float) -> float:
    """Specular power loss of a rough surface: exp(-(4 pi h cos(theta_i) / lambda)^2) (Ament 1953)."""
    return math.exp(-(4 * math.pi * rms_height * cos_incidence / wavelength) ** 2)


def billingsley(wind_speed: float, frequency: float) -> tuple[float, float]:
    """(steady / moving power ratio r, exponential shape beta [s/m]) of wind-blown vegetation (Billingsley 2002)."""
    w = max(wind_speed * _MPH, 1e-3)
    return 489.8 * w ** -1.55 * (frequency / 1e9) ** -1.21, 1.0 / (0.1048 * (math.log10(w) + 0.4147))


def chirp_correlation(cfg: SceneConfig) -> np.ndarray:
    """Slow-time correlation [C, C] of the canopies' moving share: rho(|m - n| T_c) (module docstring)."""
    r = cfg.radar
    _, beta = billingsley(cfg.clutter.wind_speed, r.carrier_frequency)
    lag = np.abs(np.subtract.outer(np.arange(r.num_chirps), np.arange(r.num_chirps))) * r.chirp_interval
    if cfg.clutter.wind_speed <= 0:
        return np.ones_like(lag)
    return 1.0 / (1.0 + (4 * np.pi * lag / (radar.wavelength(r) * beta)) ** 2)


@dataclass(frozen=True)
class Scatterers:
    """Static scatterers as one device sees them, arrays [P]."""

    position: np.ndarray   # [P, 3] world [m]
    rcs: np.ndarray        # mean RCS seen from the device [m^2]
    kind: np.ndarray       # int8 index into KINDS
    steady: np.ndarray     # steady share of the power (1 but for canopies)


def _grid(lo: float, hi: float, step: float) -> np.ndarray:
    """Cell centres covering [lo, hi] with cells of about ``step``."""
    n = max(1, int(round((hi - lo) / step)))
    return lo + (np.arange(n) + 0.5) * (hi - lo) / n


def _faces(cfg: SceneConfig):
    """Every face of every building: (centre [3], normal [3], u axis, u length, v axis, v length)."""
    faces = []
    for ob in cfg.obstacles:
        if ob.type != "building":
            continue
        (x, y), (sx, sy, sz) = ob.position, ob.size
        for axis, sign in ((0, 1), (0, -1), (1, 1), (1, -1)):
            normal = np.zeros(3)
            normal[axis] = sign
            centre = np.array([x, y, sz / 2])
            centre[axis] += sign * (sx, sy)[axis] / 2
            along = np.zeros(3)
            along[1 - axis] = 1.0
            faces.append((centre, normal, along, (sy, sx)[axis], np.array([0.0, 0.0, 1.0]), sz))
        faces.append((np.array([x, y, sz]), np.array([0.0, 0.0, 1.0]), np.array([1.0, 0, 0]), sx,
                      np.array([0, 1.0, 0]), sy))
    return faces


def device_scatterers(cfg: SceneConfig, k: int) -> Scatterers:
    """The scene's static scatterers with the RCS device ``k`` sees (module docstring); none for ``model: none``."""
    dev = np.asarray(cfg.devices[k].position, dtype=np.float64)
    parts: list[tuple[np.ndarray, np.ndarray, int, np.ndarray]] = [(np.zeros((0, 3)), np.zeros(0), 0, np.zeros(0))]
    if cfg.clutter.model == "none":
        return Scatterers(np.zeros((0, 3)), np.zeros(0), np.zeros(0, np.int8), np.zeros(0))
    if cfg.clutter.ground:
        parts.append(_ground(cfg, dev))
    _walls_and_corners(cfg, dev, parts)
    _canopies(cfg, parts)
    return Scatterers(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                      np.concatenate([np.full(len(p[0]), p[2], np.int8) for p in parts]),
                      np.concatenate([p[3] for p in parts]))


def _ground(cfg: SceneConfig, dev: np.ndarray):
    """Ground cells (constant gamma) outside building footprints: (positions, rcs, kind, steady share)."""
    cl, step = cfg.clutter, cfg.clutter.ground_cell_m
    half_x, half_y = cfg.world.size[0] / 2, cfg.world.size[1] / 2
    gx, gy = np.meshgrid(_grid(-half_x, half_x, step), _grid(-half_y, half_y, step), indexing="ij")
    ground = np.stack([gx.ravel(), gy.ravel(), np.zeros(gx.size)], axis=-1)
    keep = np.ones(len(ground), bool)
    for ob in cfg.obstacles:
        if ob.type == "building":
            (x, y), (sx, sy, _) = ob.position, ob.size
            keep &= ~((np.abs(ground[:, 0] - x) < sx / 2) & (np.abs(ground[:, 1] - y) < sy / 2))
    ground = ground[keep]
    horizontal = np.hypot(*(ground[:, :2] - dev[:2]).T)
    sin_graze = np.clip(dev[2], 0, None) / np.maximum(np.hypot(horizontal, dev[2]), 1e-9)
    area = (cfg.world.size[0] / gx.shape[0]) * (cfg.world.size[1] / gx.shape[1])
    return ground, 10 ** (cl.ground_gamma_db / 10) * sin_graze * area, 0, np.ones(len(ground))


def _walls_and_corners(cfg: SceneConfig, dev: np.ndarray, parts: list) -> None:
    """Lambertian facets of the faces that face the device, and each wall's dihedral with the ground."""
    cl, step, lam = cfg.clutter, cfg.clutter.ground_cell_m, radar.wavelength(cfg.radar)
    gamma_w = fresnel_power(cl.wall_permittivity, cl.wall_conductivity, cfg.radar.carrier_frequency)
    gamma_g = fresnel_power(cl.ground_permittivity, cl.ground_conductivity, cfg.radar.carrier_frequency)
    k_wave = 2 * np.pi / lam
    for centre, normal, u, length_u, v, length_v in _faces(cfg):
        su, sv = _grid(-length_u / 2, length_u / 2, step), _grid(-length_v / 2, length_v / 2, step)
        pts = (centre + _OUTSIDE * normal + su[:, None, None] * u + sv[None, :, None] * v).reshape(-1, 3)
        to_dev = dev - pts
        cos_i = to_dev @ normal / np.linalg.norm(to_dev, axis=1)
        front = cos_i > 0
        facet = (length_u / len(su)) * (length_v / len(sv))
        parts.append((pts[front], 4 * cl.wall_scattering ** 2 * gamma_w * cos_i[front] ** 2 * facet, 1,
                      np.ones(int(front.sum()))))
        if cl.corners and normal[2] == 0:
            foot = centre + _OUTSIDE * normal - np.array([0, 0, centre[2]])
            d = dev - foot
            horizontal = np.hypot(d[0], d[1])
            if d @ normal > 0 and horizontal > 0:
                cos_eps = horizontal / np.linalg.norm(d)
                sin_alpha = (normal[0] * d[1] - normal[1] * d[0]) / horizontal
                b_eff = min(length_v, max(dev[2], 0.0))
                sin_eps = math.sqrt(max(0.0, 1 - cos_eps ** 2))
                rough = (ament(cl.wall_roughness_m, cos_eps, lam) * ament(cl.ground_roughness_m, sin_eps, lam)
                         * (1 - cl.wall_scattering ** 2))
                sigma = (16 * np.pi * length_u ** 2 * b_eff ** 2 * cos_eps ** 2 / lam ** 2 * gamma_w * gamma_g
                         * rough * np.sinc(k_wave * length_u * sin_alpha / np.pi) ** 2)
                parts.append((foot[None], np.array([sigma]), 2, np.ones(1)))


def _canopies(cfg: SceneConfig, parts: list) -> None:
    """Points inside every canopy sharing gamma_c pi r^2, with Billingsley's steady share."""
    cl, step = cfg.clutter, cfg.clutter.ground_cell_m
    ratio, _ = billingsley(cl.wind_speed, cfg.radar.carrier_frequency)
    steady = ratio / (1 + ratio) if cl.wind_speed > 0 else 1.0
    for ob in cfg.obstacles:
        if ob.type != "tree":
            continue
        radius, _, total = ob.size
        centre = np.array([*ob.position, total - radius])
        axis = _grid(-radius, radius, step)
        cx, cy, cz = np.meshgrid(axis, axis, axis, indexing="ij")
        pts = np.stack([cx.ravel(), cy.ravel(), cz.ravel()], axis=-1)
        pts = centre + pts[np.linalg.norm(pts, axis=1) <= radius]
        sigma = 10 ** (cl.canopy_gamma_db / 10) * np.pi * radius ** 2 / max(len(pts), 1)
        parts.append((pts, np.full(len(pts), sigma), 3, np.full(len(pts), steady)))


def point_responses(r: RadarConfig, pose: radar.ArrayPose, points: np.ndarray, rcs: np.ndarray,
                    loss_db: np.ndarray) -> np.ndarray:
    """Zero-Doppler echoes of static points [P, 3] of mean RCS ``rcs`` [P]: complex128 [P, A, S] (one chirp).

    Eq. (1) per point, as :func:`disac_ros.sim.radar.synthesize_echo` makes it with ``radial_velocity`` 0 and
    no noise; points beyond the unambiguous range return nothing.
    """
    slant, azimuth, pitch, off = pose.local(points)
    tau = 2 * slant / C
    t = np.arange(r.num_samples) / r.sampling_frequency
    inside = (tau < r.pulse_repetition_interval) & (slant > 0)
    amplitude = np.where(inside, radar.echo_amplitude(r, np.maximum(slant, 1e-6), rcs, loss_db, off), 0.0)
    pulse = radar.lfm_chirp(r, t[None, :] - tau[:, None]) * np.exp(-2j * np.pi * r.carrier_frequency * tau)[:, None]
    a_z = np.exp(-2j * np.pi * r.element_spacing * np.arange(r.array_rows)[None, :] * np.sin(pitch)[:, None])
    a_y = np.exp(-2j * np.pi * r.element_spacing * np.arange(r.array_cols)[None, :]
                 * (np.sin(azimuth) * np.cos(pitch))[:, None])
    steer = (a_z[:, :, None] * a_y[:, None, :]).reshape(len(points), r.num_antennas)   # [P, A]
    return amplitude[:, None, None] * steer[:, :, None] * pulse[:, None, :]


@dataclass(frozen=True)
class DeviceClutter:
    """One device's clutter: a steady part and the canopies' moving part (module docstring)."""

    steady: np.ndarray     # [A, S] complex128: the same in every chirp and frame
    moving: np.ndarray     # [J, A, S] complex128: canopy points' responses, scaled by sqrt(moving share)
    cholesky: np.ndarray   # [C, C] lower factor of the moving part's chirp-to-chirp correlation

    def frame(self, rng: np.random.Generator) -> np.ndarray:
        """One frame's clutter [C, A, S] complex128 (the moving part drawn from ``rng``)."""
        n_chirps = self.cholesky.shape[0]
        out = np.broadcast_to(self.steady, (n_chirps, *self.steady.shape)).copy()
        if len(self.moving):
            z = (rng.standard_normal((len(self.moving), n_chirps))
                 + 1j * rng.standard_normal((len(self.moving), n_chirps))) / np.sqrt(2)
            out += np.einsum("jc,jas->cas", z @ self.cholesky.T, self.moving)
        return out


def build_clutter(cfg: SceneConfig, k: int) -> DeviceClutter:
    """Device ``k``'s clutter: its scatterers' responses summed with their speckle (drawn from ``clutter.seed``)."""
    r = cfg.radar
    pose = radar.ArrayPose.for_device(cfg.devices[k], r)
    sc = device_scatterers(cfg, k)
    rng = np.random.default_rng([cfg.clutter.seed, 29, k])
    n = len(sc.rcs)
    speckle = (rng.standard_normal(n) + 1j * rng.standard_normal(n)) / np.sqrt(2)
    corner = sc.kind == KINDS.index("corner")
    speckle[corner] = np.exp(1j * np.angle(speckle[corner]))
    loss = static_path_loss(cfg, pose.position, sc.position)
    steady = np.zeros((r.num_antennas, r.num_samples), np.complex128)
    for i in range(0, n, _BATCH):
        part = slice(i, i + _BATCH)
        h = point_responses(r, pose, sc.position[part], sc.rcs[part], loss[part])
        steady += np.einsum("p,pas->as", speckle[part] * np.sqrt(sc.steady[part]), h)
    moving_idx = np.flatnonzero(sc.steady < 1)
    moving = point_responses(r, pose, sc.position[moving_idx], sc.rcs[moving_idx], loss[moving_idx])
    moving *= np.sqrt(1 - sc.steady[moving_idx])[:, None, None]
    corr = chirp_correlation(cfg)
    cholesky = np.linalg.cholesky(corr + 1e-9 * np.eye(len(corr)))
    return DeviceClutter(steady, moving, cholesky)


@functools.lru_cache(maxsize=4)
def _scene_clutter(config_json: str) -> tuple[DeviceClutter, ...]:
    cfg = SceneConfig.model_validate_json(config_json)
    return tuple(build_clutter(cfg, k) for k in range(len(cfg.devices)))


def scene_clutter(cfg: SceneConfig) -> tuple[DeviceClutter, ...] | None:
    """Every device's clutter (built once per config and cached), or None for ``clutter.model: none``."""
    if cfg.clutter.model == "none":
        return None
    return _scene_clutter(cfg.model_dump_json())


def clutter_to_noise(cfg: SceneConfig, k: int) -> dict:
    """Device ``k``'s clutter against its noise (what ``disac inspect`` reports).

    ``per_sample_cnr_db``: the mean clutter power per sample over sigma_n^2; ``peak_cnr_db``: the CNR of the
    strongest range-angle cell after the matched filter (the classical estimator's peak on the noise-free steady
    clutter, at ``peak_range_m``); ``scatterers``: how many of each kind.
    """
    from disac_ros.sim.estimators import classical_estimates

    clutter = scene_clutter(cfg)
    sc = device_scatterers(cfg, k)
    counts = {kind: int(np.sum(sc.kind == i)) for i, kind in enumerate(KINDS)}
    if clutter is None:
        return {"per_sample_cnr_db": None, "peak_cnr_db": None, "peak_range_m": None, "scatterers": counts}
    echo = np.broadcast_to(clutter[k].steady, (cfg.radar.num_chirps, *clutter[k].steady.shape))
    pose = radar.ArrayPose.for_device(cfg.devices[k], cfg.radar)
    est = classical_estimates(echo[None].astype(np.complex64), cfg.radar, pose, np.zeros(3), detector="fixed")
    noise = radar.noise_power(cfg.radar)
    with np.errstate(divide="ignore"):
        per_sample = 10 * np.log10(np.mean(np.abs(clutter[k].steady) ** 2) / noise)
    return {"per_sample_cnr_db": round(float(per_sample), 2), "peak_cnr_db": round(float(est.peak_snr_db[0]), 2),
            "peak_range_m": round(float(est.slant_range[0]), 2), "scatterers": counts}


def clutter_summary(cfg: SceneConfig) -> dict:
    """The manifest's ``clutter`` block: the model, its sources and every device's :func:`clutter_to_noise`."""
    return {"model": cfg.clutter.model,
            "source": "sim/clutter.py: constant-gamma ground (Barton 1985), Lambertian walls (Degli-Esposti 2007, "
                      "ITU-R P.2040 concrete), wall-ground dihedrals (physical optics, Ament roughness), canopies "
                      "with Billingsley's wind-blown spectrum",
            "per_device": {d.id: clutter_to_noise(cfg, k) for k, d in enumerate(cfg.devices)}}
