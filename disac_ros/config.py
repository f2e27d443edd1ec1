"""One configuration schema for the simulation, the dataset generator and the ROS bridge.

A scene is described by a YAML file (``config/scene.yaml``); presets (``config/presets/*.yaml``)
override parts of it. Validation uses pydantic so every error names the offending field, and it
runs before anything is rendered.

Coordinates: world frame, metres, z up. Angles follow the paper (Eqs. 56-57): azimuth
phi = atan2(y_dev - y_tgt, x_tgt - x_dev), pitch theta = atan2(z_dev - z_tgt, horizontal range).
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
import os
from pathlib import Path
from typing import Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


def _config_dir() -> Path:
    """``config/`` of the source tree, else ``share/disac_ros/config`` of a colcon install (via AMENT_PREFIX_PATH)."""
    source = Path(__file__).resolve().parent.parent / "config"
    if source.is_dir():
        return source
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        installed = Path(prefix) / "share" / "disac_ros" / "config"
        if prefix and installed.is_dir():
            return installed
    return source


CONFIG_DIR = _config_dir()
PRESETS = ("smoke", "default", "paper")

TargetType = Literal["car", "dog", "drone"]
#: Class index of each target type (the heads' class order) and radar cross-section [m^2] (Sec. V-A2).
CLASSES: tuple[str, ...] = ("car", "dog", "drone")
DEFAULT_RCS = {"car": 100.0, "dog": 10.0, "drone": 1.0}
#: Broadside / nose-on ratio of each type's mean RCS [dB]: a car's flank is a large flat reflector, a dog's body
#: a smaller one, a quadcopter is nearly the same from every side (3GPP TR 38.901 Sec. 7.9 models an ISAC target's
#: RCS with such an aspect-dependent component).
DEFAULT_RCS_ASPECT_DB = {"car": 10.0, "dog": 4.0, "drone": 1.0}
C = 3e8  # speed of light [m/s], as in the paper


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WorldConfig(_Strict):
    """Bounded ground plane [-size_x/2, size_x/2] x [-size_y/2, size_y/2] and the targets' region."""

    size: tuple[float, float] = (60.0, 60.0)
    max_height: float = Field(30.0, gt=0)
    region_center: tuple[float, float] = (0.0, 0.0)
    region_half_extent: tuple[float, float] = (8.0, 8.0)

    @model_validator(mode="after")
    def _region_inside(self) -> WorldConfig:
        if min(self.size) <= 0:
            raise ValueError("world.size must be positive")
        if min(self.region_half_extent) <= 0:
            raise ValueError("world.region_half_extent must be positive")
        for i, axis in enumerate("xy"):
            if abs(self.region_center[i]) + self.region_half_extent[i] > self.size[i] / 2:
                raise ValueError(f"world.region_* leaves the ground plane along {axis}")
        return self

    def contains(self, p: tuple[float, float, float] | list[float]) -> bool:
        return (abs(p[0]) <= self.size[0] / 2 and abs(p[1]) <= self.size[1] / 2
                and 0.0 <= p[2] <= self.max_height)


class CameraConfig(_Strict):
    """One RGB camera per device (Genesis' pinhole camera at the device's pose).

    ``crop`` (the radar-cued crop, :mod:`disac_ros.data.crops`): RVFN's camera input for target n is the window of
    the image around the device's own radar detection of n (the paper's per-target isolation, Sec. III-A); the
    dataset stores the crops and a thumbnail of each image. ``crop: false``: the whole image, shared by the
    frame's targets (the project's earlier form).
    """

    width: int = Field(128, ge=16, le=4096)
    height: int = Field(128, ge=16, le=4096)
    fov: float = Field(60.0, gt=1, lt=179, description="vertical field of view [deg]")
    far: float = Field(150.0, gt=1)
    crop: bool = Field(True, description="RVFN reads the radar-cued crop of each target (data/crops.py) instead "
                       "of the whole image")


class DeviceConfig(_Strict):
    """A sensing device: camera and radar at one pose. The first device is the aggregation center."""

    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    position: tuple[float, float, float]
    lookat: tuple[float, float, float] = (0.0, 0.0, 0.5)


def _as_range(value):
    """A number ``v`` means the range (v, v); a pair stays a pair (validated by the field's type)."""
    return (value, value) if isinstance(value, int | float) else value


Range = tuple[float, float]


class TargetConfig(_Strict):
    """A moving target, with what it draws per sequence and how it reflects the radar.

    Per sequence it draws its speed and (drones) altitude from their ranges and one of its size variants; its
    radar cross-section fluctuates per device and frame (Swerling) around a mean that depends on the aspect
    under which the device sees it. Defaults by type (mean RCS: the paper's 100 / 10 / 1 m^2, Sec. V-A2;
    aspect ratio: how much brighter the target is broadside than nose-on, :data:`DEFAULT_RCS_ASPECT_DB`).
    """

    type: TargetType
    speed: Range = Field(description="m/s, drawn uniformly per sequence from (min, max); a number: fixed")
    altitude: Range | None = Field(None, description="centre height [m] of a drone, drawn per sequence")
    scale: tuple[float, ...] = Field((1.0,), description="size variants (x the nominal size), one per sequence")
    rcs: float | None = Field(None, gt=0, description="mean radar cross-section over aspect [m^2]; default by type")
    rcs_aspect_db: float | None = Field(None, ge=0, description="broadside / nose-on RCS ratio [dB]; default by type")
    swerling: Literal[0, 1, 2, 3, 4] = Field(1, description="RCS fluctuation model: 0 steady, 1/2 chi-square "
                                             "2 dof per frame / per chirp, 3/4 chi-square 4 dof per frame / chirp")

    @field_validator("speed", "altitude", mode="before")
    @classmethod
    def _range(cls, value):
        return _as_range(value)

    @field_validator("scale", mode="before")
    @classmethod
    def _variants(cls, value):
        return (value,) if isinstance(value, int | float) else value

    @model_validator(mode="after")
    def _ordered(self) -> TargetConfig:
        for name in ("speed", "altitude"):
            lo_hi = getattr(self, name)
            if lo_hi is not None and not 0 <= lo_hi[0] <= lo_hi[1]:
                raise ValueError(f"{name} must be a range 0 <= min <= max, got {list(lo_hi)}")
        if not self.scale or min(self.scale) <= 0:
            raise ValueError(f"scale: size variants must be positive, got {list(self.scale)}")
        return self

    @property
    def radar_cross_section(self) -> float:
        return self.rcs if self.rcs is not None else DEFAULT_RCS[self.type]

    @property
    def aspect_ratio_db(self) -> float:
        return self.rcs_aspect_db if self.rcs_aspect_db is not None else DEFAULT_RCS_ASPECT_DB[self.type]


class ObstacleConfig(_Strict):
    type: Literal["building", "tree"]
    position: tuple[float, float]
    size: tuple[float, float, float] = (4.0, 4.0, 6.0)
    """building: (x, y, z) extents; tree: (canopy radius, canopy radius, total height)."""


class RadarConfig(_Strict):
    """SIMO LFM radar of Eqs. (1)-(3) with the parameters of Sec. V-A2.

    The chirp sweeps ``chirp_bandwidth`` over one PRI, so the slope is K_t = B / T_r. B = 50 MHz
    (K_t = 5e13 Hz/s) stays below F_s = 60 MHz, so the complex baseband chirp is not aliased, and
    gives a range resolution c / 2B = 3 m. Chirps of one frame start ``chirp_interval`` apart
    (>= PRI); the paper's single pulse cannot resolve Doppler, so more chirps with a longer interval
    make velocity observable.
    """

    carrier_frequency: float = Field(10e9, gt=0)
    sampling_frequency: float = Field(60e6, gt=0)
    pulse_repetition_interval: float = Field(1e-6, gt=0)
    chirp_bandwidth: float = Field(50e6, gt=0)
    array_rows: int = Field(4, ge=1, description="N_z (vertical)")
    array_cols: int = Field(4, ge=1, description="N_y (horizontal)")
    element_spacing: float = Field(0.5, gt=0, description="in wavelengths")
    num_chirps: int = Field(1, ge=1)
    chirp_interval: float = Field(1e-6, gt=0, description="slow-time spacing of chirps [s]")
    # What the echo's amplitude and noise follow (sim/radar.py documents each model and its source).
    amplitude: Literal["radar_equation", "paper_eq2"] = Field(
        "radar_equation", description="radar_equation: amplitude ~ sqrt(RCS) / R^2 (physics); paper_eq2: the "
        "paper's printed Eq. (2), linear in the RCS")
    noise: Literal["link_budget", "reference_snr"] = Field(
        "link_budget", description="link_budget: k T0 F_s x noise figure with the radar equation's received power; "
        "reference_snr: snr_db for a 1 m^2 target at snr_reference_distance (the project's first model)")
    transmit_power: float = Field(0.1, gt=0, description="P_t [W] (20 dBm: a small 10 GHz sensor)")
    tx_gain_db: float = Field(6.0, description="transmit element gain at boresight [dBi]")
    rx_gain_db: float = Field(6.0, description="receive element gain at boresight [dBi], per array element")
    noise_figure_db: float = Field(8.0, ge=0, description="receiver noise figure [dB]")
    system_loss_db: float = Field(3.0, ge=0, description="losses of the radar equation L_s [dB]")
    noise_temperature: float = Field(290.0, gt=0, description="reference temperature T0 [K]")
    element_pattern_exponent: float = Field(1.5, ge=0, description="element power pattern cos^q of the "
                                            "off-boresight angle, per way (0: isotropic)")
    boresight: Literal["view", "world_x"] = Field(
        "view", description="view: the array faces its device's viewing direction and angles are measured from "
        "its boresight; world_x: every array faces the world's +x axis (the project's first model)")
    snr_db: float = Field(20.0, description="noise: reference_snr: per-sample SNR of a 1 m^2 target at "
                          "snr_reference_distance")
    snr_reference_distance: float = Field(10.0, gt=0)
    detector: Literal["mti_cfar", "fixed"] = Field(
        "mti_cfar", description="the classical baseline's detector (sim/estimators.py): mti_cfar: a zero-Doppler "
        "notch, then a CA-CFAR at 1e-7 false alarms per cell; fixed: 13 dB over the known noise (the project's "
        "first detector, right for a world of noise only)")

    @model_validator(mode="after")
    def _consistent(self) -> RadarConfig:
        if self.chirp_bandwidth > self.sampling_frequency:
            raise ValueError("radar.chirp_bandwidth must not exceed radar.sampling_frequency (aliasing)")
        if self.chirp_interval < self.pulse_repetition_interval:
            raise ValueError("radar.chirp_interval must be >= radar.pulse_repetition_interval")
        return self

    @property
    def chirp_slope(self) -> float:
        return self.chirp_bandwidth / self.pulse_repetition_interval

    @property
    def num_samples(self) -> int:
        return int(round(self.sampling_frequency * self.pulse_repetition_interval))

    @property
    def num_antennas(self) -> int:
        return self.array_rows * self.array_cols


class DatasetConfig(_Strict):
    sequences: int = Field(4, ge=1)
    duration: float = Field(1.0, gt=0, description="seconds per sequence")
    fps: float = Field(10.0, gt=0)
    split: tuple[float, float, float] = (0.6, 0.2, 0.2)
    chunk_frames: int = Field(16, ge=1, description="frames per stored chunk")

    @property
    def frames_per_sequence(self) -> int:
        return max(1, int(round(self.duration * self.fps)))


class PropagationConfig(_Strict):
    """What a device-to-target path crosses (sim/blockage.py). Losses are one-way; the echo pays them twice.

    Buildings: ITU-R P.2109 gives a median building entry loss of about 17 dB (traditional) to 34 dB (thermally
    efficient) per entry at 10 GHz; a path through a whole building enters and leaves it and crosses its inside,
    so 40 dB one-way (80 dB two-way) leaves a hidden target's echo at noise level. Targets: a car or another target
    on the path shadows what is behind it (20 dB one-way, knife-edge diffraction of a body metres wide at a 3 cm
    wavelength). Foliage: ITU-R P.833 at 10 GHz, about 1 dB per metre of canopy, which at these ranges hides
    little: "blocked" means a building or a target, never foliage alone.
    """

    blockage: bool = Field(True, description="test every path against buildings, tree canopies and targets")
    building_loss_db: float = Field(40.0, ge=0, description="one-way loss of a path through a building [dB]")
    target_loss_db: float = Field(20.0, ge=0, description="one-way loss per target crossed [dB]")
    foliage_loss_db_per_m: float = Field(1.0, ge=0, description="one-way loss per metre of canopy [dB/m]")


class ClutterConfig(_Strict):
    """What the static scene returns to every radar (sim/clutter.py, where each model's source is given).

    ``model: scene`` (default): the ground plane (constant-gamma, sigma0 = gamma sin(grazing)), the buildings'
    walls and roofs (diffuse, Lambertian, sigma0 = 4 S^2 |Gamma|^2 cos^2(incidence), Degli-Esposti's effective
    roughness with ITU-R P.2040 concrete), each wall's dihedral with the ground (physical optics) and the tree
    canopies (volume backscatter with Billingsley's wind-blown Doppler spectrum), attenuated by the same blockage
    and element pattern as the targets. ``model: none``: no clutter (the echoes of the project's earlier worlds,
    bit for bit).
    """

    model: Literal["scene", "none"] = "scene"
    ground: bool = Field(True, description="the ground plane returns clutter (constant gamma)")
    ground_gamma_db: float = Field(-15.0, le=0, description="constant-gamma ground reflectivity gamma [dB]")
    ground_cell_m: float = Field(0.5, gt=0, le=5, description="ground (and wall) scatterer grid spacing [m]")
    wall_scattering: float = Field(0.4, ge=0, le=1, description="effective-roughness scattering coefficient S")
    wall_permittivity: tuple[float, float] = Field((5.31, 0.0), description="ITU-R P.2040 a, b: eps_r = a f^b")
    wall_conductivity: tuple[float, float] = Field((0.0326, 0.8095), description="ITU-R P.2040 c, d: "
                                                   "sigma = c f^d [S/m], f in GHz")
    ground_permittivity: tuple[float, float] = Field((15.0, -0.1), description="ITU-R P.2040 a, b (medium dry "
                                                     "ground)")
    ground_conductivity: tuple[float, float] = Field((0.035, 1.63), description="ITU-R P.2040 c, d")
    corners: bool = Field(True, description="add each wall's dihedral with the ground")
    wall_roughness_m: float = Field(0.003, ge=0, description="rms height of a wall's surface [m] (Ament factor)")
    ground_roughness_m: float = Field(0.01, ge=0, description="rms height of the ground's surface [m]")
    canopy_gamma_db: float = Field(-10.0, le=0, description="canopy backscatter per projected area [dB]")
    wind_speed: float = Field(3.0, ge=0, le=30, description="wind speed for the canopies' motion [m/s]")
    seed: int = Field(0, ge=0, description="the scene's scatterer phases (part of the world, not of the sampling)")


class SurveyConfig(_Strict):
    """How well the system knows each device's pose: :meth:`SceneConfig.surveyed` (the one home of the model).

    The simulator (rendering, echoes, clutter, labels) uses the true poses; everything the system computes with a
    device's pose uses the surveyed ones: its radar estimates taken to the world frame
    (``data.detections.device_pose``), their classical fusion, TRAM's pose input and the prompt's link distance
    (``models.link``), the viewer's estimates. The labels stay in the center's true frame, so a pose error shows
    as an error of the estimates, as it would deployed. Errors, drawn once per device from ``rng([seed, 31, k])``
    (an installation is surveyed once: every dataset of the world shares them):

    * position: Gaussian, ``position_sigma_m`` per axis (default 0.3 m): between the figures of a dual-frequency
      GNSS receiver, 1.5 m CEP standalone, 1.0 m with SBAS, 0.01 m + 1 ppm with RTK (u-blox ZED-F9P integration
      manual, UBX-18010802); 0.3 m is what a node placed with a survey-grade fix and mounted by hand, or one with
      a plain fix averaged over hours, knows of its antenna's phase centre.
    * heading: Gaussian, ``heading_sigma_deg`` (default 1 degree), the accuracy of a calibrated MEMS magnetic
      compass (1-2 degrees: Honeywell application note AN-203, "Compass heading using magnetometers"; Caruso,
      "Applications of magnetic sensors for low cost compass systems", IEEE PLANS 2000): the view direction turned
      about the vertical through the device. Tilt (from an accelerometer, about 0.1 degree) is left exact.

    Both 0: the exact poses of the project's earlier worlds.
    """

    position_sigma_m: float = Field(0.3, ge=0, le=10, description="survey / GNSS error per axis of a device's "
                                    "position [m]")
    heading_sigma_deg: float = Field(1.0, ge=0, le=30, description="compass error of a device's heading [deg]")
    seed: int = Field(0, ge=0, description="which survey errors (part of the world, not of the sampling)")


class MotionConfig(_Strict):
    """How targets move within a sequence (sim/motion.py).

    ``turns`` (default): piecewise-linear paths whose heading changes at random times (a Poisson process of rate
    ``turn_rate_hz``, turns uniform within +-``max_turn_deg``). ``linear``: the paper's uniform linear motion in a
    random direction (Sec. V-A1), without turns. Both reflect at the region's edge and steer clear of the obstacles
    (``obstacle_margin`` from their footprints) and of each other, by redrawing a path that collides (up to
    ``max_tries`` times).
    """

    model: Literal["turns", "linear"] = "turns"
    turn_rate_hz: float = Field(0.5, ge=0, description="mean heading changes per second")
    max_turn_deg: float = Field(90.0, ge=0, le=180, description="largest heading change of one turn [deg]")
    obstacle_margin: float = Field(0.5, ge=0, description="clearance kept from obstacle footprints [m]")
    max_tries: int = Field(200, ge=1, description="trajectory draws before giving up on a crowded region")


class ConditionsConfig(_Strict):
    """Adverse conditions for the cameras, drawn once per sequence (sim/conditions.py); the radar is unaffected.

    Fog follows Koschmieder's law with the rendered depth d: I = J t + A (1 - t), t = exp(-beta d), beta =
    3.912 / V for a visibility V (Koschmieder's definition: the distance at which contrast falls to 2 %; the WMO's
    meteorological optical range uses 5 %, beta = 2.996 / V), applied to rendered depth as Sakaridis et al. (IJCV
    2018) do for synthetic fog. Low light scales the scene's irradiance by a gain. Every exposure, in clear air and
    fog too (``sensor_noise: every_image``), then has the photon shot noise and read noise of a sensor with
    ``full_well`` electrons at full scale (EMVA 1288): what fog's lost contrast has to stand out of.
    """

    fog_probability: float = Field(0.0, ge=0, le=1, description="share of sequences in fog")
    fog_visibility_m: Range = Field((60.0, 300.0), description="visibility V range [m], drawn per foggy sequence")
    fog_airlight: float = Field(0.85, ge=0, le=1, description="atmospheric light A (fraction of full scale)")
    low_light_probability: float = Field(0.0, ge=0, le=1, description="share of sequences in low light")
    low_light_gain: Range = Field((0.05, 0.3), description="irradiance gain range, drawn per dark sequence")
    full_well: float = Field(2000.0, gt=0, description="electrons at full scale (shot noise)")
    read_noise: float = Field(4.0, ge=0, description="read noise [electrons]")
    sensor_noise: Literal["every_image", "low_light"] = Field(
        "every_image", description="every_image: every exposure has the sensor's shot and read noise (EMVA 1288), "
        "in clear air and fog too; low_light: only dark sequences have it (the project's first model)")

    @model_validator(mode="after")
    def _shares(self) -> ConditionsConfig:
        if self.fog_probability + self.low_light_probability > 1:
            raise ValueError("conditions: fog_probability + low_light_probability must not exceed 1")
        for name in ("fog_visibility_m", "low_light_gain"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise ValueError(f"conditions.{name} must be a range 0 < min <= max, got {[lo, hi]}")
        return self


#: Fields of :class:`SceneConfig` (dotted paths) that say how many and which samples a dataset draws, not what the
#: world is: left out of :meth:`SceneConfig.digest` (its docstring gives the decision field by field).
SAMPLING_FIELDS: tuple[str, ...] = ("seed", "dataset.sequences", "dataset.duration", "dataset.split",
                                    "dataset.chunk_frames")


#: Bump when the classical detector (sim/estimators.py) or the crops (data/crops.py) change what a stored crop
#: holds: datasets with ``camera.crop`` then get another :meth:`SceneConfig.dataset_digest` (and are regenerated).
CROP_CUE_VERSION = 1


def _sha16(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


class SceneConfig(_Strict):
    seed: int = 0
    world: WorldConfig = WorldConfig()
    camera: CameraConfig = CameraConfig()
    devices: list[DeviceConfig]
    targets: list[TargetConfig]
    obstacles: list[ObstacleConfig] = []
    radar: RadarConfig = RadarConfig()
    propagation: PropagationConfig = PropagationConfig()
    clutter: ClutterConfig = ClutterConfig()
    survey: SurveyConfig = SurveyConfig()
    motion: MotionConfig = MotionConfig()
    conditions: ConditionsConfig = ConditionsConfig()
    dataset: DatasetConfig = DatasetConfig()
    velocity_bound: float = Field(10.0, gt=0, description="|radial velocity| normalisation bound [m/s]")

    @model_validator(mode="after")
    def _check(self) -> SceneConfig:
        if not self.devices:
            raise ValueError("devices: at least one sensing device is required")
        ids = [d.id for d in self.devices]
        if len(set(ids)) != len(ids):
            raise ValueError(f"devices: ids must be unique, got {ids}")
        if not self.targets:
            raise ValueError("targets: at least one target is required")
        for i, dev in enumerate(self.devices):
            if not self.world.contains(dev.position):
                raise ValueError(f"devices[{i}].position {dev.position} ({dev.id}) is outside the world "
                                 f"(size {self.world.size}, height 0..{self.world.max_height})")
        for i, tgt in enumerate(self.targets):
            if tgt.speed[1] > self.velocity_bound:
                raise ValueError(f"targets[{i}].speed {list(tgt.speed)} exceeds velocity_bound {self.velocity_bound}")
        r = self.radar
        unambiguous = C * r.pulse_repetition_interval / 2
        if self.max_slant_range > unambiguous:
            raise ValueError(f"radar.pulse_repetition_interval: the farthest slant range {self.max_slant_range:.1f} m "
                             f"is beyond c * PRI / 2 = {unambiguous:.1f} m (its echo would fold into the next PRI)")
        if r.num_chirps > 1:
            doppler = C / r.carrier_frequency / (4 * r.chirp_interval)
            if self.velocity_bound > doppler:
                raise ValueError(f"radar.chirp_interval: velocity_bound {self.velocity_bound} m/s exceeds the Doppler "
                                 f"ambiguity lambda / (4 T_c) = {doppler:.2f} m/s of {r.chirp_interval} s chirps")
        return self

    @property
    def max_slant_range(self) -> float:
        """Upper bound of any device-to-target 3-D distance [m].

        To the region's corners, from the ground to the world's height bound.
        """
        cx, cy = self.world.region_center
        hx, hy = self.world.region_half_extent
        corners = [(cx + sx * hx, cy + sy * hy, z) for sx in (-1, 1) for sy in (-1, 1)
                   for z in (0.0, self.world.max_height)]
        return max(math.dist(d.position, c) for d in self.devices for c in corners)

    def survey_errors(self, k: int) -> tuple[np.ndarray, float]:
        """Device ``k``'s survey error (:class:`SurveyConfig`): (position offset [3] m, heading offset [rad]).

        The heading offset is positive anticlockwise seen from above.
        """
        rng = np.random.default_rng([self.survey.seed, 31, k])
        offset, heading = rng.standard_normal(3), float(rng.standard_normal())   # drawn whatever the sigmas
        return self.survey.position_sigma_m * offset, math.radians(self.survey.heading_sigma_deg) * heading

    def surveyed(self) -> SceneConfig:
        """The scene with every device at the pose the system knows (:class:`SurveyConfig`).

        ``self`` when both sigmas are 0. A device keeps its id; its ``lookat`` is the true view direction turned by
        the heading error, from the surveyed position.
        """
        if self.survey.position_sigma_m == 0 and self.survey.heading_sigma_deg == 0:
            return self
        devices = []
        for k, dev in enumerate(self.devices):
            offset, heading = self.survey_errors(k)
            view = np.subtract(dev.lookat, dev.position)
            c, s = math.cos(heading), math.sin(heading)
            view = np.array([c * view[0] - s * view[1], s * view[0] + c * view[1], view[2]])
            known = np.asarray(dev.position, dtype=np.float64) + offset
            devices.append(dev.model_copy(update={"position": tuple(float(v) for v in known),
                                                  "lookat": tuple(float(v) for v in known + view)}))
        return self.model_copy(update={"devices": devices})

    @property
    def center(self) -> DeviceConfig:
        """The aggregation center (the first device)."""
        return self.devices[0]

    def world_identity(self) -> dict:
        """What makes the world physically the same: the config's JSON without :data:`SAMPLING_FIELDS`."""
        world = self.model_dump(mode="json")
        for path in SAMPLING_FIELDS:
            *parents, name = path.split(".")
            part = world
            for key in parents:
                part = part[key]
            del part[name]
        return world

    def sampling(self) -> dict:
        """How many and which samples a dataset of this world draws: :data:`SAMPLING_FIELDS` and their values."""
        dump = self.model_dump(mode="json")
        out = {}
        for path in SAMPLING_FIELDS:
            value = dump
            for key in path.split("."):
                value = value[key]
            out[path] = value
        return out

    def digest(self) -> str:
        """The world's identity: 16 hex digits of the SHA-256 of :meth:`world_identity`'s canonical JSON.

        What runs, artifacts and live scenes compare: a dataset records it (``config_digest`` in its manifest), a
        run records its dataset's (``data_config_digest`` in ``run.json``), checkpoints and artifacts carry it, and
        a run refuses a dataset or a live scene of another world, naming both digests. A dataset of the same world
        drawn with another seed, more sequences or other split sizes has the same digest (:meth:`dataset_digest`
        tells them apart). Field by field (:data:`SAMPLING_FIELDS` are left out, everything else is the world):

        * world: ``world`` (ground plane, height bound, the targets' region), ``camera`` (resolution, field of view,
          far plane), ``devices`` (ids, order - the first is the center -, positions, view directions), ``targets``
          (types, speed and altitude ranges, size variants, RCS models, Swerling cases), ``obstacles`` (layout),
          ``radar`` (waveform, array, amplitude and noise models, link budget), ``propagation`` (blockage losses),
          ``clutter`` (the static scene's returns, its scatterer phases included), ``survey`` (the errors of the
          poses the system knows),
          ``motion`` (trajectory model), ``conditions`` (the shares and ranges of fog and low light, sensor noise:
          the distribution sequences are drawn from), ``dataset.fps`` (the sensors' frame period: the live bridge
          and the models' temporal spacing follow it), ``velocity_bound`` (the labels' normalisation);
        * sampling: ``seed`` (which trajectories, conditions, RCS and noise draws), ``dataset.sequences`` (how
          many sequences), ``dataset.duration`` (how many frames per sequence), ``dataset.split`` (how sequences are
          split into train / val / test), ``dataset.chunk_frames`` (how frames are stored in files).
        """
        return _sha16(self.world_identity())

    def dataset_digest(self) -> str:
        """A dataset's identity: the world's :meth:`digest` and :meth:`sampling` together.

        What a dataset directory is resumed by (``generation.json``), what ``data/<preset>-<digest>`` is named by,
        and what a run records as the data it was trained on (``dataset_digest`` in ``run.json``). With
        ``camera.crop`` also :data:`CROP_CUE_VERSION`: the crops a dataset stores are placed by the classical
        detector, so a dataset cued by another version of it is another dataset.
        """
        identity = {"world": self.digest(), "sampling": self.sampling()}
        if self.camera.crop:  # the stored crops are cued by the classical detector of this code
            identity["crops_cued_by"] = CROP_CUE_VERSION
        return _sha16(identity)

    @property
    def max_distance(self) -> float:
        """Upper bound of any device-to-target horizontal distance (normalisation of Eq. 55)."""
        return float(sum(s * s for s in self.world.size) ** 0.5)


def _deep_merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def sampling_overrides(seed: int | None = None, sequences: int | None = None,
                       split: list[float] | tuple[float, ...] | None = None) -> dict | None:
    """Scene overrides that draw another dataset of the same world (``disac generate --seed --sequences --split``).

    None when none is given.
    """
    over: dict = {}
    if seed is not None:
        over["seed"] = seed
    dataset = {k: v for k, v in (("sequences", sequences), ("split", list(split) if split else None)) if v is not None}
    if dataset:
        over["dataset"] = dataset
    return over or None


def dotted_overrides(items: list[str], base: dict | None = None) -> dict:
    """``["clutter.model=none", "survey.heading_sigma_deg=0"]`` -> nested overrides (values parsed as YAML).

    Set on a copy of ``base`` (other overrides); what ``disac generate --set`` passes to :func:`load_scene`.
    Raises ValueError for an item without ``=``.
    """
    out: dict = copy.deepcopy(base or {})
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set {item!r}: expected KEY.PATH=VALUE, e.g. clutter.model=none")
        *parents, name = key.strip().split(".")
        part = out
        for p in parents:
            part = part.setdefault(p, {})
        part[name] = yaml.safe_load(value)
    return out


def load_scene(path: str | Path | None = None, preset: str | None = None,
               overrides: dict | None = None) -> SceneConfig:
    """Read a scene YAML (default ``config/scene.yaml``), apply a preset and overrides, validate.

    Raises ``ValueError`` naming the field for any invalid value, before anything is simulated.
    """
    path = Path(path) if path else CONFIG_DIR / "scene.yaml"
    data = yaml.safe_load(path.read_text()) or {}
    if preset:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
        preset_data = yaml.safe_load((CONFIG_DIR / "presets" / f"{preset}.yaml").read_text()) or {}
        data = _deep_merge(data, preset_data.get("scene", {}))
    if overrides:
        data = _deep_merge(data, overrides)
    return SceneConfig.model_validate(data)


# --- models and training (paper Sec. IV and V-A) ------------------------------------------------------

#: The paper's schemes (Table III) as (modality, multi_device, lossless channel).
SCHEMES: dict[str, tuple[str, bool, bool]] = {
    "sm-sd-rf": ("rf", False, False),
    "sm-sd-cv": ("cv", False, False),
    "mm-sd": ("both", False, False),
    "sm-md-rf": ("rf", True, False),
    "sm-md-cv": ("cv", True, False),
    "llm-disac": ("both", True, False),
    "llm-disac-lossless": ("both", True, True),
}

#: Semantic decoder kinds (:func:`disac_ros.models.decoders.build_decoder`): the proposed LLaMA-family LLM decoder
#: and the paper's GPT-2, LSTM and GRU baselines (Sec. V-A3). The one place this list is written.
DECODER_KINDS: tuple[str, ...] = ("llama", "gpt2", "lstm", "gru")


class ModelConfig(_Strict):
    """Sizes of RVFN, LSTN and TRAM. ``L_*`` are sequence lengths, ``d_*`` feature widths."""

    scheme: Literal[tuple(SCHEMES)] = "llm-disac"
    visual_backbone: str = "convnext_atto"
    L_sf: int = Field(8, ge=1, description="multimodal feature length (RVFN output)")
    d_sf: int = Field(32, ge=4, description="multimodal feature width")
    L_se: int = Field(4, ge=1, description="semantic code length (L_se << L_sf)")
    d_se: int = Field(8, ge=1, description="semantic code width (d_se << d_sf)")
    rf_channels: tuple[int, int, int] = (8, 16, 32)
    fusion_heads: int = Field(4, ge=1)
    decoder: Literal[DECODER_KINDS] = "llama"
    decoder_path: str | None = Field(None, description="local Hugging Face causal-LM directory; None: SmolLM2")
    decoder_layers: int = Field(4, ge=1, description="leading LLM layers kept")
    lora_r: int = Field(8, ge=1)
    lora_layers: int = Field(4, ge=1, description="LoRA on this many last kept layers")
    tram_layers: int = Field(2, ge=1)
    tram_heads: int = Field(4, ge=1)
    dropout: float = Field(0.1, ge=0, lt=1)
    num_classes: int = Field(len(CLASSES), ge=2)
    # Where the paper is silent or its form loses what the physics gives, a switch keeps the printed form
    # (README "Learning"): the defaults are the physics-keeping choices.
    rf_front_end: Literal["physics", "paper"] = Field(
        "physics", description="physics: matched filter over fast time and DFTs over chirps and array rows/columns "
        "before the complex CNN; paper: the raw echo (Eqs. 22-26 as printed)")
    detection_input: bool = Field(True, description="embed the device's own radar detection (data/detections.py) "
                                  "into the RF tokens")
    camera_cue: bool = Field(True, description="pool the camera feature around the device's radar detection "
                             "projected into its image (RF+camera schemes only)")
    head_prior: bool = Field(True, description="the heads refine the detection's estimate (logit of the prior "
                             "added before the sigmoid) instead of Eq. 46's plain sigmoid")
    head_feature_drop: float = Field(0.5, ge=0, lt=1, description="a head that reads the detection drops a "
                                     "sample's whole learned feature with this probability in training (models "
                                     "without a link; the stage-2 center keeps every feature)")
    gating: bool = Field(False, description="MMSense's modality gating of the RF and camera features in RVFN")
    tram_residual: Literal["zero_init", "paper"] = Field(
        "zero_init", description="zero_init: TRAM adds the collaborators' attention to the center's feature with "
        "zero-initialised output projections (stage 2 starts equal to MM-SD); paper: post-norm layers and Eq. 44")

    @model_validator(mode="after")
    def _sizes(self) -> ModelConfig:
        if self.L_se * self.d_se % 2:
            raise ValueError("model.L_se * model.d_se must be even (pairs of values form one complex symbol)")
        if self.L_se > self.L_sf or self.d_se > self.d_sf:
            raise ValueError("model.L_se/d_se must not exceed L_sf/d_sf: the code compresses the feature")
        if self.d_sf % self.fusion_heads or self.d_sf % self.tram_heads:
            raise ValueError("model.d_sf must be divisible by fusion_heads and tram_heads")
        if self.lora_layers > self.decoder_layers:
            raise ValueError("model.lora_layers must not exceed model.decoder_layers")
        return self

    @property
    def modality(self) -> str:
        return SCHEMES[self.scheme][0]

    @property
    def multi_device(self) -> bool:
        return SCHEMES[self.scheme][1]

    @property
    def lossless(self) -> bool:
        return SCHEMES[self.scheme][2]


class TrainConfig(_Strict):
    seed: int = 0
    batch_size: int = Field(32, ge=1)
    epochs_stage1: int = Field(2, ge=1)
    epochs_stage2: int = Field(2, ge=1)
    max_steps_per_epoch: int | None = Field(None, ge=1, description="cap for quick runs")
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    loss_weights: tuple[float, float, float, float, float] = (50.0, 50.0, 50.0, 50.0, 1.0)
    uncertainty_loss: bool = Field(False, description="uncertainty-weighted multi-task loss (MMSense) instead")
    snr_range_db: tuple[float, float] = (0.0, 25.0)
    num_workers: int = Field(0, ge=0)
    warmup_fraction: float = Field(0.1, ge=0, lt=1, description="linear learning-rate warm-up, then cosine decay")
    patience: int | None = Field(3, ge=1, description="stop after this many epochs without a better validation "
                                 "loss (None: never)")
    drop_probability: float = Field(0.25, ge=0, le=1, description="stage 2: each collaborator dropped per sample")
    drop_all_fraction: float = Field(0.1, ge=0, le=1, description="stage 2: batches with every collaborator dropped")


def load_section(section: str, preset: str | None = None, overrides: dict | None = None):
    """Model or training config of a preset (``model:`` / ``train:`` in config/presets/<preset>.yaml)."""
    schema = {"model": ModelConfig, "train": TrainConfig}[section]
    data: dict = {}
    if preset:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
        data = (yaml.safe_load((CONFIG_DIR / "presets" / f"{preset}.yaml").read_text()) or {}).get(section, {})
    return schema.model_validate(_deep_merge(data, overrides or {}))
