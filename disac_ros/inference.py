"""Inference API for the ROS nodes (and scripts): each side loads only its half (:mod:`disac_ros.deploy`).

    device = SensingDevice.load("runs/demo", "device_1")           # on device_1: RVFN + semantic encoder
    codes = device.encode(image, echoes)                             # [N, L_se, d_se] float32
    center = AggregationCenter.load("runs/demo")                    # at the center (device_0)
    states = center.aggregate(center_image, center_echoes, {"device_1": Received(codes, snr_db=12.0,
                                                                                 distance_m=25.0)})

``path`` is an artifact folder written by ``disac export`` or a run directory (exported on the fly into
``RUN/export``). ``encode`` is Algorithm 2 + Eq. (36) on one device; ``aggregate`` decodes every received code with
the sender's hand-over decoder prompted with its link's SNR and distance (Alg. 3), fuses with TRAM (Alg. 4) and
returns each target's class and motion parameters in SI units. A live center does the same in pieces as the
inputs arrive (``center.start(image, echoes)``, ``.add(device, received)``, ``.finish(received)``:
:class:`PartialAggregate`). Inputs are checked; a wrong shape, dtype or NaN raises ``ValueError`` saying what was
expected.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from disac_ros.checkpoint import load_trainable
from disac_ros.config import ModelConfig
from disac_ros.data import store
from disac_ros.data.crops import device_crops
from disac_ros.data.detections import DeviceDetector
from disac_ros.deploy import Artifact, read_artifact, resolve
from disac_ros.models.link import relative_poses
from disac_ros.models.llm_disac import CenterModel, DeviceModel
from disac_ros.runs import build_device_model, check_scene, detection_layout, pick_device


@dataclass
class Received:
    """One collaborator's codes for all targets as they arrived, with the link they crossed."""

    codes: np.ndarray          # [N, L_se, d_se] float32
    snr_db: float
    distance_m: float


@dataclass
class TargetEstimate:
    target_id: int
    class_id: int
    label: str
    class_probabilities: list[float]
    distance: float            # m
    azimuth: float             # rad
    pitch: float               # rad
    radial_velocity: float     # m/s
    contributing_devices: list[str] = field(default_factory=list)


def check_array(name: str, array: np.ndarray, dtype, shape: tuple) -> np.ndarray:
    """``array`` when it has ``dtype`` and ``shape`` and (for floats) only finite values, else ``ValueError``."""
    array = np.asarray(array)
    if array.dtype != dtype or array.shape != shape:
        raise ValueError(f"{name} must be {np.dtype(dtype).name} {list(shape)}, got {array.dtype} {list(array.shape)}")
    if np.issubdtype(array.dtype, np.inexact) and not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or inf")
    return array


class _Side:
    """What both halves share: the artifact's config and shapes, the input checks, the device's detector."""

    def __init__(self, artifact: Artifact, device: torch.device | None = None):
        self.artifact, self.meta = artifact, artifact.meta
        self.manifest = self.meta["manifest"]
        self.model_cfg = ModelConfig.model_validate(self.meta["weights"]["model"])
        self.scene_digest = self.meta["weights"]["data_config_digest"]
        self.device = device or pick_device()
        self.center, self.device_ids = self.meta["center"], list(self.meta["devices"])
        self.classes = list(self.manifest["classes"])
        self.target_classes = [t["class_id"] for t in self.manifest["targets"]]
        self.image_shape, self.echo_shape = store.input_shapes(self.manifest)
        self.code_shape = (self.model_cfg.L_se, self.model_cfg.d_se)
        self.scene = store.scene_config(self.manifest)
        self.frame_period_s = 1.0 / self.scene.dataset.fps   # sim seconds between two frames
        self._detectors: dict[str, DeviceDetector] = {}

    def check_scene(self, scene, num_devices: int | None = None) -> None:
        """Refuse a live scene that is not the one the weights were trained in, or devices they do not know."""
        check_scene(str(self.artifact.path), self.scene_digest, self.device_ids, self.center, scene, num_devices)

    def inputs(self, device_id: str, image: np.ndarray, echoes: np.ndarray):
        """(images [N, 3, H, W], echoes [N, C, A, S], detections [N, D]) of one frame, checked, on the device.

        With ``camera.crop`` the images are the targets' radar-cued crops of ``image``
        (:func:`disac_ros.data.crops.device_crops`, as the generator stores them).
        """
        n = len(self.target_classes)
        image = check_array("image", image, np.uint8, self.image_shape)
        echoes = check_array("echoes", echoes, np.complex64, (n, *self.echo_shape))
        if device_id not in self._detectors:
            self._detectors[device_id] = DeviceDetector(self.manifest, device_id)
        detector = self._detectors[device_id]
        est = detector.estimates(echoes)
        detection = torch.from_numpy(detector.features(est)).to(self.device)
        if self.scene.camera.crop:
            camera = self.manifest["cameras"][device_id]
            crops = device_crops(image, est, self.scene, detector.k, np.asarray(camera["intrinsics"]),
                                 np.asarray(camera["extrinsics"]))
            img = torch.from_numpy(crops).permute(0, 3, 1, 2).float().div(255.0).to(self.device)
        else:  # one image for all targets, expanded (not copied): the camera backbone then runs once per frame
            img = torch.from_numpy(image).permute(2, 0, 1).float().div(255.0).to(self.device).expand(n, -1, -1, -1)
        return img, torch.from_numpy(echoes).to(self.device), detection


class SensingDevice(_Side):
    """One collaborating device's half: RVFN + semantic encoder (``model``), nothing of the decoder or TRAM."""

    def __init__(self, artifact: Artifact, device: torch.device | None = None):
        super().__init__(artifact, device)
        self.device_id, self.pose = self.meta["device_id"], self.meta["pose"]
        model = build_device_model(self.model_cfg, self.manifest, link=True, transmitter_only=True)
        self.model: DeviceModel = load_trainable(model, artifact.tensors, artifact.path).to(self.device).eval()

    @classmethod
    def load(cls, path: str | Path, device_id: str, device: torch.device | None = None) -> SensingDevice:
        """``device_id``'s artifact at ``path`` (an artifact folder, a folder of them, or a run directory)."""
        return cls(read_artifact(resolve(path, "device", device_id), "device", device_id=device_id), device)

    @torch.inference_mode()
    def encode(self, image: np.ndarray, echoes: np.ndarray) -> np.ndarray:
        """Codes [N, L_se, d_se] of every target (RGB uint8 image [H, W, 3], complex64 echoes [N, C, A, S])."""
        img, echo, detection = self.inputs(self.device_id, image, echoes)
        return self.model.encode(img, echo, detection).cpu().numpy().astype(np.float32)


class AggregationCenter(_Side):
    """The center's half: its own RVFN + head, the collaborators' hand-over decoders, TRAM + heads.

    ``features_model`` (no link), ``decoders`` {device: decoder}, ``center_model`` (None for single-device schemes).
    ``decoder_precision``: "float32" (as trained) or "int8" (:func:`disac_ros.models.decoders.for_inference`; on a
    CPU only: on CUDA the decoders stay float32).
    """

    def __init__(self, artifact: Artifact, device: torch.device | None = None, decoder_precision: str = "float32"):
        from disac_ros.models.decoders import build_decoder, for_inference

        super().__init__(artifact, device)
        self.collaborators = list(self.meta["collaborators"])
        self.offset, self.scale = store.normalization_arrays(self.manifest)
        own = build_device_model(self.model_cfg, self.manifest, link=False)
        self.features_model: DeviceModel = load_trainable(own, artifact.part("own."), artifact.path) \
            .to(self.device).eval()
        precision = decoder_precision if self.device.type == "cpu" else "float32"
        self.decoders = {k: for_inference(load_trainable(build_decoder(self.model_cfg), artifact.part(f"decoder.{k}."),
                                                         artifact.path).to(self.device).eval().requires_grad_(False),
                                          precision)
                         for k in self.collaborators}
        self.decoder_precision = precision
        self.center_model: CenterModel | None = None
        if self.model_cfg.multi_device:
            model = CenterModel(self.model_cfg, detection_layout())
            self.center_model = load_trainable(model, artifact.part("tram."), artifact.path).to(self.device).eval()

    @classmethod
    def load(cls, path: str | Path, center: str | None = None, device: torch.device | None = None,
             decoder_precision: str = "float32") -> AggregationCenter:
        """The center's artifact at ``path`` (an artifact folder, a folder of them, or a run directory)."""
        expected = {"center": center} if center else {}
        return cls(read_artifact(resolve(path, "center", center), "center", **expected), device, decoder_precision)

    def aggregate(self, center_image: np.ndarray, center_echoes: np.ndarray,
                  received: dict[str, Received]) -> list[TargetEstimate]:
        """Decode whatever arrived (any subset of collaborators, any order), fuse with TRAM, predict in SI units."""
        return self.start(center_image, center_echoes).finish(received)

    def start(self, center_image: np.ndarray, center_echoes: np.ndarray) -> PartialAggregate:
        """The aggregation of one frame done as its inputs arrive: the center's own features now (see the class)."""
        return PartialAggregate(self, center_image, center_echoes)


class PartialAggregate:
    """One center frame's aggregation in pieces, so a live center works while it waits for its collaborators.

    The same estimates as :meth:`AggregationCenter.aggregate` (which is ``start(...).finish(received)``). Built
    when the center's frame arrives (its RVFN features at once); :meth:`add` decodes one collaborator's codes when
    they are complete; :meth:`finish` decodes what was not added (or changed since), fuses with TRAM and predicts.
    ``busy_s``: the wall time spent in this object's model calls.
    """

    def __init__(self, center: AggregationCenter, image: np.ndarray, echoes: np.ndarray):
        self.center, self.busy_s = center, 0.0
        with self._busy():
            img, echo, self.detection = center.inputs(center.center, image, echoes)
            self.features = center.features_model.features(img, echo, self.detection)       # [N, L_sf, d_sf]
        self._decoded: dict[str, tuple[Received, torch.Tensor]] = {}

    @contextmanager
    def _busy(self):
        t0 = time.perf_counter()
        with torch.inference_mode():
            yield
        self.busy_s += time.perf_counter() - t0

    def add(self, device_id: str, rx: Received) -> None:
        """Decode ``device_id``'s codes now (Alg. 3): [N, L_se, d_se] -> s_hat [N, L_sf, d_sf]."""
        c, n = self.center, len(self.center.target_classes)
        if device_id not in c.decoders:
            raise ValueError(f"{device_id} is not a collaborator of center {c.center} ({c.collaborators})")
        codes = check_array(f"codes from {device_id}", rx.codes, np.float32, (n, *c.code_shape))
        if not (np.isfinite(rx.snr_db) and np.isfinite(rx.distance_m)):
            raise ValueError(f"link of {device_id}: snr_db and distance_m must be finite")
        with self._busy():
            snr = torch.full((n,), float(rx.snr_db), device=c.device)
            dist = torch.full((n,), float(rx.distance_m), device=c.device)
            self._decoded[device_id] = (rx, c.decoders[device_id](torch.from_numpy(codes).to(c.device), snr, dist))

    def _has(self, device_id: str, rx: Received) -> bool:
        done = self._decoded.get(device_id)
        return done is not None and (done[0] is rx or (np.array_equal(done[0].codes, rx.codes) and
                                                       done[0].snr_db == rx.snr_db and
                                                       done[0].distance_m == rx.distance_m))

    def finish(self, received: dict[str, Received]) -> list[TargetEstimate]:
        """Fuse the center's features with every collaborator of ``received`` (Alg. 4) and predict in SI units."""
        for device_id, rx in sorted(received.items()):
            if not self._has(device_id, rx):
                self.add(device_id, rx)
        c, feats, n = self.center, self.features, len(self.center.target_classes)
        with self._busy():
            decoded = [self._decoded[k][1] for k in sorted(received)]
            stacked = torch.stack(decoded, 1) if decoded else feats.new_zeros(n, 0, *feats.shape[1:])
            own = c.features_model
            if c.center_model is not None:
                poses = torch.from_numpy(relative_poses(c.scene, c.center, sorted(received))).to(c.device)
                pred = c.center_model(feats, stacked, None, poses, own.head_input(self.detection))
            else:
                pred = own.head(feats, own.head_input(self.detection))
            reg = pred["regression"].cpu().numpy() * c.scale + c.offset
            probs = torch.softmax(pred["logits"], dim=-1).cpu().numpy()
        contributors = [c.center, *sorted(received)]
        return [TargetEstimate(target_id=t, class_id=int(probs[t].argmax()), label=c.classes[int(probs[t].argmax())],
                               class_probabilities=probs[t].tolist(), distance=float(reg[t, 0]),
                               azimuth=float(reg[t, 1]), pitch=float(reg[t, 2]), radial_velocity=float(reg[t, 3]),
                               contributing_devices=contributors) for t in range(n)]
