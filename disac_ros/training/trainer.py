"""Two-stage distributed training (Algorithm 5) into a run directory (layout: :mod:`disac_ros.runs`).

Stage 1 runs per device on that device's data only (``DeviceTargetDataset(devices=[k])``); devices are independent
jobs (``disac train --stage 1 --device K``), on one machine or several, that meet only through ``handover/``
(:func:`disac_ros.training.center.export_handover`). Stage 2 reads the center's own data and the collaborators'
``handover/`` files (:class:`disac_ros.training.center.CenterSide`): collaborators' images and echoes never reach
it. Every epoch is seeded from (seed, stage, device, epoch), and a checkpoint is written at every epoch's end, so a
run killed at any point and resumed ends with the same weights as an uninterrupted one.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from itertools import islice
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from disac_ros.checkpoint import load_state, save_state, save_weights, trainable_state
from disac_ros.config import ModelConfig, TrainConfig
from disac_ros.data.datasets import DeviceTargetDataset
from disac_ros.files import write_csv_atomic
from disac_ros.models.llm_disac import CenterModel
from disac_ros.models.losses import SensingLoss
from disac_ros.runs import Run, pick_device
from disac_ros.training.center import CenterSide, Predictions

log = logging.getLogger(__name__)
VALIDATION_SNR_DB = 20.0


def epoch_seed(*parts) -> int:
    return int(hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:8], 16)


def fit(tag: str, out: Path, model: torch.nn.Module, loss_fn: SensingLoss, step: Callable[[dict], tuple],
        train_batches: Callable[[int], Iterable], evaluate: Callable[[], dict], epochs: int,
        train_cfg: TrainConfig, run: Run, progress: bool) -> list[dict]:
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
        if state["config"] != json.dumps(run.config, sort_keys=True):
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
                                      "history": json.dumps(history), "config": json.dumps(run.config, sort_keys=True)})
        save_weights(model, out / "model.safetensors", run.weights_config)
        write_csv_atomic(out / "metrics.csv", history)
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


# --- stage 1 -----------------------------------------------------------------------------------------

def train_stage1(data: Path, run: Path, device_id: str, model_cfg: ModelConfig, train_cfg: TrainConfig,
                 progress: bool = True) -> list[dict]:
    """Train one device's RVFN + LSTN + local head on that device's own data (Alg. 5 lines 1-8)."""
    run = Run.create(run, model_cfg, train_cfg, data)
    dev = pick_device()
    torch.manual_seed(epoch_seed(train_cfg.seed, "init", device_id))
    train_ds = DeviceTargetDataset(data, "train", devices=[device_id])
    val_ds = DeviceTargetDataset(data, "val", devices=[device_id])
    model = run.build_device_model().to(dev)
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
        pred = Predictions.from_outputs(outs, torch.cat(labels), torch.cat(classes))
        return {f"val_{k}": v for k, v in pred.normalised_metrics().items()}

    return fit(tag, run.stage1_dir(device_id), model, loss_fn, step,
               lambda epoch: islice(_loader(train_ds, train_cfg, epoch_seed(train_cfg.seed, tag, "data", epoch)),
                                     train_cfg.max_steps_per_epoch),
               evaluate, train_cfg.epochs_stage1, train_cfg, run, progress)


# --- stage 2 -----------------------------------------------------------------------------------------

def train_stage2(data: Path, run: Path, model_cfg: ModelConfig, train_cfg: TrainConfig, center: str | None = None,
                 drop_probability: float = 0.25, progress: bool = True) -> list[dict]:
    """Train TRAM + heads at the center from received codes only (Alg. 5 lines 9-13).

    Every step draws each link's SNR from ``train.snr_range_db`` and drops each collaborator with
    ``drop_probability`` so the model also serves when devices are missing. A ``center`` other than the run's first
    device needs every other device's hand-over (the first device's included) and writes to
    :meth:`disac_ros.runs.Run.stage2_dir`.
    """
    run = Run.create(run, model_cfg, train_cfg, data)
    side = CenterSide(run, data, center)
    out = run.stage2_dir(side.center)
    tag = "stage2" if out.name == "stage2" else out.name  # the default center keeps its seeds (resume, tests)
    dev, K = side.dev, len(side.decoders)
    train, val = side.split("train"), side.split("val")
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
        pred = side.predict(model, val, VALIDATION_SNR_DB, train_cfg.batch_size, train_cfg.max_steps_per_epoch)
        return {f"val_{k}": v for k, v in pred.normalised_metrics().items()}

    return fit(tag, out, model, loss_fn, step,
               lambda epoch: islice(train.batches(train_cfg.batch_size, epoch_seed(train_cfg.seed, tag, epoch)),
                                     train_cfg.max_steps_per_epoch),
               evaluate, train_cfg.epochs_stage2, train_cfg, run, progress)


# --- both stages -------------------------------------------------------------------------------------

def _finished(stage_dir: Path, epochs: int) -> bool:
    metrics = stage_dir / "metrics.csv"
    return metrics.exists() and len(metrics.read_text().strip().splitlines()) - 1 >= epochs


def train(data: Path, out: Path, model_cfg: ModelConfig, train_cfg: TrainConfig, stage: str = "all",
          devices: list[str] | None = None, centers: list[str] | None = None, progress: bool = True,
          skip_finished: bool = False) -> list[str]:
    """Algorithm 5 on ``data`` into the run ``out``: what ``disac train`` and ``disac benchmark`` run.

    ``stage`` "1", "2" or "all". Stage 1 trains ``devices`` (default: every device of a multi-device scheme, the
    centers only for a single-device scheme, which stops after stage 1); each collaborator then hands over its
    codes and decoder when its hand-over is missing or older than its model. Stage 2 trains TRAM + heads at each of
    ``centers`` (default: the first device), exporting any hand-over it lacks first. ``skip_finished`` leaves a
    stage alone whose ``metrics.csv`` already has every epoch (else :func:`fit` resumes it, doing nothing when it
    is complete). Returns the steps done (``stage1/<device>``, ``handover/<device>``, ``stage2...``).
    """
    from disac_ros.data.store import load_manifest
    from disac_ros.training.center import export_handover

    all_devices = [d["id"] for d in load_manifest(data)["devices"]]
    centers = list(centers or all_devices[:1])
    done: list[str] = []
    run = Run.create(out, model_cfg, train_cfg, data)

    def hand_over(senders: list[str]) -> None:
        for device in senders:
            if run.handover_stale(device):
                export_handover(run, data, device)
                done.append(f"handover/{device}")

    if stage in ("1", "all"):
        for device in devices or (all_devices if model_cfg.multi_device else centers):
            if not (skip_finished and _finished(run.stage1_dir(device), train_cfg.epochs_stage1)):
                train_stage1(data, out, device, model_cfg, train_cfg, progress=progress)
                done.append(f"stage1/{device}")
            if model_cfg.multi_device and device != centers[0]:
                hand_over([device])  # a collaborator hands over its codes and decoder; the center keeps its feature
    if stage in ("2", "all") and model_cfg.multi_device:
        for center in centers:
            hand_over(run.collaborators(center))
            if not (skip_finished and _finished(run.stage2_dir(center), train_cfg.epochs_stage2)):
                train_stage2(data, out, model_cfg, train_cfg, center=center, progress=progress)
                done.append(run.stage2_dir(center).name)
    return done
