"""PyTorch datasets over a generated dataset directory (see :mod:`disac_ros.data.store`).

* :class:`DeviceTargetDataset` - one sample per (frame, device, target): what one device sees of one
  target. Stage 1 of the two-stage training (Algorithm 5) trains each device on its own samples only
  (``devices=[device_id]``).
* :class:`MultiDeviceDataset` - one sample per (frame, target) with every device's view, for the
  aggregation stage and evaluation. The aggregation center is ``center`` (position 1 by default).

Splits are by sequence (manifest ``splits``), so frames of one sequence never leak across splits.
Labels come in SI units and normalised into (0, 1) (manifest ``normalization``: x_n = (x - offset) / scale).
Each sample also carries ``detection`` [D], the device's own classical radar detection of the target
(:mod:`disac_ros.data.detections`; computed once per dataset and cached in it).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from disac_ros.data import detections, store
from disac_ros.models.link import link_distances


class _Indexed(Dataset):
    def __init__(self, root: str | Path, split: str):
        self.root = Path(root)
        self.manifest = store.load_manifest(self.root)
        if split not in self.manifest["splits"]:
            raise ValueError(f"unknown split {split!r}; choose one of {sorted(self.manifest['splits'])}")
        self.split = split
        self.sequences = set(self.manifest["splits"][split])
        self.device_ids = [d["id"] for d in self.manifest["devices"]]
        self.target_classes = [t["class_id"] for t in self.manifest["targets"]]
        offset, scale = store.normalization_arrays(self.manifest)
        self.offset, self.scale = torch.tensor(offset, dtype=torch.float32), torch.tensor(scale, dtype=torch.float32)
        self.scene = store.scene_config(self.manifest)
        self.set_center(self.device_ids[0])
        self.frames = [(c["sequence"], c["chunk"], i) for c in self.manifest["chunks"]
                       if c["sequence"] in self.sequences for i in range(c["frames"])]
        self.reader = store.ChunkReader(self.root)
        self.detections = detections.dataset_features(self.root, self.manifest)  # {chunk: [F, K, N, D]}
        self.crop = bool(self.scene.camera.crop)                                   # data/crops.py

    def set_center(self, center: str) -> None:
        """Choose the aggregation center; link distances are measured to it [m]."""
        if center not in self.device_ids:
            raise ValueError(f"unknown center {center!r}; the dataset has {self.device_ids}")
        self.center = self.device_ids.index(center)
        distance = link_distances(self.scene, center, self.device_ids)
        self.link_distance = np.array([distance[k] for k in self.device_ids])

    def normalize(self, labels: torch.Tensor) -> torch.Tensor:
        return (labels - self.offset) / self.scale

    def denormalize(self, labels: torch.Tensor) -> torch.Tensor:
        return labels * self.scale + self.offset

    def _device_sample(self, f, i: int, k: int, n: int, key: str) -> dict:
        labels = torch.from_numpy(np.asarray(f["labels"][i, k, n], dtype=np.float32))
        return {
            "detection": torch.from_numpy(self.detections[key][i, k, n]),                     # [D] own radar
            "image": torch.from_numpy(f["crop"][i, k, n] if self.crop else f["image"][i, k])     # [3, H, W]: the
                     .permute(2, 0, 1).float().div_(255.0),                  # target's radar-cued crop or the image
            "echo": torch.from_numpy(f["echo"][i, k, n]),                                       # [C, A, S] complex64
            "labels": labels, "labels_norm": self.normalize(labels),                           # [4]
            "class_id": torch.tensor(self.target_classes[n]),
            "visible": torch.tensor(bool(f["visible"][i, k, n])),                             # camera sees it
            "blocked": torch.tensor(bool(f["blocked"][i, k, n])),        # radar path through a building/target
        }


class DeviceTargetDataset(_Indexed):
    """Per-device, per-target samples; ``devices`` restricts to some devices (stage 1: one device's own data)."""

    def __init__(self, root: str | Path, split: str = "train", devices: list[str] | None = None):
        super().__init__(root, split)
        unknown = set(devices or []) - set(self.device_ids)
        if unknown:
            raise ValueError(f"unknown device ids {sorted(unknown)}; the dataset has {self.device_ids}")
        self.devices = [self.device_ids.index(d) for d in (devices or self.device_ids)]
        N = len(self.target_classes)
        self.index = [(fr, k, n) for fr in self.frames for k in self.devices for n in range(N)]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, idx: int) -> dict:
        (s, c, i), k, n = self.index[idx]
        sample = self._device_sample(self.reader.file(s, c), i, k, n, detections.chunk_key(s, c))
        sample.update(device=torch.tensor(k), target=torch.tensor(n),
                      link_distance=torch.tensor(self.link_distance[k], dtype=torch.float32))
        return sample


class MultiDeviceDataset(_Indexed):
    """Per (frame, target): every device's image, echo and labels, stacked along a leading device axis.

    Device order is the aggregation center first, then the collaborators in manifest order.
    """

    def __init__(self, root: str | Path, split: str = "train", center: str | None = None):
        super().__init__(root, split)
        self.set_center(center or self.device_ids[0])
        c = self.center
        self.order = [c] + [k for k in range(len(self.device_ids)) if k != c]
        N = len(self.target_classes)
        self.index = [(fr, n) for fr in self.frames for n in range(N)]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, idx: int) -> dict:
        (s, c, i), n = self.index[idx]
        f = self.reader.file(s, c)
        per_device = [self._device_sample(f, i, k, n, detections.chunk_key(s, c)) for k in self.order]
        sample = {key: torch.stack([d[key] for d in per_device]) for key in per_device[0] if key != "class_id"}
        sample["class_id"] = per_device[0]["class_id"]
        sample["devices"] = torch.tensor(self.order)
        sample["link_distance"] = torch.tensor(self.link_distance[self.order], dtype=torch.float32)
        sample["target"] = torch.tensor(n)
        return sample
