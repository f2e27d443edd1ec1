"""Two-stage distributed training (Algorithm 5) into a run directory (layout: :mod:`disac_ros.runs`).

Stage 1 runs per device on that device's data only (``DeviceTargetDataset(devices=[k])``); devices are independent
jobs (``disac train --stage 1 --device K``), on one machine or several, that meet only through ``handover/``
(:func:`disac_ros.training.center.export_handover`). Stage 2 reads the center's own data and the collaborators'
``handover/`` files (:class:`disac_ros.training.center.CenterSide`): collaborators' images and echoes never reach
it. Every epoch is seeded from (seed, stage, device, epoch), and a checkpoint is written at every epoch's end, so a
run killed at any point and resumed ends with the same weights as an uninterrupted one. Each stage and hand-over
that did work adds its wall time and epochs to ``provenance.stages`` of ``run.json`` (:meth:`Run.note_stage`).
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
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


def lr_factor(step: int, total_steps: int, warmup_fraction: float, floor: float = 0.02) -> float:
    """Learning-rate factor at optimizer step ``step``.

    Linear warm-up over the first ``warmup_fraction`` of the steps, then cosine decay to ``floor`` at ``total_steps``.
    """
    warm = int(warmup_fraction * total_steps)
    if step < warm:
        return (step + 1) / warm
    progress = min(1.0, (step - warm) / max(1, total_steps - warm))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def fit(tag: str, out: Path, model: torch.nn.Module, loss_fn: SensingLoss, step: Callable[[dict], tuple],
        train_batches: Callable[[int], Iterable], evaluate: Callable[[], dict], epochs: int,
        train_cfg: TrainConfig, run: Run, progress: bool, steps_per_epoch: int) -> list[dict]:
    """The epoch loop shared by both stages: resume, train, validate, keep the best, stop early, log to CSV.

    Learning rate: :func:`lr_factor` per step (warm-up, cosine decay) over ``epochs * steps_per_epoch`` steps.
    ``evaluate()`` returns the validation metrics with ``val_loss``; ``model.safetensors`` is rewritten only when
    ``val_loss`` improves (the best epoch is kept, not the last), and training stops after ``train_cfg.patience``
    epochs without improvement (row ``early_stop`` 1). ``state.pt`` (last epoch, optimizer, scheduler, best loss)
    is written every epoch, atomically, so a killed run resumes where it was.
    """
    from tqdm import tqdm

    out.mkdir(parents=True, exist_ok=True)
    params = [p for p in [*model.parameters(), *loss_fn.parameters()] if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=train_cfg.lr, weight_decay=train_cfg.weight_decay)
    total_steps = max(1, epochs * steps_per_epoch)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda i: lr_factor(i, total_steps, train_cfg.warmup_fraction))
    history: list[dict] = []
    board = _tensorboard(out)
    start, best, bad = 0, math.inf, 0
    if (out / "state.pt").exists():
        state = load_state(out / "state.pt")
        if state["config"] != json.dumps(run.config, sort_keys=True):
            raise ValueError(f"{out}/state.pt belongs to another config; remove it or choose a new --out")
        model.load_state_dict(state["model"], strict=False)
        loss_fn.load_state_dict(state["loss"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        history, start = json.loads(state["history"]), state["epoch"] + 1
        best, bad = state["best_val_loss"], state["bad_epochs"]
        if history and history[-1].get("early_stop"):
            log.info("%s: stopped early after epoch %d; nothing to resume", tag, start)
            return history
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
                scheduler.step()
                total, count = total + loss.item(), count + 1
                bar.set_postfix(loss=f"{total / count:.4f}")
        model.eval()
        with torch.no_grad():
            row = {"epoch": epoch + 1, "train_loss": total / max(count, 1), "lr": scheduler.get_last_lr()[0],
                   "samples_per_s": count * train_cfg.batch_size / (time.monotonic() - t0), **evaluate()}
        val_loss = row.get("val_loss")  # None: no validation split, every epoch is kept
        improved = val_loss is None or (math.isfinite(val_loss) and val_loss < best)
        best, bad = (val_loss if val_loss is not None else best, 0) if improved else (best, bad + 1)
        stop = train_cfg.patience is not None and bad >= train_cfg.patience and epoch + 1 < epochs
        row.update(best=int(improved), early_stop=int(stop))
        history.append(row)
        log.info("%s epoch %d/%d: %s%s", tag, epoch + 1, epochs,
                 ", ".join(f"{k} {v:.4g}" for k, v in row.items() if k not in ("epoch", "best", "early_stop")),
                 " (best so far, kept)" if improved else f" (no better than {best:.4g} for {bad} epochs)")
        if improved:
            save_weights(model, out / "model.safetensors", run.weights_config)
        save_state(out / "state.pt", {"epoch": epoch, "model": trainable_state(model),
                                      "loss": loss_fn.state_dict(), "optimizer": optimizer.state_dict(),
                                      "scheduler": scheduler.state_dict(), "best_val_loss": best, "bad_epochs": bad,
                                      "history": json.dumps(history), "config": json.dumps(run.config, sort_keys=True)})
        write_csv_atomic(out / "metrics.csv", history)
        if board is not None:
            for key, value in row.items():
                if key != "epoch":
                    board.add_scalar(f"{tag}/{key}", value, epoch + 1)
            board.flush()
        if stop:
            log.info("%s: validation loss not better for %d epochs: stopping early, keeping epoch %d", tag, bad,
                     epoch + 1 - bad)
            break
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

def _steps(n: int, train_cfg: TrainConfig) -> int:
    """Optimizer steps per epoch over n samples (``max_steps_per_epoch`` caps it)."""
    steps = math.ceil(n / train_cfg.batch_size)
    return min(steps, train_cfg.max_steps_per_epoch) if train_cfg.max_steps_per_epoch else steps


def train_stage1(data: Path, run: Path, device_id: str, model_cfg: ModelConfig, train_cfg: TrainConfig,
                 progress: bool = True, link: bool | None = None) -> list[dict]:
    """Train one device's model on that device's own data (Alg. 5 lines 1-8).

    ``link`` None: RVFN + LSTN + local head through the link for a multi-device scheme (a collaborator, into
    ``RUN/stage1/<device>``), RVFN + head for a single-device one; False for a multi-device scheme: the aggregation
    center's own RVFN + head without a link (``RUN/center/<device>``, the MM-SD model; it never transmits).
    Seeds depend on (seed, device), not on the role, so the center's own model is the MM-SD model of that seed.
    """
    t0 = time.monotonic()
    run = Run.create(run, model_cfg, train_cfg, data)
    dev = pick_device()
    torch.manual_seed(epoch_seed(train_cfg.seed, "init", device_id))
    train_ds = DeviceTargetDataset(data, "train", devices=[device_id])
    val_ds = DeviceTargetDataset(data, "val", devices=[device_id])
    model = run.build_device_model(link).to(dev)
    loss_fn = SensingLoss(weights=train_cfg.loss_weights, uncertainty=train_cfg.uncertainty_loss).to(dev)
    tag = f"stage1/{device_id}"
    out = run.stage1_dir(device_id) if model.uses_link or not model_cfg.multi_device else run.center_dir(device_id)

    def step(batch):
        b = {k: v.to(dev) for k, v in batch.items()}
        pred = model(b["image"], b["echo"], None, b["link_distance"], b["detection"])
        return pred, b["labels_norm"], b["class_id"]

    def evaluate() -> dict:
        if not len(val_ds):
            return {}
        outs, labels, classes = [], [], []
        for batch in islice(_loader(val_ds, train_cfg, None), train_cfg.max_steps_per_epoch):
            b = {k: v.to(dev) for k, v in batch.items()}
            snr = torch.full((b["image"].shape[0],), VALIDATION_SNR_DB, device=dev)
            outs.append(model(b["image"], b["echo"], snr, b["link_distance"], b["detection"]))
            labels.append(b["labels_norm"])
            classes.append(b["class_id"])
        pred = Predictions.from_outputs(outs, torch.cat(labels), torch.cat(classes))
        return {"val_loss": pred.loss(loss_fn), **{f"val_{k}": v for k, v in pred.normalised_metrics().items()}}

    before = _epochs_logged(out)
    history = fit(tag, out, model, loss_fn, step,
                  lambda epoch: islice(_loader(train_ds, train_cfg, epoch_seed(train_cfg.seed, tag, "data", epoch)),
                                       train_cfg.max_steps_per_epoch),
                  evaluate, train_cfg.epochs_stage1, train_cfg, run, progress, _steps(len(train_ds), train_cfg))
    run.note_stage(str(out.relative_to(run.path)), time.monotonic() - t0, _epochs_logged(out) - before)
    return history


# --- stage 2 -----------------------------------------------------------------------------------------

def train_stage2(data: Path, run: Path, model_cfg: ModelConfig, train_cfg: TrainConfig, center: str | None = None,
                 progress: bool = True) -> list[dict]:
    """Train TRAM + heads at the center from received codes only (Alg. 5 lines 9-13).

    The model starts from the center's own head with TRAM at the identity (:meth:`CenterModel.starting_from`), i.e.
    equal to the center's MM-SD model. Every step draws each link's SNR from ``train.snr_range_db``, drops each
    collaborator with ``train.drop_probability`` and, in a ``train.drop_all_fraction`` of the batches, all of them,
    so the model also serves when devices are missing and never unlearns the center alone. A ``center`` other than
    the run's first device writes to :meth:`disac_ros.runs.Run.stage2_dir`.
    """
    t0 = time.monotonic()
    run = Run.create(run, model_cfg, train_cfg, data)
    side = CenterSide(run, data, center)
    out = run.stage2_dir(side.center)
    tag = "stage2" if out.name == "stage2" else out.name  # the default center keeps its seeds (resume, tests)
    dev, K = side.dev, len(side.decoders)
    train, val = side.split("train"), side.split("val")
    torch.manual_seed(epoch_seed(train_cfg.seed, "init", tag))
    model = CenterModel.starting_from(side.center_model).to(dev)
    loss_fn = SensingLoss(weights=train_cfg.loss_weights, uncertainty=train_cfg.uncertainty_loss).to(dev)
    lo, hi = train_cfg.snr_range_db

    def step(idx):
        snr = lo + (hi - lo) * torch.rand(len(idx), K, device=dev)
        mask = torch.rand(len(idx), K, device=dev) >= train_cfg.drop_probability
        if torch.rand(()) < train_cfg.drop_all_fraction:
            mask[:] = False
        pred = model(train.center_features[idx].to(dev), side.decode(train, idx, snr), mask, side.poses,
                     side.detection(train, idx))
        return pred, train.labels_norm[idx].to(dev), train.class_id[idx].to(dev)

    def evaluate() -> dict:
        if not len(val):
            return {}
        pred = side.predict(model, val, VALIDATION_SNR_DB, train_cfg.batch_size, train_cfg.max_steps_per_epoch)
        return {"val_loss": pred.loss(loss_fn), **{f"val_{k}": v for k, v in pred.normalised_metrics().items()}}

    before = _epochs_logged(out)
    history = fit(tag, out, model, loss_fn, step,
                  lambda epoch: islice(train.batches(train_cfg.batch_size, epoch_seed(train_cfg.seed, tag, epoch)),
                                       train_cfg.max_steps_per_epoch),
                  evaluate, train_cfg.epochs_stage2, train_cfg, run, progress, _steps(len(train), train_cfg))
    run.note_stage(out.name, time.monotonic() - t0, _epochs_logged(out) - before)
    return history


def _epochs_logged(stage_dir: Path) -> int:
    """Rows of a stage's ``metrics.csv`` (0 without one): how many epochs it has trained."""
    import csv

    metrics = stage_dir / "metrics.csv"
    return len(list(csv.DictReader(metrics.read_text().splitlines()))) if metrics.exists() else 0


def adopt_center_model(source: Run, target: Run, center: str) -> bool:
    """Use a finished single-device run's model of ``center`` as a multi-device run's center model.

    The aggregation center trains its RVFN + head without a link, i.e. exactly the single-device scheme of the same
    modality (MM-SD for RF + camera), with the same seeds (:func:`train_stage1`). When ``source`` is that run, with
    the same training config, the same dataset and the same model config apart from the link's fields, its weights
    are written into ``target``'s :meth:`Run.center_dir` (with ``target``'s weights config) and its metrics copied,
    instead of training the same model again. Returns whether it adopted; never overwrites an existing center model.
    """
    import shutil

    link_fields = {"scheme", "decoder", "decoder_path", "L_se", "d_se", "decoder_layers", "lora_r", "lora_layers",
                   "tram_layers", "tram_heads"}
    src, dst = source.stage1_dir(center), target.center_dir(center)
    same_model = {k: v for k, v in source.config["model"].items() if k not in link_fields} == \
        {k: v for k, v in target.config["model"].items() if k not in link_fields}
    if (dst / "model.safetensors").exists() or source.model_cfg.multi_device or not same_model or \
            source.config["train"] != target.config["train"] or source.dataset_digest != target.dataset_digest \
            or source.dataset_digest is None or not _finished(src, source.train_cfg.epochs_stage1):
        return False
    model = source.load_device_model(center)
    target_model = target.build_device_model(link=False)
    target_model.load_state_dict(model.state_dict())
    save_weights(target_model, dst / "model.safetensors", target.weights_config)
    shutil.copyfile(src / "metrics.csv", dst / "metrics.csv")
    (dst / "adopted_from.txt").write_text(f"{src}\n")
    log.info("%s: adopted %s's model of %s as its center model (the same training)", target.path, source.path,
             center)
    return True


# --- both stages -------------------------------------------------------------------------------------

def _finished(stage_dir: Path, epochs: int) -> bool:
    """Whether ``metrics.csv`` has every epoch or ends with an early stop."""
    import csv

    metrics = stage_dir / "metrics.csv"
    if not metrics.exists():
        return False
    rows = list(csv.DictReader(metrics.read_text().splitlines()))
    return len(rows) >= epochs or (bool(rows) and rows[-1].get("early_stop") == "1")


def train(data: Path, out: Path, model_cfg: ModelConfig, train_cfg: TrainConfig, stage: str = "all",
          devices: list[str] | None = None, centers: list[str] | None = None, progress: bool = True,
          skip_finished: bool = False) -> list[str]:
    """Algorithm 5 on ``data`` into the run ``out``: what ``disac train`` and ``disac benchmark`` run.

    ``stage`` "1", "2" or "all". Stage 1 trains ``devices`` (default: every device of a multi-device scheme, the
    centers only for a single-device scheme, which stops after stage 1). In a multi-device scheme a center trains
    its own model without a link (``RUN/center/<device>``) and every device that is a collaborator of some center
    trains through the link (``RUN/stage1/<device>``) and then hands over its codes and decoder when its hand-over
    is missing or older than its model. Stage 2 trains TRAM + heads at each of
    ``centers`` (default: the first device), first training any own or collaborator model it lacks (a center
    stage 1 did not train for) and exporting any hand-over it lacks. ``skip_finished`` leaves a
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
                t0 = time.monotonic()
                export_handover(run, data, device)
                run.note_stage(f"handover/{device}", time.monotonic() - t0)
                done.append(f"handover/{device}")

    def stage1(device: str, link: bool | None) -> None:
        where = run.center_dir(device) if link is False else run.stage1_dir(device)
        if not (skip_finished and _finished(where, train_cfg.epochs_stage1)):
            train_stage1(data, out, device, model_cfg, train_cfg, progress=progress, link=link)
            done.append(str(where.relative_to(run.path)))

    if stage in ("1", "all"):
        for device in devices or (all_devices if model_cfg.multi_device else centers):
            if not model_cfg.multi_device:
                stage1(device, None)
                continue
            if device in centers:
                stage1(device, False)  # the center's own RVFN + head: it never transmits its feature
            if any(c != device for c in centers):
                stage1(device, True)   # a collaborator of some center: through the link, then hand over
                hand_over([device])
    if stage in ("2", "all") and model_cfg.multi_device:
        for center in centers:
            # another center than stage 1 trained for needs its own model and its collaborators' linked models
            if not (run.center_dir(center) / "model.safetensors").exists():
                stage1(center, False)
            for device in run.collaborators(center):
                if not (run.stage1_dir(device) / "model.safetensors").exists() and \
                        not (run.handover_dir(device) / "codes.safetensors").exists():
                    stage1(device, True)
            hand_over(run.collaborators(center))
            if not (skip_finished and _finished(run.stage2_dir(center), train_cfg.epochs_stage2)):
                train_stage2(data, out, model_cfg, train_cfg, center=center, progress=progress)
                done.append(run.stage2_dir(center).name)
    return done
