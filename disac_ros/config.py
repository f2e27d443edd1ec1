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
import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator


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
    width: int = Field(128, ge=16, le=4096)
    height: int = Field(128, ge=16, le=4096)
    fov: float = Field(60.0, gt=1, lt=179, description="vertical field of view [deg]")
    far: float = Field(150.0, gt=1)


class DeviceConfig(_Strict):
    """A sensing device: camera and radar at one pose. The first device is the aggregation center."""

    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    position: tuple[float, float, float]
    lookat: tuple[float, float, float] = (0.0, 0.0, 0.5)


class TargetConfig(_Strict):
    """A moving target in uniform linear motion at ``speed`` m/s in a random direction per sequence."""

    type: TargetType
    speed: float = Field(ge=0, description="m/s")
    altitude: float | None = Field(None, ge=0, description="flight height [m] (drones)")
    scale: float = Field(1.0, gt=0)
    rcs: float | None = Field(None, gt=0, description="radar cross-section [m^2]; default by type")

    @property
    def radar_cross_section(self) -> float:
        return self.rcs if self.rcs is not None else DEFAULT_RCS[self.type]


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
    snr_db: float = Field(20.0, description="SNR of a 1 m^2 target at snr_reference_distance, per sample")
    snr_reference_distance: float = Field(10.0, gt=0)

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


class SceneConfig(_Strict):
    seed: int = 0
    world: WorldConfig = WorldConfig()
    camera: CameraConfig = CameraConfig()
    devices: list[DeviceConfig]
    targets: list[TargetConfig]
    obstacles: list[ObstacleConfig] = []
    radar: RadarConfig = RadarConfig()
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
            if tgt.speed > self.velocity_bound:
                raise ValueError(f"targets[{i}].speed {tgt.speed} exceeds velocity_bound {self.velocity_bound}")
        return self

    @property
    def center(self) -> DeviceConfig:
        """The aggregation center (the first device)."""
        return self.devices[0]

    def digest(self) -> str:
        """The scene's identity: 16 hex digits of the SHA-256 of its canonical JSON.

        A dataset records it (``config_digest`` in its manifest), a run records its dataset's (``data_config_digest``),
        and the live graph refuses a run trained in another scene.
        """
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:16]

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


def load_section(section: str, preset: str | None = None, overrides: dict | None = None):
    """Model or training config of a preset (``model:`` / ``train:`` in config/presets/<preset>.yaml)."""
    schema = {"model": ModelConfig, "train": TrainConfig}[section]
    data: dict = {}
    if preset:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
        data = (yaml.safe_load((CONFIG_DIR / "presets" / f"{preset}.yaml").read_text()) or {}).get(section, {})
    return schema.model_validate(_deep_merge(data, overrides or {}))
