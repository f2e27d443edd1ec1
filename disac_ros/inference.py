"""Inference API for the ROS nodes (and scripts): load a trained run once, then encode and aggregate.

    system = LLMDiSAC.load("runs/demo")
    codes = system.encode("device_1", image, echoes)               # on device_1: [N, L_se, d_se] float32
    states = system.aggregate(center_image, center_echoes,          # at the center (device_0)
                              {"device_1": Received(codes, snr_db=12.0, distance_m=25.0)})

``encode`` is Algorithm 2 + Eq. (36) on one device; ``aggregate`` decodes every received code with the
sender's decoder prompted with its link's SNR and distance (Alg. 3), fuses with TRAM (Alg. 4) and returns
each target's class and motion parameters in SI units. Inputs are checked; a wrong shape, dtype or NaN
raises ``ValueError`` saying what was expected.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from disac_ros.data.detections import DeviceDetector
from disac_ros.data.store import normalization_arrays
from disac_ros.models.link import relative_poses
from disac_ros.models.llm_disac import CenterModel, DeviceModel
from disac_ros.runs import Run, pick_device


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


class LLMDiSAC:
    """A trained run: per-device encoders, the center's RVFN, the collaborators' decoders and TRAM."""

    def __init__(self, run: Run | str | Path, device: torch.device | None = None):
        self.run = run if isinstance(run, Run) else Run(run)
        self.model_cfg = self.run.model_cfg
        self.device = device or pick_device()
        self.device_ids = self.run.devices
        self.center = self.run.center
        self.classes = self.run.classes
        self.target_classes = self.run.target_classes
        self.offset, self.scale = normalization_arrays(self.run.manifest)
        self.image_shape, self.echo_shape, self.code_shape = self.run.image_shape, self.run.echo_shape, \
            self.run.code_shape
        self._devices: dict[str, DeviceModel] = {}
        self._detectors: dict[str, DeviceDetector] = {}
        self._center_model: CenterModel | None = None
        self._center_features: DeviceModel | None = None

    @classmethod
    def load(cls, run: str | Path, device: torch.device | None = None) -> LLMDiSAC:
        """The run at ``run``; ``FileNotFoundError`` saying how to make one when it is not a run."""
        return cls(run, device)

    # -- models, loaded on first use ------------------------------------------------------------
    def device_model(self, device_id: str) -> DeviceModel:
        if device_id not in self._devices:
            self._devices[device_id] = self.run.load_device_model(device_id, self.device)
        return self._devices[device_id]

    def center_model(self) -> CenterModel:
        if self._center_model is None:
            self._center_model = self.run.load_center_model(self.center, self.device)
        return self._center_model

    def center_features_model(self) -> DeviceModel:
        """The center's own RVFN + head (no link; the single-device model for single-device schemes)."""
        if self._center_features is None:
            self._center_features = self.run.load_center_features(self.center, self.device) \
                if self.model_cfg.multi_device else self.device_model(self.center)
        return self._center_features

    def detect(self, device_id: str, echoes: np.ndarray) -> torch.Tensor:
        """The device's own radar detections [N, D] of its echoes (``data/detections.py``), on the model's device."""
        if device_id not in self._detectors:
            self._detectors[device_id] = DeviceDetector(self.run.manifest, device_id)
        return torch.from_numpy(self._detectors[device_id](echoes)).to(self.device)

    # -- input checks -----------------------------------------------------------------------------
    def _check(self, name: str, array: np.ndarray, dtype, shape: tuple) -> np.ndarray:
        array = np.asarray(array)
        if array.dtype != dtype or array.shape != shape:
            raise ValueError(f"{name} must be {np.dtype(dtype).name} {list(shape)}, "
                             f"got {array.dtype} {list(array.shape)}")
        if np.issubdtype(array.dtype, np.inexact) and not np.isfinite(array).all():
            raise ValueError(f"{name} contains NaN or inf")
        return array

    def _inputs(self, image: np.ndarray, echoes: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        n = len(self.target_classes)
        image = self._check("image", image, np.uint8, self.image_shape)
        echoes = self._check("echoes", echoes, np.complex64, (n, *self.echo_shape))
        img = torch.from_numpy(image).permute(2, 0, 1).float().div(255.0)
        return img.expand(n, -1, -1, -1).to(self.device), torch.from_numpy(echoes).to(self.device)

    # -- the two halves of the pipeline -----------------------------------------------------------
    @torch.no_grad()
    def encode(self, device_id: str, image: np.ndarray, echoes: np.ndarray) -> np.ndarray:
        """Codes [N, L_se, d_se] of every target seen by ``device_id`` (RGB uint8 image, complex64 echoes)."""
        model = self.device_model(device_id)
        img, echo = self._inputs(image, echoes)
        return model.encode(img, echo, self.detect(device_id, echoes)).cpu().numpy().astype(np.float32)

    @torch.no_grad()
    def aggregate(self, center_image: np.ndarray, center_echoes: np.ndarray,
                  received: dict[str, Received]) -> list[TargetEstimate]:
        """Decode whatever arrived (any subset of collaborators, any order), fuse with TRAM, predict in SI units."""
        n = len(self.target_classes)
        img, echo = self._inputs(center_image, center_echoes)
        center = self.center_features_model()
        detection = self.detect(self.center, center_echoes)
        feats = center.features(img, echo, detection)                             # [N, L_sf, d_sf]
        decoded = []
        for device_id, rx in sorted(received.items()):
            if device_id == self.center:
                raise ValueError(f"{device_id} is the aggregation center; it does not receive its own codes")
            codes = self._check(f"codes from {device_id}", rx.codes, np.float32, (n, *self.code_shape))
            if not (np.isfinite(rx.snr_db) and np.isfinite(rx.distance_m)):
                raise ValueError(f"link of {device_id}: snr_db and distance_m must be finite")
            snr = torch.full((n,), float(rx.snr_db), device=self.device)
            dist = torch.full((n,), float(rx.distance_m), device=self.device)
            decoder = self.device_model(device_id)
            decoded.append(decoder.decode(torch.from_numpy(codes).to(self.device), snr, dist))
        stacked = torch.stack(decoded, 1) if decoded else feats.new_zeros(n, 0, *feats.shape[1:])
        if self.model_cfg.multi_device:
            poses = torch.from_numpy(relative_poses(self.run.scene, self.center, sorted(received))).to(self.device)
            pred = self.center_model()(feats, stacked, None, poses, center.head_input(detection))
        else:
            pred = center.head(feats, center.head_input(detection))
        reg = pred["regression"].cpu().numpy() * self.scale + self.offset
        probs = torch.softmax(pred["logits"], dim=-1).cpu().numpy()
        contributors = [self.center, *sorted(received)]
        return [TargetEstimate(target_id=t, class_id=int(probs[t].argmax()), label=self.classes[int(probs[t].argmax())],
                               class_probabilities=probs[t].tolist(), distance=float(reg[t, 0]),
                               azimuth=float(reg[t, 1]), pitch=float(reg[t, 2]), radial_velocity=float(reg[t, 3]),
                               contributing_devices=contributors) for t in range(n)]
