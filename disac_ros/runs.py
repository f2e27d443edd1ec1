"""A training run directory: its layout, its configs and loading its models, in one place.

Layout (written by :mod:`disac_ros.training`)::

    RUN/run.json                          the run's identity (model + train config, the world digest and the
                                          dataset digest of its data, the device list) and its ``provenance``
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

A run remembers the world it was trained in by the scene config's digest (:meth:`disac_ros.config.SceneConfig.
digest`, ``data_config_digest`` in ``run.json``); :meth:`Run.check_data` and :meth:`Run.check_scene` refuse a
dataset or a live scene of another world, naming both digests, and accept a dataset of the same world drawn with
another seed, other sequences or other split sizes (the data it was trained on: ``dataset_digest``).

``provenance`` in ``run.json`` (:mod:`disac_ros.provenance`) says what made the run: the language model's file,
package, version and SHA-256, package versions, the code's commit and dirty flag, the dataset's digests and seed,
the machine, and per stage its wall time, epochs and the commit and host it ran on. It is refreshed whenever the run
is opened for training and as stages finish, but never compared: :meth:`Run.create` re-opens a run whose identity
(everything else in ``run.json``, :attr:`Run.config`) equals the new one.

    run = Run("runs/demo")
    model = run.load_device_model("device_1")      # RVFN + LSTN + head, eval mode
    tram = run.load_center_model()                 # the default center's TRAM + heads
"""
from __future__ import annotations

import json
import logging
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from disac_ros.config import ModelConfig, SceneConfig, TrainConfig
from disac_ros.data import store
from disac_ros.files import locked, write_json_atomic

if TYPE_CHECKING:  # torch loads only with the first model: the launch file imports this module for default_run
    import torch

log = logging.getLogger(__name__)

RUN_FILE = "run.json"
PROVENANCE = "provenance"
MANIFEST_FILE = "data_manifest.json"
WEIGHTS = "model.safetensors"


def pick_device() -> torch.device:
    """CUDA when present, else the CPU."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def default_data(preset: str | None = None, seed: int | None = None, sequences: int | None = None,
                 split: tuple[float, float, float] | None = None) -> Path:
    """Where ``disac demo`` and ``disac benchmark`` put the dataset of a preset: ``data/<preset>-<dataset digest>``.

    An edited scene, or the preset's world drawn with another ``seed``, number of ``sequences`` or ``split``
    (:func:`disac_ros.config.sampling_overrides`), gets its own directory.
    """
    from disac_ros.config import load_scene, sampling_overrides

    preset = preset or "default"
    scene = load_scene(preset=preset, overrides=sampling_overrides(seed, sequences, split))
    return Path(f"data/{preset}-{scene.dataset_digest()[:8]}")


def default_run(preset: str | None = None) -> Path:
    """Where ``disac demo`` trains a preset's model (and ``disac launch`` looks for it): ``runs/<preset>-<digest>``."""
    return Path("runs") / default_data(preset).name


def run_record(model_cfg: ModelConfig, train_cfg: TrainConfig, manifest: dict) -> dict:
    """The identity part of ``run.json`` for these configs on the dataset of ``manifest`` (no provenance)."""
    return {"model": model_cfg.model_dump(mode="json"), "train": train_cfg.model_dump(mode="json"),
            "data_config_digest": manifest["config_digest"], "dataset_digest": manifest["dataset_digest"],
            "devices": [d["id"] for d in manifest["devices"]]}


def _update_provenance(path: Path, change) -> dict:
    """Apply ``change(provenance)`` to ``path/run.json`` under the lock; returns the new provenance."""
    with locked(path):  # stage-1 jobs of one run may finish at once
        record = json.loads((path / RUN_FILE).read_text())
        provenance = record.get(PROVENANCE) or {}
        change(provenance)
        provenance["updated_utc"] = _provenance().utc_now()
        record[PROVENANCE] = provenance
        write_json_atomic(path / RUN_FILE, record)
    return provenance


def _provenance():
    from disac_ros import provenance

    return provenance


def check_scene(source: str, scene_digest: str, devices: list[str], center: str, scene: SceneConfig,
                num_devices: int | None = None) -> None:
    """Refuse a live ``scene`` that ``source`` (a run, an artifact) was not trained in, naming both digests.

    Also refuse one whose first ``num_devices`` devices are not among ``devices`` with ``center`` first.
    """
    if scene.digest() != scene_digest:
        raise ValueError(f"{source} was trained in world digest {scene_digest}, but the scene to run has world "
                         f"digest {scene.digest()} (another layout, devices, radar, camera, targets or noise "
                         "models): pass the scene config and preset the run was trained with")
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
    deployed device runs (RVFN + semantic encoder). With the radar-cued crop (``camera.crop``) the camera input is
    already isolated around the detection, so the camera branch is not cued again (``camera_cue`` off).
    """
    import torch

    from disac_ros.data.crops import model_image_shape
    from disac_ros.models.llm_disac import DeviceModel
    from disac_ros.sim.radar import delayed_replicas

    image, echo = model_image_shape(manifest), store.input_shapes(manifest)[1]
    if manifest["config"]["camera"].get("crop"):
        model_cfg = model_cfg.model_copy(update={"camera_cue": False})
    radar = store.scene_config(manifest).radar
    replicas = torch.from_numpy(delayed_replicas(radar))
    return DeviceModel(model_cfg, image_size=image[:2], echo_shape=echo, link=link, replicas=replicas,
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
        record: dict = json.loads((self.path / RUN_FILE).read_text())
        #: What the run is (compared on resuming; ``state.pt`` and checkpoints are bound to it).
        self.config: dict = {k: v for k, v in record.items() if k != PROVENANCE}
        #: What made it (:mod:`disac_ros.provenance`; empty for a run trained before it was recorded).
        self.provenance: dict = record.get(PROVENANCE) or {}
        self.manifest: dict = json.loads((self.path / MANIFEST_FILE).read_text())

    @classmethod
    def create(cls, path: str | Path, model_cfg: ModelConfig, train_cfg: TrainConfig, data: str | Path) -> Run:
        """Start a run of these configs on ``data``, or re-open one started with exactly the same configs.

        The dataset's manifest (without its chunk list) is kept beside ``run.json``: shapes, classes, normalisation
        and the scene config are what inference needs without the dataset. The run's ``provenance`` is refreshed
        with this invocation's (language model, packages, commit, machine); it never decides whether a run is
        re-opened.
        """
        path = Path(path)
        manifest = store.load_manifest(data)
        record = run_record(model_cfg, train_cfg, manifest)
        now = _provenance().collect(model_cfg, manifest)
        if (path / RUN_FILE).exists():
            run = cls(path)
            if run.config != record:
                differs = sorted(k for k in set(run.config) | set(record) if run.config.get(k) != record.get(k))
                raise ValueError(f"{path} holds a run with another config or dataset (differs in: "
                                 f"{', '.join(differs)}); choose a new --out")
            before = (run.provenance.get("language_model") or {}).get("sha256")
            after = (now["language_model"] or {}).get("sha256")
            if before and after and before != after:
                log.warning("%s was trained so far with language model %s (SHA-256 %s); it goes on with %s", path,
                            run.provenance["language_model"]["file"], before, after)
            run.provenance = _update_provenance(path, lambda p: p.update(now))
            return run
        path.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path / MANIFEST_FILE, {k: v for k, v in manifest.items() if k != "chunks"})
        write_json_atomic(path / RUN_FILE, {**record, PROVENANCE: {"created_utc": now["recorded_utc"], **now,
                                                                  "stages": {}}})
        return cls(path)

    def note_stage(self, stage: str, seconds: float, epochs: int | None = None) -> None:
        """Record in ``provenance.stages`` that ``stage`` (e.g. ``stage1/device_1``) trained ``epochs`` epochs now.

        Wall seconds add up over the invocations that trained it (a resumed stage), with the commit, dirty flag,
        host and language model of the last; a call that trained nothing (``epochs`` 0) changes nothing. ``epochs``
        None: a step without epochs (a hand-over), done once more.
        """
        if epochs is not None and epochs <= 0:
            return
        prov = _provenance()
        code, lm = prov.code(), self.provenance.get("language_model") or {}

        def change(p: dict) -> None:
            old = p.setdefault("stages", {}).get(stage, {})
            entry = {"seconds": round(old.get("seconds", 0.0) + seconds, 2),
                     "invocations": old.get("invocations", 0) + 1}
            if epochs is not None:
                entry["epochs"] = old.get("epochs", 0) + epochs
            p["stages"][stage] = {**entry, "finished_utc": prov.utc_now(), "commit": code["commit"],
                                  "dirty": code["dirty"], "host": prov.machine()["host"],
                                  "language_model_sha256": lm.get("sha256")}

        self.provenance = _update_provenance(self.path, change)

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
        """The digest of the world the run was trained in (:meth:`SceneConfig.digest`)."""
        return self.config["data_config_digest"]

    @property
    def dataset_digest(self) -> str | None:
        """The digest of the dataset it was trained on (:meth:`SceneConfig.dataset_digest`; None: an older run)."""
        return self.config.get("dataset_digest")

    def trained_on(self, manifest: dict) -> bool:
        """Whether ``manifest`` is the dataset the run was trained on (not only one of its world)."""
        return self.dataset_digest is not None and manifest.get("dataset_digest") == self.dataset_digest

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
    def model_image_shape(self) -> tuple[int, int, int]:
        """RVFN's camera input [H, W, 3]: the radar-cued crop or the whole image (:mod:`disac_ros.data.crops`)."""
        from disac_ros.data.crops import model_image_shape

        return model_image_shape(self.manifest)

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

    @property
    def eval_dir(self) -> Path:
        """Where evaluations keep their per-sample records: ``RUN/eval``.

        :func:`~disac_ros.evaluation.offline.records_path`.
        """
        return self.path / "eval"

    def for_data(self, manifest: dict, split: str) -> Run:
        """This run to evaluate ``split`` of the dataset of ``manifest`` on.

        Itself on its own training data, else an :class:`OtherDataRun` that keeps what that dataset's evaluation
        computes apart from the run's own files.
        """
        self.check_data_manifest(manifest)
        return self if self.trained_on(manifest) else OtherDataRun(self.path, manifest, split)

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
        """The manifest of ``data``; refuses a dataset of another world than the run's, naming both digests.

        A dataset of the same world with another seed, sequence count or split sizes is accepted.
        """
        return self.check_data_manifest(store.load_manifest(data), data)

    def check_data_manifest(self, manifest: dict, data: str | Path | None = None) -> dict:
        """:meth:`check_data` of a manifest already read (``data``: the directory it names, for the message)."""
        if manifest["config_digest"] != self.scene_digest:
            raise ValueError(f"{self.path} was trained in world digest {self.scene_digest}, but "
                             f"{data or 'the dataset'} was generated in world digest {manifest['config_digest']} "
                             "(another layout, devices, radar, camera, targets or noise models); use a dataset of the "
                             "run's world (another seed or size is fine)")
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
        load_weights(decoder, self.decoder_file(device_id), self.weights_config)
        return for_inference(decoder.to(device or "cpu").eval().requires_grad_(False), precision)

    def decoder_file(self, device_id: str) -> Path:
        """The decoder's weights ``device_id`` handed over: ``handover/<device>/decoder.safetensors``."""
        return self.handover_dir(device_id) / "decoder.safetensors"

    def load_center_model(self, center: str | None = None, device: torch.device | None = None):
        """The trained stage-2 TRAM + heads of ``center`` (default: the run's first device), eval mode."""
        from disac_ros.checkpoint import load_weights
        from disac_ros.models.llm_disac import CenterModel
        model = CenterModel(self.model_cfg, detection_layout())
        load_weights(model, self.stage2_dir(center) / WEIGHTS, self.weights_config)
        return model.to(device or "cpu").eval()


class OtherDataRun(Run):
    """A run evaluated on a dataset of its world that it was not trained on (another seed, size or split).

    Sample keys (sequence, chunk, frame, target) of two datasets coincide, so nothing computed from that dataset may
    land where the run keeps its own: the collaborators' codes of ``split`` are encoded from their stage-1 models
    into ``RUN/eval/data-<dataset digest>/handover-<split>/<device>/codes.safetensors``
    (:func:`disac_ros.evaluation.offline.encode_codes`; what :class:`~disac_ros.training.center.CenterSide` then
    reads as each collaborator's hand-over), and per-sample records go under ``RUN/eval/data-<dataset digest>/``
    (:attr:`eval_dir`). The decoders, and every model, are the run's own.
    """

    def __init__(self, path: str | Path, manifest: dict, split: str):
        super().__init__(path)
        self.data_manifest, self.split = manifest, split
        self._eval_dir = self.path / "eval" / f"data-{manifest['dataset_digest']}"

    @property
    def eval_dir(self) -> Path:
        return self._eval_dir

    def handover_dir(self, device_id: str) -> Path:
        return self._eval_dir / f"handover-{self.split}" / device_id

    def decoder_file(self, device_id: str) -> Path:
        return Run.handover_dir(self, device_id) / "decoder.safetensors"
