"""A training run directory: its layout, its configs and loading its models, in one place.

Layout (written by :mod:`disac_ros.training`)::

    RUN/run.json                          model + train config, the scene digest of the dataset, the device list
    RUN/data_manifest.json                the dataset's manifest without its chunk list: the scene config (device
                                          positions, camera, radar), shapes, classes, normalisation
    RUN/stage1/<device>/model.safetensors the device's RVFN + LSTN + local head (weights, config in metadata)
    RUN/center/<device>/...               multi-device schemes: the aggregation center's own RVFN + head, trained
                                          directly without a link (the MM-SD model of that device)
    RUN/stage1/<device>/state.pt          resume state (weights, optimizer, epoch, metrics history)
    RUN/stage1/<device>/metrics.csv       one row per epoch (train loss, validation metrics)
    RUN/handover/<device>/codes.safetensors    what a collaborator hands to the center: its semantic codes
    RUN/handover/<device>/decoder.safetensors  and its decoder's trained weights (LoRA + projections) - no raw data
    RUN/stage2/...                        TRAM + heads at the run's first device (model.safetensors, state.pt,
                                          metrics.csv)
    RUN/stage2-<device>/...               TRAM + heads with another device as the aggregation center

A run remembers the scene it was trained in by the scene config's digest (:meth:`disac_ros.config.SceneConfig.
digest`, ``data_config_digest`` in ``run.json``); :meth:`Run.check_data` and :meth:`Run.check_scene` refuse a
dataset or a live scene with another digest, naming both.

    run = Run("runs/demo")
    model = run.load_device_model("device_1")      # RVFN + LSTN + head, eval mode
    tram = run.load_center_model()                 # the default center's TRAM + heads
"""
from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from disac_ros.config import ModelConfig, SceneConfig, TrainConfig
from disac_ros.data import store
from disac_ros.files import write_json_atomic

if TYPE_CHECKING:  # torch loads only with the first model: the launch file imports this module for default_run
    import torch

RUN_FILE = "run.json"
MANIFEST_FILE = "data_manifest.json"
WEIGHTS = "model.safetensors"


def pick_device() -> torch.device:
    """CUDA when present, else the CPU."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def default_data(preset: str | None = None) -> Path:
    """Where ``disac demo`` and ``disac benchmark`` put the dataset of a preset: ``data/<preset>-<scene digest>``.

    An edited scene gets a new directory.
    """
    from disac_ros.config import load_scene

    preset = preset or "default"
    return Path(f"data/{preset}-{load_scene(preset=preset).digest()[:8]}")


def default_run(preset: str | None = None) -> Path:
    """Where ``disac demo`` trains a preset's model (and ``disac launch`` looks for it): ``runs/<preset>-<digest>``."""
    return Path("runs") / default_data(preset).name


def run_record(model_cfg: ModelConfig, train_cfg: TrainConfig, manifest: dict) -> dict:
    """The content of ``run.json`` for these configs on the dataset of ``manifest``."""
    return {"model": model_cfg.model_dump(mode="json"), "train": train_cfg.model_dump(mode="json"),
            "data_config_digest": manifest["config_digest"], "devices": [d["id"] for d in manifest["devices"]]}


def check_scene(source: str, scene_digest: str, devices: list[str], center: str, scene: SceneConfig,
                num_devices: int | None = None) -> None:
    """Refuse a live ``scene`` that ``source`` (a run, an artifact) was not trained in, naming both digests.

    Also refuse one whose first ``num_devices`` devices are not among ``devices`` with ``center`` first.
    """
    if scene.digest() != scene_digest:
        raise ValueError(f"{source} was trained in scene {scene_digest}, but the scene to run has digest "
                         f"{scene.digest()}: pass the scene config and preset the run was trained with")
    wanted = [d.id for d in scene.devices][: num_devices or len(scene.devices)]
    if [d for d in wanted if d not in devices] or center != wanted[0]:
        raise ValueError(f"{source} has devices {devices} (center {center}); the scene needs {wanted}")


def detection_layout():
    """Where the parts of a detection vector are (:mod:`disac_ros.data.detections`), for the models."""
    from disac_ros.data import detections
    from disac_ros.models.heads import DetectionLayout

    return DetectionLayout(detections.NUM_FEATURES, detections.PRIOR, detections.CUE)


def build_device_model(model_cfg: ModelConfig, manifest: dict, link: bool | None = None,
                       transmitter_only: bool = False):
    """An untrained device model of ``model_cfg`` for the dataset of ``manifest`` (a run's, or an artifact's).

    The RF front end's delayed pulses come from the manifest's radar config, the detection layout from
    :mod:`disac_ros.data.detections`; ``link`` False builds the center's own model, ``transmitter_only`` what a
    deployed device runs (RVFN + semantic encoder).
    """
    import torch

    from disac_ros.models.llm_disac import DeviceModel
    from disac_ros.sim.radar import delayed_replicas

    image, echo = store.input_shapes(manifest)
    radar = store.scene_config(manifest).radar
    replicas = torch.from_numpy(delayed_replicas(radar))
    return DeviceModel(model_cfg, image_size=image[0], echo_shape=echo, link=link, replicas=replicas,
                       array_shape=(radar.array_rows, radar.array_cols), detection=detection_layout(),
                       transmitter_only=transmitter_only)


class Run:
    """An existing run directory (see the module docstring); :meth:`create` starts or resumes one."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        for name in (RUN_FILE, MANIFEST_FILE):
            if not (self.path / name).is_file():
                raise FileNotFoundError(f"{self.path} is not a training run (no {name}); train one with "
                                        f"`disac train` or `disac demo`")
        self.config: dict = json.loads((self.path / RUN_FILE).read_text())
        self.manifest: dict = json.loads((self.path / MANIFEST_FILE).read_text())

    @classmethod
    def create(cls, path: str | Path, model_cfg: ModelConfig, train_cfg: TrainConfig, data: str | Path) -> Run:
        """Start a run of these configs on ``data``, or re-open one started with exactly the same configs.

        The dataset's manifest (without its chunk list) is kept beside ``run.json``: shapes, classes, normalisation
        and the scene config are what inference needs without the dataset.
        """
        path = Path(path)
        manifest = store.load_manifest(data)
        record = run_record(model_cfg, train_cfg, manifest)
        if (path / RUN_FILE).exists():
            run = cls(path)
            if run.config != record:
                raise ValueError(f"{path} holds a run with another config or dataset; choose a new --out")
            return run
        path.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path / MANIFEST_FILE, {k: v for k, v in manifest.items() if k != "chunks"})
        write_json_atomic(path / RUN_FILE, record)
        return cls(path)

    # -- what the run is ------------------------------------------------------------------------------------
    @cached_property
    def model_cfg(self) -> ModelConfig:
        return ModelConfig.model_validate(self.config["model"])

    @cached_property
    def train_cfg(self) -> TrainConfig:
        return TrainConfig.model_validate(self.config["train"])

    @cached_property
    def scene(self) -> SceneConfig:
        """The scene config the run's dataset was generated from (device positions, camera, radar, targets)."""
        return store.scene_config(self.manifest)

    @property
    def scene_digest(self) -> str:
        return self.config["data_config_digest"]

    @property
    def devices(self) -> list[str]:
        return list(self.config["devices"])

    @property
    def center(self) -> str:
        """The default aggregation center: the run's first device."""
        return self.devices[0]

    def collaborators(self, center: str | None = None) -> list[str]:
        center = center or self.center
        return [d for d in self.devices if d != center]

    @property
    def classes(self) -> list[str]:
        return list(self.manifest["classes"])

    @property
    def target_classes(self) -> list[int]:
        """Class id of each target of the scene, in target-id order."""
        return [t["class_id"] for t in self.manifest["targets"]]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return store.input_shapes(self.manifest)[0]

    @property
    def echo_shape(self) -> tuple[int, int, int]:
        return store.input_shapes(self.manifest)[1]

    @property
    def code_shape(self) -> tuple[int, int]:
        return self.model_cfg.L_se, self.model_cfg.d_se

    @property
    def weights_config(self) -> dict:
        """What a checkpoint's weights depend on: the model config and the dataset (not epochs or learning rate)."""
        return {"model": self.config["model"], "data_config_digest": self.scene_digest}

    # -- layout ---------------------------------------------------------------------------------------------
    def stage1_dir(self, device_id: str) -> Path:
        return self.path / "stage1" / device_id

    def center_dir(self, device_id: str) -> Path:
        """Where the aggregation center's own (no-link) model is.

        ``RUN/center/<device>`` for multi-device schemes, the stage-1 model itself for single-device ones.
        """
        return self.path / "center" / device_id if self.model_cfg.multi_device else self.stage1_dir(device_id)

    def handover_dir(self, device_id: str) -> Path:
        return self.path / "handover" / device_id

    def stage2_dir(self, center: str | None = None) -> Path:
        """``RUN/stage2`` for the run's first device (``disac train``'s default center), else ``RUN/stage2-<center>``.

        Stage 1 does not depend on the center, so every center's stage 2 re-uses the same stage-1 models and
        hand-overs.
        """
        return self.path / "stage2" if center in (None, self.center) else self.path / f"stage2-{center}"

    def trained_centers(self) -> list[str]:
        """Devices that can serve as aggregation center, in the run's device order.

        Multi-device schemes: devices with a stage-2 model; single-device schemes: devices with a stage-1 model.
        """
        if self.model_cfg.multi_device:
            return [d for d in self.devices if (self.stage2_dir(d) / WEIGHTS).exists()]
        return [d for d in self.devices if (self.stage1_dir(d) / WEIGHTS).exists()]

    def handover_stale(self, device_id: str) -> bool:
        """Whether the device's stage-1 model is here and its hand-over is missing or older than it.

        A hand-over copied from another machine without the stage-1 model is never stale.
        """
        model = self.stage1_dir(device_id) / WEIGHTS
        files = [self.handover_dir(device_id) / name for name in ("codes.safetensors", "decoder.safetensors")]
        return model.exists() and not all(f.exists() and f.stat().st_mtime >= model.stat().st_mtime for f in files)

    # -- checks ---------------------------------------------------------------------------------------------
    def check_data(self, data: str | Path) -> dict:
        """The manifest of ``data``; refuses a dataset generated from another scene config than the run's."""
        manifest = store.load_manifest(data)
        if manifest["config_digest"] != self.scene_digest:
            raise ValueError(f"{self.path} was trained on scene {self.scene_digest}, but {data} was generated from "
                             f"scene {manifest['config_digest']}; use the dataset the run was trained on")
        return manifest

    def check_scene(self, scene: SceneConfig, num_devices: int | None = None) -> None:
        """Refuse a live scene that is not the one the run was trained in, or devices the run does not have."""
        check_scene(f"run {self.path}", self.scene_digest, self.devices, self.center, scene, num_devices)

    def _device(self, device_id: str) -> None:
        if device_id not in self.devices:
            raise ValueError(f"unknown device {device_id!r}; run {self.path} has {self.devices}")

    # -- models ---------------------------------------------------------------------------------------------
    def build_device_model(self, link: bool | None = None):
        """An untrained stage-1 model of this run (``link`` False: the center's own; :func:`build_device_model`)."""
        return build_device_model(self.model_cfg, self.manifest, link)

    def load_device_model(self, device_id: str, device: torch.device | None = None):
        """The trained stage-1 model of ``device_id`` (RVFN + LSTN + head), eval mode, on ``device`` (default CPU)."""
        from disac_ros.checkpoint import load_weights

        self._device(device_id)
        model = self.build_device_model()
        load_weights(model, self.stage1_dir(device_id) / WEIGHTS, self.weights_config)
        return model.to(device or "cpu").eval()

    def load_center_features(self, center: str | None = None, device: torch.device | None = None):
        """The aggregation center's own model (RVFN + head, no link; :meth:`center_dir`), eval mode."""
        from disac_ros.checkpoint import load_weights

        center = center or self.center
        self._device(center)
        model = self.build_device_model(link=False)
        load_weights(model, self.center_dir(center) / WEIGHTS, self.weights_config)
        return model.to(device or "cpu").eval()

    def load_decoder(self, device_id: str, device: torch.device | None = None, precision: str = "float32"):
        """The decoder ``device_id`` handed over to the center, frozen, in ``precision`` (``for_inference``).

        From ``handover/<device>/decoder.safetensors``; :func:`disac_ros.models.decoders.for_inference`.
        """
        from disac_ros.checkpoint import load_weights
        from disac_ros.models.decoders import build_decoder, for_inference
        self._device(device_id)
        decoder = build_decoder(self.model_cfg)
        load_weights(decoder, self.handover_dir(device_id) / "decoder.safetensors", self.weights_config)
        return for_inference(decoder.to(device or "cpu").eval().requires_grad_(False), precision)

    def load_center_model(self, center: str | None = None, device: torch.device | None = None):
        """The trained stage-2 TRAM + heads of ``center`` (default: the run's first device), eval mode."""
        from disac_ros.checkpoint import load_weights
        from disac_ros.models.llm_disac import CenterModel
        model = CenterModel(self.model_cfg, detection_layout())
        load_weights(model, self.stage2_dir(center) / WEIGHTS, self.weights_config)
        return model.to(device or "cpu").eval()
