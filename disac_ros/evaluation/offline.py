"""Offline evaluation of a trained run (``disac evaluate --run RUN --data DIR``): Eqs. (59)-(61) per SNR and center.

For every aggregation center that has a trained model and every link SNR, the scheme's estimates on a split are
scored with NMSE in dB (Eq. 59), RMSE (Eq. 60) and accuracy (Eq. 61), twice:

* ``"normalised"``: on the (0, 1) values the heads predict and train on, ``x_n = (x - offset) / scale`` (the
  paper's convention: Eq. 59 says the prediction is in (0, 1); Table III is compared with these);
* ``"si"``: on SI values ``x = x_n * scale + offset``: distance [m], azimuth and pitch [rad], radial velocity [m/s].

What is scored per scheme:

* multi-device schemes (SM-MD, LLM-DiSAC, lossless): the center's stage-2 TRAM + heads over its own feature and
  every collaborator's code after the channel at the given SNR, decoded by that collaborator's decoder
  (``"metrics"``), and the same model with every collaborator masked (``"center_only"``, SNR-independent: the
  center's own feature never crosses a link). The lossless scheme's channel adds no noise (its SNR only enters the
  decoder's prompt);
* single-device schemes (SM-SD, MM-SD): the center's stage-1 RVFN + head alone; no link, so one evaluation serves
  every SNR (``"snr_independent": true``).

Determinism: channel noise is drawn from torch's global generator, re-seeded from (seed, center, SNR) before each
pass, and the models run in eval mode, so two evaluations with the same seed give identical numbers.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from disac_ros.config import ModelConfig
from disac_ros.data import store
from disac_ros.data.datasets import DeviceTargetDataset
from disac_ros.evaluation.paper import EVAL_SNRS_DB
from disac_ros.metrics import sensing_metrics_both
from disac_ros.training import trainer

log = logging.getLogger(__name__)


@dataclass
class Predictions:
    """Estimates and truth of N samples: ``pred``/``true`` [N, 4] normalised, ``logits`` [N, C], ``class_id`` [N]."""

    pred: np.ndarray
    true: np.ndarray
    logits: np.ndarray
    class_id: np.ndarray

    def metrics(self, offset: np.ndarray, scale: np.ndarray) -> dict[str, dict[str, float]]:
        return sensing_metrics_both(self.pred, self.true, self.logits, self.class_id, offset, scale)


def snr_key(snr_db: float) -> str:
    """JSON key of an SNR: ``0.0 -> "0"``, ``12.5 -> "12.5"``."""
    return f"{float(snr_db):g}"


def run_info(run: Path) -> tuple[dict, ModelConfig]:
    """``run.json`` of a run and its model config."""
    path = Path(run) / "run.json"
    if not path.exists():
        raise FileNotFoundError(f"{run} has no run.json: not a training run (train one with `disac train`)")
    config = json.loads(path.read_text())
    return config, ModelConfig.model_validate(config["model"])


def trained_centers(run: Path) -> list[str]:
    """Devices that can serve as aggregation center of this run, in the run's device order.

    Multi-device schemes: devices with a stage-2 model (:func:`trainer.stage2_dir`); single-device schemes: devices
    with a stage-1 model.
    """
    config, model_cfg = run_info(run)
    if model_cfg.multi_device:
        return [d for d in config["devices"] if (trainer.stage2_dir(run, d) / "model.safetensors").exists()]
    return [d for d in config["devices"] if (Path(run) / "stage1" / d / "model.safetensors").exists()]


@torch.no_grad()
def predict_single_device(data: Path, run: Path, device_id: str, split: str = "test",
                          batch_size: int = 64) -> Predictions:
    """Stage-1 predictions of a single-device scheme's model on ``device_id``'s own samples of ``split``."""
    model = trainer.load_device_model(run, device_id, data).to(trainer.pick_device())
    dev = next(model.parameters()).device
    ds = DeviceTargetDataset(data, split, devices=[device_id])
    if not len(ds):
        raise ValueError(f"split {split!r} of {data} is empty")
    outs, labels, classes = [], [], []
    for batch in DataLoader(ds, batch_size=batch_size):
        outs.append(model(batch["image"].to(dev), batch["echo"].to(dev)))
        labels.append(batch["labels_norm"])
        classes.append(batch["class_id"])
    return Predictions(pred=torch.cat([o["regression"] for o in outs]).cpu().numpy(),
                       true=torch.cat(labels).numpy(), logits=torch.cat([o["logits"] for o in outs]).cpu().numpy(),
                       class_id=torch.cat(classes).numpy())


@torch.no_grad()
def predict_center(side: trainer.CenterSide, model: torch.nn.Module, part: trainer.AggregationData,
                   snr_db: float | None, batch_size: int = 64) -> Predictions:
    """Stage-2 predictions over ``part``: every collaborator at link SNR ``snr_db``, or none when ``snr_db`` is None."""
    outs = []
    K = len(side.decoders)
    for idx in part.batches(batch_size, None):
        center = part.center_features[idx].to(side.dev)
        if snr_db is None or K == 0:
            collab = torch.empty(len(idx), 0, side.cfg.L_sf, side.cfg.d_sf, device=side.dev)
        else:
            collab = side.decode(part, idx, torch.full((len(idx), K), float(snr_db), device=side.dev))
        outs.append(model(center, collab))
    return Predictions(pred=torch.cat([o["regression"] for o in outs]).cpu().numpy(), true=part.labels_norm.numpy(),
                       logits=torch.cat([o["logits"] for o in outs]).cpu().numpy(), class_id=part.class_id.numpy())


def evaluate_offline(data: Path, run: Path, snrs_db: tuple[float, ...] | list[float] = EVAL_SNRS_DB,
                     centers: list[str] | None = None, split: str = "test", seed: int = 0,
                     batch_size: int = 64) -> dict:
    """Every metric of one run on ``split`` at each SNR [dB] and for each aggregation center.

    ``centers`` defaults to every center with a trained model (:func:`trained_centers`). Returns::

        {"run", "data", "split", "seed", "scheme", "decoder", "multi_device", "lossless", "samples": N per center,
         "snrs_db": [...], "classes": [...], "units": {"normalised": ..., "si": ...},
         "centers": {device: {"position": 1-based index, "snr_independent": bool,
                              "by_snr": {"20": {"metrics": {"normalised": {...}, "si": {...}},
                                                "center_only": {...}  (multi-device only)}}}}}
    """
    data, run = Path(data), Path(run)
    config, model_cfg = run_info(run)
    manifest = store.load_manifest(data)
    if manifest["config_digest"] != config["data_config_digest"]:
        raise ValueError(f"{run} was trained on dataset config {config['data_config_digest']}, but {data} has "
                         f"{manifest['config_digest']}; evaluate on the dataset the run was trained on")
    offset, scale = store.normalization_arrays(manifest)
    devices = config["devices"]
    available = trained_centers(run)
    centers = list(centers) if centers else available
    missing = [c for c in centers if c not in available]
    if missing:
        what = "stage-2 model" if model_cfg.multi_device else "stage-1 model"
        raise FileNotFoundError(f"{run} has no {what} with {missing} as aggregation center (trained: {available}); "
                                "`disac benchmark` trains one stage 2 per center")
    if not centers:
        raise FileNotFoundError(f"{run} has no trained model to evaluate")
    snrs = [float(s) for s in snrs_db]
    result: dict = {
        "run": str(run), "data": str(data), "split": split, "seed": seed, "scheme": model_cfg.scheme,
        "decoder": model_cfg.decoder if model_cfg.multi_device else None, "multi_device": model_cfg.multi_device,
        "lossless": model_cfg.lossless, "snrs_db": snrs, "classes": manifest["classes"], "samples": {},
        "units": {"normalised": "x_n = (x - offset) / scale in (0, 1); NMSE in dB, RMSE unitless",
                  "si": "distance m, azimuth rad, pitch rad, radial velocity m/s; NMSE in dB"},
        "normalization": {"offset": offset.tolist(), "scale": scale.tolist()},
        "model": config["model"], "train": config["train"], "centers": {},
    }
    for center in centers:
        entry: dict = {"position": devices.index(center) + 1, "snr_independent": not model_cfg.multi_device,
                       "by_snr": {}}
        if not model_cfg.multi_device:
            metrics = predict_single_device(data, run, center, split, batch_size).metrics(offset, scale)
            result["samples"][center] = len(DeviceTargetDataset(data, split, devices=[center]))
            entry["by_snr"] = {snr_key(s): {"metrics": metrics} for s in snrs}
        else:
            side = trainer.CenterSide(data, run, model_cfg, center)
            model = trainer.load_center_model(run, center).to(side.dev)
            part = side.data(data, run, split)
            if not len(part):
                raise ValueError(f"split {split!r} of {data} is empty")
            result["samples"][center] = len(part)
            center_only = predict_center(side, model, part, None, batch_size).metrics(offset, scale)
            for s in snrs:
                torch.manual_seed(trainer.epoch_seed(seed, "evaluate", center, snr_key(s)))
                metrics = predict_center(side, model, part, s, batch_size).metrics(offset, scale)
                entry["by_snr"][snr_key(s)] = {"metrics": metrics, "center_only": center_only}
                log.info("%s %s @ %s dB: accuracy %.4f, NMSE distance %.2f dB", run.name, center, snr_key(s),
                         metrics["normalised"]["accuracy"], metrics["normalised"]["nmse_db_distance"])
        result["centers"][center] = entry
    return result


def format_run_table(result: dict, scale: str = "normalised") -> str:
    """A plain-text table of :func:`evaluate_offline`'s result: one row per (center, SNR)."""
    from disac_ros.metrics import PARAMETERS

    short = {"distance": "dist", "azimuth": "az", "pitch": "pitch", "radial_velocity": "vel"}
    head = (f"{'center':<10} {'SNR dB':>6} {'acc %':>6} "
            + " ".join(f"{'NMSE ' + short[p]:>10}" for p in PARAMETERS) + " "
            + " ".join(f"{'RMSE ' + short[p]:>10}" for p in PARAMETERS))
    lines = [f"run {result['run']} ({result['scheme']}"
             + (f", decoder {result['decoder']}" if result["decoder"] else "") + f"), split {result['split']}, "
             f"metrics on {scale} values ({result['units'][scale]})", head]
    for center, entry in result["centers"].items():
        for snr, row in entry["by_snr"].items():
            m = row["metrics"][scale]
            lines.append(f"{center:<10} {snr + ('*' if entry['snr_independent'] else ''):>6} "
                         f"{100 * m['accuracy']:6.2f} "
                         + " ".join(f"{m['nmse_db_' + p]:10.3f}" for p in PARAMETERS) + " "
                         + " ".join(f"{m['rmse_' + p]:10.4f}" for p in PARAMETERS))
    if any(e["snr_independent"] for e in result["centers"].values()):
        lines.append("* single-device scheme: no link, the same numbers at every SNR")
    return "\n".join(lines)
