"""Two-stage distributed training (Algorithm 5).

Run directory::

    RUN/run.json                          model + train config, dataset digest (a resumed run must match)
    RUN/stage1/<device>/model.safetensors the device's RVFN + LSTN + local head (weights, config in metadata)
    RUN/stage1/<device>/state.pt          resume state (weights, optimizer, epoch, metrics history)
    RUN/stage1/<device>/metrics.csv       one row per epoch (train loss, validation metrics)
    RUN/handover/<device>/codes.safetensors    what a collaborator hands to the center: its semantic codes
    RUN/handover/<device>/decoder.safetensors  and its decoder's trained weights (LoRA + projections) - no raw data
    RUN/stage2/model.safetensors, state.pt, metrics.csv   TRAM + heads at the center (the run's first device)
    RUN/stage2-<device>/...                TRAM + heads with another device as the center (evaluation of
                                          aggregation positions; needs handover/<first device>/ too)

Stage 1 runs per device on that device's data only (``DeviceTargetDataset(devices=[k])``); devices are independent
jobs (``disac train --stage 1 --device K``), on one machine or several, that meet only through ``handover/``.
Stage 2 reads the center's own data and the collaborators' ``handover/`` files: collaborators' images and echoes
never reach it. Every epoch is seeded from (seed, stage, device, epoch), and a checkpoint is written at every
epoch's end, so a run killed at any point and resumed ends with the same weights as an uninterrupted one.
"""
from __future__ import annotations

import csv
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from itertools import islice
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from disac_ros.config import ModelConfig, TrainConfig
from disac_ros.data import store
from disac_ros.data.datasets import DeviceTargetDataset
from disac_ros.metrics import sensing_metrics
from disac_ros.models.llm_disac import CenterModel, DeviceModel
from disac_ros.models.losses import SensingLoss
from disac_ros.training.checkpoint import load_state, load_weights, save_state, save_weights, trainable_state

log = logging.getLogger(__name__)
VALIDATION_SNR_DB = 20.0


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def epoch_seed(*parts) -> int:
    return int(hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:8], 16)


def run_config(model_cfg: ModelConfig, train_cfg: TrainConfig, data: Path) -> dict:
    manifest = store.load_manifest(data)
    return {"model": model_cfg.model_dump(mode="json"), "train": train_cfg.model_dump(mode="json"),
            "data_config_digest": manifest["config_digest"], "devices": [d["id"] for d in manifest["devices"]]}


def weights_config(config: dict) -> dict:
    """What a checkpoint's weights depend on: the model config and the dataset (not epochs or learning rate)."""
    return {"model": config["model"], "data_config_digest": config["data_config_digest"]}


def claim_run(run: Path, config: dict, data: Path) -> None:
    """Create RUN/run.json, or check that an existing run was started with the same config.

    The dataset's manifest (without its chunk list) is kept beside it: shapes, classes, normalisation and
    device positions are what inference needs without the dataset.
    """
    run.mkdir(parents=True, exist_ok=True)
    path = run / "run.json"
    if path.exists():
        previous = json.loads(path.read_text())
        if previous != config:
            raise ValueError(f"{run} holds a run with another config or dataset; choose a new --out")
    else:
        manifest = {k: v for k, v in store.load_manifest(data).items() if k != "chunks"}
        store.write_json_atomic(run / "data_manifest.json", manifest)
        store.write_json_atomic(path, config)


def build_device_model(model_cfg: ModelConfig, manifest: dict) -> DeviceModel:
    radar, camera = manifest["radar"], manifest["config"]["camera"]
    return DeviceModel(model_cfg, image_size=camera["height"],
                       echo_shape=(radar["num_chirps"], radar["num_antennas"], radar["num_samples"]))


def _write_csv(path: Path, rows: list[dict]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


def fit(tag: str, out: Path, model: torch.nn.Module, loss_fn: SensingLoss, step: Callable[[dict], tuple],
        train_batches: Callable[[int], Iterable], evaluate: Callable[[], dict], epochs: int,
        train_cfg: TrainConfig, config: dict, progress: bool) -> list[dict]:
    """The epoch loop shared by both stages: resume, train, validate, checkpoint atomically, log to CSV."""
    from tqdm import tqdm

    out.mkdir(parents=True, exist_ok=True)
    params = [p for p in [*model.parameters(), *loss_fn.parameters()] if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=train_cfg.lr, weight_decay=train_cfg.weight_decay)
    history: list[dict] = []
    board = _tensorboard(out)
    start = 0
    if (out / "state.pt").exists():
        state = load_state(out / "state.pt")
        if state["config"] != json.dumps(config, sort_keys=True):
            raise ValueError(f"{out}/state.pt belongs to another config; remove it or choose a new --out")
        model.load_state_dict(state["model"], strict=False)
        loss_fn.load_state_dict(state["loss"])
        optimizer.load_state_dict(state["optimizer"])
        history, start = json.loads(state["history"]), state["epoch"] + 1
        log.info("%s: resuming after epoch %d of %d", tag, start, epochs)
    for epoch in range(start, epochs):
        torch.manual_seed(epoch_seed(train_cfg.seed, tag, epoch))
        model.train()
        t0, total, count = time.monotonic(), 0.0, 0
        batches = train_batches(epoch)
        with tqdm(batches, desc=f"{tag} epoch {epoch + 1}/{epochs}", disable=not progress, dynamic_ncols=True,
                  leave=False) as bar:
            for batch in bar:
                pred, labels_norm, class_id = step(batch)
                loss, _ = loss_fn(pred, labels_norm, class_id)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total, count = total + loss.item(), count + 1
                bar.set_postfix(loss=f"{total / count:.4f}")
        model.eval()
        with torch.no_grad():
            row = {"epoch": epoch + 1, "train_loss": total / max(count, 1),
                   "samples_per_s": count * train_cfg.batch_size / (time.monotonic() - t0), **evaluate()}
        history.append(row)
        log.info("%s epoch %d/%d: %s", tag, epoch + 1, epochs,
                 ", ".join(f"{k} {v:.4g}" for k, v in row.items() if k != "epoch"))
        save_state(out / "state.pt", {"epoch": epoch, "model": trainable_state(model),
                                      "loss": loss_fn.state_dict(), "optimizer": optimizer.state_dict(),
                                      "history": json.dumps(history), "config": json.dumps(config, sort_keys=True)})
        save_weights(model, out / "model.safetensors", weights_config(config))
        _write_csv(out / "metrics.csv", history)
        if board is not None:
            for key, value in row.items():
                if key != "epoch":
                    board.add_scalar(f"{tag}/{key}", value, epoch + 1)
            board.flush()
    if board is not None:
        board.close()
    return history


def _tensorboard(out: Path):
    """A TensorBoard writer into ``out/tensorboard`` when the ``tensorboard`` package is installed, else None."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # optional: metrics.csv always has the same numbers
        return None
    return SummaryWriter(str(out / "tensorboard"))


def _loader(ds, train_cfg: TrainConfig, shuffle_seed: int | None) -> DataLoader:
    gen = None
    if shuffle_seed is not None:
        gen = torch.Generator().manual_seed(shuffle_seed)
    return DataLoader(ds, batch_size=train_cfg.batch_size, shuffle=shuffle_seed is not None, generator=gen,
                      num_workers=train_cfg.num_workers)


def _predict(outputs: list[dict], labels: list[torch.Tensor], classes: list[torch.Tensor]) -> dict:
    reg = torch.cat([o["regression"] for o in outputs]).cpu().numpy()
    logits = torch.cat([o["logits"] for o in outputs]).cpu().numpy()
    return sensing_metrics(reg, torch.cat(labels).cpu().numpy(), logits, torch.cat(classes).cpu().numpy())


# --- stage 1 -----------------------------------------------------------------------------------------

def train_stage1(data: Path, run: Path, device_id: str, model_cfg: ModelConfig, train_cfg: TrainConfig,
                 progress: bool = True) -> list[dict]:
    """Train one device's RVFN + LSTN + local head on that device's own data (Alg. 5 lines 1-8)."""
    config = run_config(model_cfg, train_cfg, data)
    claim_run(run, config, data)
    dev = pick_device()
    torch.manual_seed(epoch_seed(train_cfg.seed, "init", device_id))
    train_ds = DeviceTargetDataset(data, "train", devices=[device_id])
    val_ds = DeviceTargetDataset(data, "val", devices=[device_id])
    model = build_device_model(model_cfg, train_ds.manifest).to(dev)
    loss_fn = SensingLoss(weights=train_cfg.loss_weights, uncertainty=train_cfg.uncertainty_loss).to(dev)
    tag = f"stage1/{device_id}"

    def step(batch):
        b = {k: v.to(dev) for k, v in batch.items()}
        return model(b["image"], b["echo"], None, b["link_distance"]), b["labels_norm"], b["class_id"]

    def evaluate() -> dict:
        if not len(val_ds):
            return {}
        outs, labels, classes = [], [], []
        for batch in islice(_loader(val_ds, train_cfg, None), train_cfg.max_steps_per_epoch):
            b = {k: v.to(dev) for k, v in batch.items()}
            snr = torch.full((b["image"].shape[0],), VALIDATION_SNR_DB, device=dev)
            outs.append(model(b["image"], b["echo"], snr, b["link_distance"]))
            labels.append(b["labels_norm"])
            classes.append(b["class_id"])
        return {f"val_{k}": v for k, v in _predict(outs, labels, classes).items()}

    return fit(tag, run / "stage1" / device_id, model, loss_fn, step,
               lambda epoch: islice(_loader(train_ds, train_cfg, epoch_seed(train_cfg.seed, tag, "data", epoch)),
                                     train_cfg.max_steps_per_epoch),
               evaluate, train_cfg.epochs_stage1, train_cfg, config, progress)


def load_device_model(run: Path, device_id: str, data: Path | None = None) -> DeviceModel:
    """A trained stage-1 model of one device (on the CPU; move it where needed)."""
    config = json.loads((run / "run.json").read_text())
    model_cfg = ModelConfig.model_validate(config["model"])
    manifest = store.load_manifest(data) if data else json.loads((run / "data_manifest.json").read_text())
    model = build_device_model(model_cfg, manifest)
    load_weights(model, run / "stage1" / device_id / "model.safetensors", weights_config(config))
    return model.eval()


@torch.no_grad()
def export_handover(data: Path, run: Path, device_id: str, batch_size: int = 64) -> Path:
    """What a collaborator hands to the center after stage 1: its codes for every sample, and its decoder."""
    from safetensors.torch import save_file

    dev = pick_device()
    model = load_device_model(run, device_id, data).to(dev)
    out = run / "handover" / device_id
    out.mkdir(parents=True, exist_ok=True)
    codes, keys = [], []
    for split in ("train", "val", "test"):
        ds = DeviceTargetDataset(data, split, devices=[device_id])
        for batch in DataLoader(ds, batch_size=batch_size):
            codes.append(model.encode(batch["image"].to(dev), batch["echo"].to(dev)).cpu())
        keys += [(s, c, i, n) for (s, c, i), _, n in ds.index]
    tmp = out / ".codes.safetensors.tmp"
    save_file({"codes": torch.cat(codes).contiguous(), "keys": torch.tensor(keys, dtype=torch.int64)}, str(tmp),
              metadata={"device": device_id})
    tmp.replace(out / "codes.safetensors")
    save_weights(model.decoder, out / "decoder.safetensors", weights_config(json.loads((run / "run.json").read_text())))
    return out


# --- stage 2 -----------------------------------------------------------------------------------------

class HandoverCodes:
    """Codes a collaborator handed over, looked up by (sequence, chunk, frame, target)."""

    def __init__(self, path: Path):
        from safetensors.torch import load_file

        tensors = load_file(str(path))
        self.codes = tensors["codes"]
        self.row = {tuple(k): r for r, k in enumerate(tensors["keys"].tolist())}

    def get(self, keys: list[tuple]) -> torch.Tensor:
        return self.codes[[self.row[k] for k in keys]]


class AggregationData:
    """Stage-2 samples: the center's own feature and labels, and each collaborator's handed-over code.

    Built from the center's own dataset (its images and echoes, which never leave it) and from
    ``handover/<collaborator>/codes.safetensors``; collaborators' raw data are not opened.
    """

    def __init__(self, data: Path, run: Path, center: str, collaborators: list[str], split: str,
                 center_model: DeviceModel, batch_size: int = 64):
        dev = next(center_model.parameters()).device
        ds = DeviceTargetDataset(data, split, devices=[center])
        feats, labels, classes = [], [], []
        with torch.no_grad():
            for batch in DataLoader(ds, batch_size=batch_size):
                feats.append(center_model.features(batch["image"].to(dev), batch["echo"].to(dev)).cpu())
                labels.append(batch["labels_norm"])
                classes.append(batch["class_id"])
        self.keys = [(s, c, i, n) for (s, c, i), _, n in ds.index]
        self.center_features = torch.cat(feats) if feats else torch.empty(0)
        self.labels_norm = torch.cat(labels) if labels else torch.empty(0, 4)
        self.class_id = torch.cat(classes) if classes else torch.empty(0, dtype=torch.long)
        handover = [HandoverCodes(run / "handover" / k / "codes.safetensors") for k in collaborators]
        self.codes = torch.stack([h.get(self.keys) for h in handover], dim=1) if collaborators and self.keys \
            else torch.empty(len(self.keys), 0)                                       # [N, K, L_se, d_se]
        positions = {d["id"]: np.array(d["position"]) for d in ds.manifest["devices"]}
        self.link_distance = torch.tensor([float(np.linalg.norm(positions[k] - positions[center]))
                                           for k in collaborators], dtype=torch.float32)  # [K]

    def __len__(self) -> int:
        return len(self.keys)

    def batches(self, batch_size: int, seed: int | None) -> Iterable[torch.Tensor]:
        order = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed)) if seed is not None \
            else torch.arange(len(self))
        return list(order.split(batch_size))


class CenterSide:
    """What the aggregation center holds after stage 1: its own device model and each collaborator's decoder."""

    def __init__(self, data: Path, run: Path, model_cfg: ModelConfig, center: str | None = None):
        from disac_ros.models.decoders import build_decoder

        config = json.loads((run / "run.json").read_text())
        self.cfg, self.dev = model_cfg, pick_device()
        self.center = center or config["devices"][0]
        self.collaborators = [d for d in config["devices"] if d != self.center]
        self.center_model = load_device_model(run, self.center, data).to(self.dev)
        self.decoders = []
        for k in self.collaborators:
            decoder = build_decoder(model_cfg.decoder, L_sf=model_cfg.L_sf, d_sf=model_cfg.d_sf, L_se=model_cfg.L_se,
                                    d_se=model_cfg.d_se, model_path=model_cfg.decoder_path,
                                    num_layers=model_cfg.decoder_layers, lora_r=model_cfg.lora_r,
                                    lora_layers=model_cfg.lora_layers)
            load_weights(decoder, run / "handover" / k / "decoder.safetensors", weights_config(config))
            self.decoders.append(decoder.to(self.dev).eval().requires_grad_(False))

    def data(self, data: Path, run: Path, split: str) -> AggregationData:
        return AggregationData(data, run, self.center, self.collaborators, split, self.center_model)

    @torch.no_grad()
    def decode(self, part: AggregationData, idx: torch.Tensor, snr: torch.Tensor) -> torch.Tensor:
        """Decoded collaborator features [B, K, L_sf, d_sf] after the channel at ``snr`` [B, K] dB."""
        feats = []
        for j, decoder in enumerate(self.decoders):
            received = self.center_model.transmit(part.codes[idx, j].to(self.dev), snr[:, j])
            feats.append(decoder(received, snr[:, j], part.link_distance[j].expand(len(idx)).to(self.dev)))
        if not feats:
            return torch.empty(len(idx), 0, self.cfg.L_sf, self.cfg.d_sf, device=self.dev)
        return torch.stack(feats, 1)

    @torch.no_grad()
    def predict(self, model: CenterModel, part: AggregationData, snr_db: float, batch_size: int,
                cap: int | None = None, collaborators: bool = True) -> tuple[list[dict], torch.Tensor]:
        """Predictions over ``part`` at a fixed link SNR (all collaborators present, or none)."""
        outs, seen = [], []
        for idx in islice(part.batches(batch_size, None), cap):
            snr = torch.full((len(idx), len(self.decoders)), snr_db, device=self.dev)
            mask = None if collaborators else torch.zeros(len(idx), len(self.decoders), dtype=torch.bool,
                                                          device=self.dev)
            outs.append(model(part.center_features[idx].to(self.dev), self.decode(part, idx, snr), mask))
            seen.append(idx)
        return outs, torch.cat(seen) if seen else torch.empty(0, dtype=torch.long)


def handover_stale(run: Path, device_id: str) -> bool:
    """Whether the device's stage-1 model is in ``run`` and its hand-over is missing or older than it.

    A hand-over copied from another machine without the stage-1 model is never stale.
    """
    model = run / "stage1" / device_id / "model.safetensors"
    files = [run / "handover" / device_id / name for name in ("codes.safetensors", "decoder.safetensors")]
    return model.exists() and not all(f.exists() and f.stat().st_mtime >= model.stat().st_mtime for f in files)


def stage2_dir(run: Path, center: str | None = None) -> Path:
    """Where stage 2 with ``center`` as aggregation center lives.

    ``RUN/stage2`` for the run's first device (the default center of ``disac train``);
    ``RUN/stage2-<center>`` for any other device. Stage 1 does not depend on the center, so every center's stage 2
    re-uses the same stage-1 models and hand-overs.
    """
    default = json.loads((run / "run.json").read_text())["devices"][0]
    return run / "stage2" if center in (None, default) else run / f"stage2-{center}"


def train_stage2(data: Path, run: Path, model_cfg: ModelConfig, train_cfg: TrainConfig, center: str | None = None,
                 drop_probability: float = 0.25, progress: bool = True) -> list[dict]:
    """Train TRAM + heads at the center from received codes only (Alg. 5 lines 9-13).

    Every step draws each link's SNR from ``train.snr_range_db`` and drops each collaborator with
    ``drop_probability`` so the model also serves when devices are missing. A ``center`` other than the run's first
    device needs every other device's hand-over (``export_handover``, the first device's included) and writes to
    :func:`stage2_dir`.
    """
    config = run_config(model_cfg, train_cfg, data)
    claim_run(run, config, data)
    side = CenterSide(data, run, model_cfg, center)
    out = stage2_dir(run, side.center)
    tag = "stage2" if out.name == "stage2" else out.name  # the default center keeps its seeds (resume, tests)
    dev, K = side.dev, len(side.decoders)
    train, val = side.data(data, run, "train"), side.data(data, run, "val")
    torch.manual_seed(epoch_seed(train_cfg.seed, "init", tag))
    model = CenterModel(model_cfg).to(dev)
    loss_fn = SensingLoss(weights=train_cfg.loss_weights, uncertainty=train_cfg.uncertainty_loss).to(dev)
    lo, hi = train_cfg.snr_range_db

    def step(idx):
        snr = lo + (hi - lo) * torch.rand(len(idx), K, device=dev)
        mask = torch.rand(len(idx), K, device=dev) >= drop_probability
        pred = model(train.center_features[idx].to(dev), side.decode(train, idx, snr), mask)
        return pred, train.labels_norm[idx].to(dev), train.class_id[idx].to(dev)

    def evaluate() -> dict:
        if not len(val):
            return {}
        outs, idx = side.predict(model, val, VALIDATION_SNR_DB, train_cfg.batch_size, train_cfg.max_steps_per_epoch)
        return {f"val_{k}": v for k, v in _predict(outs, [val.labels_norm[idx]], [val.class_id[idx]]).items()}

    return fit(tag, out, model, loss_fn, step,
               lambda epoch: islice(train.batches(train_cfg.batch_size, epoch_seed(train_cfg.seed, tag, epoch)),
                                     train_cfg.max_steps_per_epoch),
               evaluate, train_cfg.epochs_stage2, train_cfg, config, progress)


def load_center_model(run: Path, center: str | None = None) -> CenterModel:
    """The trained stage-2 TRAM + heads of ``center`` (default: the run's first device), on the CPU, eval mode."""
    config = json.loads((run / "run.json").read_text())
    model = CenterModel(ModelConfig.model_validate(config["model"]))
    load_weights(model, stage2_dir(run, center) / "model.safetensors", weights_config(config))
    return model.eval()


def evaluate_run(data: Path, run: Path, split: str = "test", snr_db: float = VALIDATION_SNR_DB,
                 batch_size: int = 64, center: str | None = None) -> dict:
    """Metrics (Eqs. 59-61) of a trained multi-device run on ``split``, with and without the collaborators.

    Regression metrics are on the normalised (0, 1) values the heads predict, as in the paper's Eq. (59).
    Returns ``{"aggregated": {...}, "center_only": {...}, "samples": N, "rows": [first predictions in SI]}``.
    ``center`` picks the aggregation center (its stage 2 must exist, see :func:`stage2_dir`).
    """
    config = json.loads((run / "run.json").read_text())
    model_cfg = ModelConfig.model_validate(config["model"])
    side = CenterSide(data, run, model_cfg, center)
    model = load_center_model(run, side.center)
    model = model.to(side.dev).eval()
    part = side.data(data, run, split)
    if not len(part):
        raise ValueError(f"split {split!r} of {data} is empty")
    result: dict = {"samples": len(part), "snr_db": snr_db, "split": split}
    for name, with_collaborators in (("aggregated", True), ("center_only", False)):
        outs, idx = side.predict(model, part, snr_db, batch_size, collaborators=with_collaborators)
        result[name] = _predict(outs, [part.labels_norm[idx]], [part.class_id[idx]])
        if with_collaborators:
            manifest = store.load_manifest(data)
            offset, scale = store.normalization_arrays(manifest)
            reg = torch.cat([o["regression"] for o in outs]).cpu().numpy() * scale + offset
            true = part.labels_norm[idx].numpy() * scale + offset
            cls = torch.cat([o["logits"] for o in outs]).argmax(1).cpu().numpy()
            result["rows"] = [{"key": part.keys[int(i)], "pred_class": manifest["classes"][int(c)],
                               "true_class": manifest["classes"][int(part.class_id[i])],
                               "pred": p.tolist(), "true": t.tolist()}
                              for i, c, p, t in zip(idx.tolist(), cls, reg, true, strict=True)]
    return result
