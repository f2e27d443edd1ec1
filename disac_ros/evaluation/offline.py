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

A dataset of the run's world drawn with another seed or size (:meth:`disac_ros.config.SceneConfig.digest`) is
evaluated like its own: the collaborators' codes of that dataset are encoded from their stage-1 models and its
records kept apart (:class:`disac_ros.runs.OtherDataRun`). :func:`evaluate_fresh_world` draws such a dataset for a
preset (in a child process, as ``disac generate``) and sets its accuracy beside the test split's.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from disac_ros.data import store
from disac_ros.data.datasets import DeviceTargetDataset
from disac_ros.evaluation.paper import EVAL_SNRS_DB
from disac_ros.evaluation.samples import Scored
from disac_ros.files import locked
from disac_ros.runs import WEIGHTS, OtherDataRun, Run, pick_device
from disac_ros.training.center import CenterSide, Predictions, sample_keys
from disac_ros.training.trainer import epoch_seed

log = logging.getLogger(__name__)


def snr_key(snr_db: float) -> str:
    """JSON key of an SNR: ``0.0 -> "0"``, ``12.5 -> "12.5"``."""
    return f"{float(snr_db):g}"


@torch.no_grad()
def predict_single_device(run: Run, data: Path, device_id: str, split: str = "test",
                          batch_size: int = 64) -> tuple[Predictions, np.ndarray]:
    """Stage-1 predictions of a single-device scheme's model on ``device_id``'s own samples of ``split``.

    Also whether each sample's line of sight is blocked [N].
    """
    dev = pick_device()
    model = run.load_device_model(device_id, dev)
    ds = DeviceTargetDataset(data, split, devices=[device_id])
    if not len(ds):
        raise ValueError(f"split {split!r} of {data} is empty")
    outs, labels, classes, blocked = [], [], [], []
    for batch in DataLoader(ds, batch_size=batch_size):
        outs.append(model(batch["image"].to(dev), batch["echo"].to(dev), detection=batch["detection"].to(dev)))
        labels.append(batch["labels_norm"])
        classes.append(batch["class_id"])
        blocked.append(batch["blocked"])
    return Predictions.from_outputs(outs, torch.cat(labels), torch.cat(classes)), torch.cat(blocked).numpy()


def records_path(run: Run, split: str, center: str, variant: str, snr_db: float | None = None) -> Path:
    """Where :func:`evaluate_offline` keeps per-sample outcomes (:class:`~disac_ros.evaluation.samples.Scored`).

    ``variant``: "full" (the scheme as deployed; single-device schemes too), "center_only" (every collaborator
    masked), "prompt-none" / "prompt-wrong" (the decoders told nothing / a wrong link, :data:`PROMPTS`),
    "lossless-link" (the codes without channel noise).
    """
    tail = variant if snr_db is None else f"{variant}@{snr_key(snr_db)}dB"
    return run.eval_dir / split / center / f"{tail}.npz"


def encode_codes(run: OtherDataRun, data: Path, devices: list[str]) -> None:
    """Encode each of ``devices``' codes of ``run.split`` of ``data``, a dataset the run was not trained on.

    From its stage-1 model, into :meth:`OtherDataRun.handover_dir`, unless they are there and newer than the model.
    """
    import os

    from disac_ros.training.center import export_split_codes, split_codes_path

    for device in devices:
        model = run.stage1_dir(device) / WEIGHTS
        codes = run.handover_dir(device) / "codes.safetensors"
        if not model.exists():
            raise FileNotFoundError(f"{model} is not here to encode {device}'s samples of {data}, a dataset the run "
                                    "was not trained on: evaluate where the stage-1 models are")
        if _newer(codes, model):
            continue
        with locked(codes.parent):  # evaluations started at once on the same data: one encodes
            if not _newer(codes, model):
                export_split_codes(run, Path(data), device, run.split)
                os.replace(split_codes_path(run, device, run.split), codes)


def _newer(path: Path, than: Path) -> bool:
    return path.exists() and path.stat().st_mtime >= than.stat().st_mtime


def example_rows(pred: Predictions, keys: list[tuple], classes: list[str], offset: np.ndarray, scale: np.ndarray,
                 count: int) -> list[dict]:
    """The first ``count`` estimates beside the truth in SI units (distance m, angles rad, velocity m/s)."""
    si_pred, si_true = pred.pred[:count] * scale + offset, pred.true[:count] * scale + offset
    return [{"key": list(keys[i]), "pred_class": classes[int(pred.logits[i].argmax())],
             "true_class": classes[int(pred.class_id[i])], "pred": si_pred[i].tolist(), "true": si_true[i].tolist()}
            for i in range(min(count, len(si_pred)))]


def evaluate_offline(data: Path, run: Path | Run, snrs_db: tuple[float, ...] | list[float] = EVAL_SNRS_DB,
                     centers: list[str] | None = None, split: str = "test", seed: int = 0,
                     batch_size: int = 64, examples: int = 0, prompts: tuple[str, ...] = ("true",),
                     lossless_link: bool = False, records: bool = False, decoder_precision: str = "float32") -> dict:
    """Every metric of one run on ``split`` at each SNR [dB] and for each aggregation center.

    The one evaluation of a trained run: ``disac evaluate``, ``disac benchmark`` and ``disac demo`` call it.
    ``centers`` defaults to every center with a trained model (:meth:`Run.trained_centers`); ``examples`` > 0 keeps
    that many estimates per (center, SNR) in SI units beside the truth (``"examples"``). ``prompts`` beyond
    "true" add the decoder-prompt ablations of multi-device schemes (``"prompt_none"``, ``"prompt_wrong"``: the
    decoders told nothing, or a wrong link, :meth:`CenterSide.decode`); ``lossless_link`` adds, once per center,
    the trained model over a noiseless link, its decoders told the top of the training SNR range
    (``"lossless_link"``, an upper bound of what a better link gives). ``records`` also writes every evaluation's
    per-sample outcomes to :func:`records_path` (what the report's intervals are computed from), which hold the
    float32 model's: ``decoder_precision`` "int8" (:func:`disac_ros.models.decoders.for_inference`, the aggregator
    node's option) is refused with ``records``. Returns::

        {"run", "data", "split", "seed", "dataset": {"config_digest", "dataset_digest", "seed"},
         "trained_on_this_dataset": bool (False: another dataset of the run's world, :class:`OtherDataRun`),
         "scheme", "decoder", "decoder_precision", "multi_device", "lossless",
         "samples": N per center,
         "snrs_db": [...], "classes": [...], "units": {"normalised": ..., "si": ...},
         "centers": {device: {"position": 1-based index, "snr_independent": bool,
                              "by_snr": {"20": {"metrics": {"normalised": {...}, "si": {...}},
                                                "center_only": {...}  (multi-device only),
                                                "examples": [...] (with examples > 0)}}}}}
    """
    if records and decoder_precision != "float32":
        raise ValueError(f"records hold the float32 model's outcomes; evaluate decoder_precision "
                         f"{decoder_precision!r} without records")
    data = Path(data)
    run = run if isinstance(run, Run) else Run(run)
    manifest = run.check_data(data)
    run = run.for_data(manifest, split)  # another dataset of the run's world: its codes and records kept apart
    model_cfg = run.model_cfg
    offset, scale = store.normalization_arrays(manifest)
    available = run.trained_centers()
    centers = list(centers) if centers else available
    missing = [c for c in centers if c not in available]
    if missing:
        what = "stage-2 model" if model_cfg.multi_device else "stage-1 model"
        raise FileNotFoundError(f"{run.path} has no {what} with {missing} as aggregation center (trained: "
                                f"{available}); `disac benchmark` trains one stage 2 per center")
    if not centers:
        raise FileNotFoundError(f"{run.path} has no trained model to evaluate")
    if model_cfg.multi_device and isinstance(run, OtherDataRun):
        encode_codes(run, data, sorted({k for c in centers for k in run.collaborators(c)}))
    snrs = [float(s) for s in snrs_db]
    result: dict = {
        "run": str(run.path), "data": str(data), "split": split, "seed": seed, "scheme": model_cfg.scheme,
        "dataset": store.dataset_identity(manifest), "trained_on_this_dataset": run.trained_on(manifest),
        "decoder": model_cfg.decoder if model_cfg.multi_device else None, "decoder_precision": decoder_precision,
        "multi_device": model_cfg.multi_device,
        "lossless": model_cfg.lossless, "snrs_db": snrs, "classes": manifest["classes"], "samples": {},
        "units": {"normalised": "x_n = (x - offset) / scale in (0, 1); NMSE in dB, RMSE unitless",
                  "si": "distance m, azimuth rad, pitch rad, radial velocity m/s; NMSE in dB"},
        "normalization": {"offset": offset.tolist(), "scale": scale.tolist()},
        "model": run.config["model"], "train": run.config["train"], "centers": {},
    }
    for center in centers:
        entry: dict = {"position": run.devices.index(center) + 1, "snr_independent": not model_cfg.multi_device,
                       "by_snr": {}}
        def keep(pred: Predictions, keys, blocked, variant: str, snr: float | None, center: str = center) -> None:
            if records:
                Scored.from_normalised(keys, pred.pred, pred.true, pred.logits, pred.class_id, blocked, offset,
                                       scale).save(records_path(run, split, center, variant, snr))

        if not model_cfg.multi_device:
            pred, blocked = predict_single_device(run, data, center, split, batch_size)
            keys = sample_keys(DeviceTargetDataset(data, split, devices=[center]))
            result["samples"][center] = len(keys)
            keep(pred, keys, blocked, "full", None)
            row = {"metrics": pred.metrics(offset, scale)}
            if examples:
                row["examples"] = example_rows(pred, keys, manifest["classes"], offset, scale, examples)
            entry["by_snr"] = {snr_key(s): row for s in snrs}
        else:
            side = CenterSide(run, data, center, decoder_precision)
            model = run.load_center_model(center, side.dev)
            part = side.split(split)
            if not len(part):
                raise ValueError(f"split {split!r} of {data} is empty")
            result["samples"][center] = len(part)
            alone = side.predict(model, part, None, batch_size)
            keep(alone, part.keys, part.blocked, "center_only", None)
            center_only = alone.metrics(offset, scale)
            if lossless_link:
                ideal = side.predict(model, part, run.train_cfg.snr_range_db[1], batch_size, lossless=True)
                keep(ideal, part.keys, part.blocked, "lossless-link", None)
                entry["lossless_link"] = ideal.metrics(offset, scale)
            for s in snrs:
                torch.manual_seed(epoch_seed(seed, "evaluate", center, snr_key(s)))
                pred = side.predict(model, part, s, batch_size)
                keep(pred, part.keys, part.blocked, "full", s)
                row = {"metrics": pred.metrics(offset, scale), "center_only": center_only}
                for prompt in prompts:
                    if prompt == "true":
                        continue
                    torch.manual_seed(epoch_seed(seed, "evaluate", center, snr_key(s)))  # the same channel noise
                    ablated = side.predict(model, part, s, batch_size, prompt=prompt)
                    keep(ablated, part.keys, part.blocked, f"prompt-{prompt}", s)
                    row[f"prompt_{prompt}"] = ablated.metrics(offset, scale)
                if examples:
                    row["examples"] = example_rows(pred, part.keys, manifest["classes"], offset, scale, examples)
                entry["by_snr"][snr_key(s)] = row
                log.info("%s %s @ %s dB: accuracy %.4f, NMSE distance %.2f dB", run.path.name, center, snr_key(s),
                         row["metrics"]["normalised"]["accuracy"], row["metrics"]["normalised"]["nmse_db_distance"])
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


# --- a fresh draw of the run's world -------------------------------------------------------------------------------

#: Seed and size of the dataset :func:`evaluate_fresh_world` draws: the same world as the preset's, other sequences.
FRESH_SEED = 4242
FRESH_SEQUENCES = 24
#: Every sequence a test sequence (``disac generate --split 0 0 1``): the data is only evaluated on.
EVALUATION_SPLIT = (0.0, 0.0, 1.0)


def fresh_world_data(preset: str, seed: int = FRESH_SEED, sequences: int = FRESH_SEQUENCES,
                     out: str | Path | None = None, config: str | Path | None = None) -> Path:
    """A dataset of ``preset``'s world drawn with another ``seed``: ``sequences`` sequences, all in the test split.

    Generated by ``disac generate`` in a child process (Genesis left in this one made training after it segfault),
    into ``out`` (default :func:`disac_ros.runs.default_data` of those overrides, under ``data/``); a complete one is
    re-used, an unfinished one resumed. ``config``: the scene YAML, as ``disac generate --config``.
    """
    import subprocess
    import sys

    from disac_ros.runs import default_data

    data = Path(out) if out else default_data(preset, seed, sequences, EVALUATION_SPLIT)
    command = [sys.executable, "-m", "disac_ros.cli", "generate", "--preset", preset, "--seed", str(seed),
               "--sequences", str(sequences), "--split", *(f"{f:g}" for f in EVALUATION_SPLIT), "--out", str(data),
               "--no-progress", *(["--config", str(config)] if config else [])]
    subprocess.run(command, check=True)
    return data


def evaluate_fresh_world(run_dir: str | Path, preset: str, snr: float = 20.0, seed: int = 0,
                         reference: Scored | None = None, data_seed: int = FRESH_SEED,
                         sequences: int = FRESH_SEQUENCES, data: str | Path | None = None,
                         config: str | Path | None = None) -> dict:
    """The run's accuracy on freshly drawn sequences of its world, with its 95 % interval over those sequences.

    Draws (or re-uses) :func:`fresh_world_data` (``data`` given: that dataset, generated if missing), evaluates the
    run's default center on every sequence at link SNR ``snr`` [dB] with channel-noise ``seed``, as ``disac evaluate
    --run RUN --data DATA --split test`` does, and prints one line; with ``reference`` (the test split's per-sample
    outcomes, what ``disac demo``'s ``evaluate_test_split`` returns) it prints that beside it and tells whether the
    fresh accuracy lies in the test split's interval. Returns ``{"data", "dataset", "sequences", "samples",
    "accuracy": interval, "metrics": normalised and SI metrics, "versus_test_split": compare_to_reference or None}``.
    A dataset of another world is refused naming both digests (:meth:`Run.check_data`).
    """
    from disac_ros.evaluation.analysis import compare_to_reference, metric_intervals

    run = Run(run_dir)
    data = fresh_world_data(preset, data_seed, sequences, data, config)
    center = run.center
    result = evaluate_offline(data, run, [snr], centers=[center], split="test", seed=seed, records=True)
    manifest = store.load_manifest(data)
    scored = Scored.load(records_path(run.for_data(manifest, "test"), "test", center, "full",
                                      snr if run.model_cfg.multi_device else None))
    accuracy = metric_intervals([scored], "all", seed)["accuracy"]
    versus = compare_to_reference(scored, reference, seed) if reference is not None else None
    out = {"data": str(data), "dataset": result["dataset"], "sequences": int(len(np.unique(scored.sequence))),
           "samples": len(scored), "accuracy": accuracy,
           "metrics": result["centers"][center]["by_snr"][snr_key(snr)]["metrics"], "versus_test_split": versus}
    line = (f"fresh sequences of the same world (seed {manifest['seed']}, {out['sequences']} sequences, "
            f"{out['samples']} samples, {data}): accuracy {100 * accuracy['mean']:.1f} % "
            f"[{100 * accuracy['low']:.1f}, {100 * accuracy['high']:.1f}]")
    if versus is not None:
        ref, acc = versus["accuracy"]["reference"], versus["accuracy"]
        line += (f"; test split {100 * ref['mean']:.1f} % [{100 * ref['low']:.1f}, {100 * ref['high']:.1f}] "
                 f"({'within' if acc['within'] else 'outside'} its interval)")
    print(line)
    return out
