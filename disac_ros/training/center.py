"""The aggregation center's side of a run after stage 1 (Algorithm 5, lines 9-13): a public API.

Training (stage 2) and evaluation both use it, so they build the same inputs and predict the same way:

* :func:`export_handover` - what a collaborator hands to the center after stage 1: its codes for every sample of
  the splits training reads (:data:`TRAINING_SPLITS`: train and validation) and its decoder's trained weights
  (``RUN/handover/<device>/``); never its images or echoes.
* :func:`export_split_codes` - its codes of another split, at the time that split is scored: the test split's
  (``codes-test.safetensors``) are encoded when the final evaluation first asks for them
  (:func:`collaborator_codes`), so training never reads a test sequence.
* :class:`HandoverCodes` - those codes, looked up by (sequence, chunk, frame, target).
* :class:`AggregationData` - stage-2 samples of one split: the center's own feature and labels, and every
  collaborator's handed-over code.
* :class:`CenterSide` - what the center holds: its own model (RVFN + head, trained without a link) and each
  collaborator's decoder;
  :meth:`CenterSide.predict` is the one way a stage-2 model is run over a split (validation and evaluation).
* :class:`Predictions` - estimates and truth of N samples, scored by :mod:`disac_ros.metrics`.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from disac_ros.checkpoint import save_weights
from disac_ros.data.datasets import DeviceTargetDataset
from disac_ros.files import atomic_path, locked
from disac_ros.metrics import sensing_metrics, sensing_metrics_both
from disac_ros.models.link import link_distances, relative_poses
from disac_ros.models.lstn import AWGNChannel
from disac_ros.runs import WEIGHTS, Run, pick_device

#: What a collaborator's decoder is told of its link (:meth:`CenterSide.decode`).
PROMPTS = ("true", "none", "wrong")


def sample_keys(ds: DeviceTargetDataset) -> list[tuple[int, int, int, int]]:
    """(sequence, chunk, frame, target) of every sample of a one-device dataset, in its order."""
    return [(s, c, i, n) for (s, c, i), _, n in ds.index]


#: The splits training reads (stage 1 trains on train, keeps the best epoch on val; stage 2 the same): the splits a
#: collaborator hands over after stage 1. The test split is for the final evaluation only.
TRAINING_SPLITS = ("train", "val")


@torch.no_grad()
def _encode(model: torch.nn.Module, data: Path, device_id: str, splits: tuple[str, ...], batch_size: int
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """``device_id``'s codes [M, L_se, d_se] and keys [M, 4] for every sample of ``splits``."""
    dev = next(model.parameters()).device
    codes, keys = [], []
    for split in splits:
        ds = DeviceTargetDataset(data, split, devices=[device_id])
        for batch in DataLoader(ds, batch_size=batch_size):
            codes.append(model.encode(batch["image"].to(dev), batch["echo"].to(dev), batch["detection"].to(dev)).cpu())
        keys += sample_keys(ds)
    return torch.cat(codes).contiguous(), torch.tensor(keys, dtype=torch.int64).reshape(-1, 4)


def _save_codes(path: Path, codes: torch.Tensor, keys: torch.Tensor, device_id: str) -> None:
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        save_file({"codes": codes, "keys": keys}, str(tmp), metadata={"device": device_id})


def export_handover(run: Run, data: Path, device_id: str, batch_size: int = 64) -> Path:
    """Write ``device_id``'s codes of :data:`TRAINING_SPLITS` and its decoder to ``RUN/handover/<device>``."""
    run.check_data(data)
    out = run.handover_dir(device_id)
    out.mkdir(parents=True, exist_ok=True)
    model = run.load_device_model(device_id, pick_device())
    codes, keys = _encode(model, data, device_id, TRAINING_SPLITS, batch_size)
    _save_codes(out / "codes.safetensors", codes, keys, device_id)
    save_weights(model.decoder, out / "decoder.safetensors", run.weights_config)
    return out


def split_codes_path(run: Run, device_id: str, split: str) -> Path:
    """Where a collaborator's codes of a split outside :data:`TRAINING_SPLITS` go: ``codes-<split>.safetensors``."""
    return run.handover_dir(device_id) / f"codes-{split}.safetensors"


def export_split_codes(run: Run, data: Path, device_id: str, split: str, batch_size: int = 64) -> Path:
    """Write ``device_id``'s codes of one split (the test split, when the final evaluation scores it)."""
    run.check_data(data)
    path = split_codes_path(run, device_id, split)
    path.parent.mkdir(parents=True, exist_ok=True)
    codes, keys = _encode(run.load_device_model(device_id, pick_device()), data, device_id, (split,), batch_size)
    _save_codes(path, codes, keys, device_id)
    return path


def collaborator_codes(run: Run, data: Path, device_id: str, split: str, keys: list[tuple]) -> HandoverCodes:
    """A collaborator's handed-over codes holding ``keys`` of ``split``.

    Training splits: ``codes.safetensors``. Another split: ``codes.safetensors`` if it holds them (a run handed
    over before the test split was kept apart), else ``codes-<split>.safetensors``, encoded now from the
    collaborator's stage-1 model when it is missing or older than that model.
    """
    main = run.handover_dir(device_id) / "codes.safetensors"
    handover = HandoverCodes(main)
    if split in TRAINING_SPLITS or handover.holds(keys):
        return handover
    path = split_codes_path(run, device_id, split)
    model = run.stage1_dir(device_id) / WEIGHTS

    def stale() -> bool:
        return not path.exists() or (model.exists() and model.stat().st_mtime > path.stat().st_mtime)

    if stale():
        if not model.exists():
            raise FileNotFoundError(f"{path} is missing and {device_id}'s stage-1 model is not here to encode its "
                                    f"{split} samples: run the evaluation where {model} is, or copy the file")
        with locked(path.parent):  # evaluations started at once: one encodes, the others read its file
            if stale():
                export_split_codes(run, data, device_id, split)
    return HandoverCodes(path)


class HandoverCodes:
    """Codes a collaborator handed over, looked up by (sequence, chunk, frame, target)."""

    def __init__(self, path: Path):
        from safetensors.torch import load_file

        tensors = load_file(str(path))
        self.codes = tensors["codes"]
        self.row = {tuple(k): r for r, k in enumerate(tensors["keys"].tolist())}

    def holds(self, keys: list[tuple]) -> bool:
        return all(tuple(k) in self.row for k in keys)

    def get(self, keys: list[tuple]) -> torch.Tensor:
        return self.codes[[self.row[tuple(k)] for k in keys]]


class AggregationData:
    """Stage-2 samples: the center's own feature and labels, and each collaborator's handed-over code.

    Built from the center's own dataset (its images, echoes and radar detections, which never leave it) and from
    ``handover/<collaborator>/codes.safetensors``; collaborators' raw data are not opened. ``link_distance`` [K]
    is each collaborator's distance to the center in the run's scene (:func:`disac_ros.models.link.link_distances`);
    ``detection`` [N, D] the center's own detections (whose estimate its head refines).
    """

    def __init__(self, run: Run, data: Path, center: str, collaborators: list[str], split: str,
                 center_model: torch.nn.Module, batch_size: int = 64):
        dev = next(center_model.parameters()).device
        ds = DeviceTargetDataset(data, split, devices=[center])
        feats, labels, classes, detection, blocked = [], [], [], [], []
        with torch.no_grad():
            for batch in DataLoader(ds, batch_size=batch_size):
                feats.append(center_model.features(batch["image"].to(dev), batch["echo"].to(dev),
                                                   batch["detection"].to(dev)).cpu())
                labels.append(batch["labels_norm"])
                classes.append(batch["class_id"])
                detection.append(batch["detection"])
                blocked.append(batch["blocked"])
        self.keys = sample_keys(ds)
        self.center_features = torch.cat(feats) if feats else torch.empty(0)
        self.detection = torch.cat(detection) if detection else torch.empty(0)
        self.blocked = torch.cat(blocked) if blocked else torch.empty(0, dtype=torch.bool)  # center's path blocked
        self.labels_norm = torch.cat(labels) if labels else torch.empty(0, 4)
        self.class_id = torch.cat(classes) if classes else torch.empty(0, dtype=torch.long)
        handover = [collaborator_codes(run, data, k, split, self.keys) for k in collaborators]
        self.codes = torch.stack([h.get(self.keys) for h in handover], dim=1) if collaborators and self.keys \
            else torch.empty(len(self.keys), 0)                                       # [N, K, L_se, d_se]
        distance = link_distances(run.scene, center, collaborators)
        self.link_distance = torch.tensor([distance[k] for k in collaborators], dtype=torch.float32)  # [K]

    def __len__(self) -> int:
        return len(self.keys)

    def batches(self, batch_size: int, seed: int | None) -> list[torch.Tensor]:
        """Index batches: shuffled by ``seed``, or in order when ``seed`` is None."""
        order = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed)) if seed is not None \
            else torch.arange(len(self))
        return list(order.split(batch_size))


@dataclass
class Predictions:
    """Estimates and truth of N samples: ``pred``/``true`` [N, 4] normalised, ``logits`` [N, C], ``class_id`` [N]."""

    pred: np.ndarray
    true: np.ndarray
    logits: np.ndarray
    class_id: np.ndarray

    @classmethod
    def from_outputs(cls, outputs: Iterable[dict], labels_norm: torch.Tensor, class_id: torch.Tensor) -> Predictions:
        outputs = list(outputs)
        return cls(pred=torch.cat([o["regression"] for o in outputs]).cpu().numpy(),
                   true=labels_norm.cpu().numpy(), logits=torch.cat([o["logits"] for o in outputs]).cpu().numpy(),
                   class_id=class_id.cpu().numpy())

    def loss(self, loss_fn: torch.nn.Module) -> float:
        """The training loss of these predictions (what validation selects the checkpoint on)."""
        dev = next(iter(loss_fn.buffers())).device
        total, _ = loss_fn({"regression": torch.from_numpy(self.pred).to(dev),
                            "logits": torch.from_numpy(self.logits).to(dev)},
                           torch.from_numpy(self.true).to(dev), torch.from_numpy(self.class_id).to(dev))
        return float(total)

    def normalised_metrics(self) -> dict[str, float]:
        """Eqs. (59)-(61) on the normalised values the heads predict (what validation logs)."""
        return sensing_metrics(self.pred, self.true, self.logits, self.class_id)

    def metrics(self, offset: np.ndarray, scale: np.ndarray) -> dict[str, dict[str, float]]:
        """Eqs. (59)-(61) on normalised and on SI values: ``{"normalised": {...}, "si": {...}}``."""
        return sensing_metrics_both(self.pred, self.true, self.logits, self.class_id, offset, scale)


class CenterSide:
    """What the aggregation center holds after stage 1.

    Its own model (RVFN + head, no link), each collaborator's decoder, the channel the codes cross and each
    collaborator's pose relative to it. ``decoder_precision``: the decoders' (:meth:`Run.load_decoder`).
    """

    def __init__(self, run: Run, data: Path, center: str | None = None, decoder_precision: str = "float32"):
        self.run, self.data, self.dev = run, Path(data), pick_device()
        run.check_data(data)
        self.cfg = run.model_cfg
        self.center = center or run.center
        self.collaborators = run.collaborators(self.center)
        self.center_model = run.load_center_features(self.center, self.dev)
        self.decoders = [run.load_decoder(k, self.dev, decoder_precision) for k in self.collaborators]
        self.channel = AWGNChannel(lossless=self.cfg.lossless)
        self.poses = torch.from_numpy(relative_poses(run.scene, self.center, self.collaborators)).to(self.dev)

    def detection(self, part: AggregationData, idx: torch.Tensor) -> torch.Tensor | None:
        """The center's own detection [B, D] as its head reads it (None when it reads none)."""
        return self.center_model.head_input(part.detection[idx].to(self.dev))

    def split(self, split: str) -> AggregationData:
        return AggregationData(self.run, self.data, self.center, self.collaborators, split, self.center_model)

    @torch.no_grad()
    def decode(self, part: AggregationData, idx: torch.Tensor, snr: torch.Tensor, prompt: str = "true",
               lossless: bool = False) -> torch.Tensor:
        """Decoded collaborator features [B, K, L_sf, d_sf] after the channel at ``snr`` [B, K] dB.

        ``prompt`` (the report's ablation; training always uses "true"): "true" tells each decoder its link's SNR
        and distance; "none" tells it nothing (:attr:`SemanticDecoder.use_prompt` off); "wrong" tells it the SNR
        mirrored in the training range (lo + hi - SNR: 20 dB reads as 5 dB for 0-25 dB) and twice the distance.
        ``lossless``: the codes arrive without channel noise (the decoders are still told ``snr``).
        """
        if prompt not in PROMPTS:
            raise ValueError(f"prompt must be one of {PROMPTS}, got {prompt!r}")
        lo, hi = self.run.train_cfg.snr_range_db
        feats = []
        for j, decoder in enumerate(self.decoders):
            code = part.codes[idx, j].to(self.dev)
            received = code if lossless else self.channel.transmit(code, snr[:, j])
            told_snr, told_distance = snr[:, j], part.link_distance[j].expand(len(idx)).to(self.dev)
            if prompt == "wrong":
                told_snr, told_distance = lo + hi - told_snr, 2 * told_distance
            decoder.use_prompt = prompt != "none"
            try:
                feats.append(decoder(received, told_snr, told_distance))
            finally:
                decoder.use_prompt = True
        if not feats:
            return torch.empty(len(idx), 0, self.cfg.L_sf, self.cfg.d_sf, device=self.dev)
        return torch.stack(feats, 1)

    @torch.no_grad()
    def predict(self, model: torch.nn.Module, part: AggregationData, snr_db: float | None, batch_size: int = 64,
                cap: int | None = None, prompt: str = "true", lossless: bool = False) -> Predictions:
        """Stage-2 predictions over the first ``cap`` batches of ``part`` (all when None).

        Every collaborator is decoded at link SNR ``snr_db`` [dB] with the given ``prompt`` (:meth:`decode`), or
        none (the center alone) when it is None. Channel noise comes from torch's global generator: seed it before
        the call for reproducible numbers.
        """
        outs, seen = [], []
        K = len(self.decoders)
        for idx in islice(part.batches(batch_size, None), cap):
            center = part.center_features[idx].to(self.dev)
            if snr_db is None or K == 0:
                collab = torch.empty(len(idx), 0, self.cfg.L_sf, self.cfg.d_sf, device=self.dev)
            else:
                collab = self.decode(part, idx, torch.full((len(idx), K), float(snr_db), device=self.dev), prompt,
                                     lossless)
            outs.append(model(center, collab, None, self.poses, self.detection(part, idx)))
            seen.append(idx)
        idx = torch.cat(seen) if seen else torch.empty(0, dtype=torch.long)
        return Predictions.from_outputs(outs, part.labels_norm[idx], part.class_id[idx])
