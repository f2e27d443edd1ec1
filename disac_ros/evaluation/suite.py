"""The Table III suite behind ``disac benchmark``: train and evaluate every scheme and decoder, then report.

(Not to be confused with ``benchmarks/``, the throughput scripts; their measured rates feed :func:`estimate_seconds`
through ``config/throughput.yaml``.)

The plan (:func:`make_plan`) has one run per scheme and, for LLM-DiSAC, one per decoder (``llm-disac`` is the
LLaMA-family decoder, ``llm-disac-gpt2``, ``-lstm``, ``-gru`` the paper's baselines of Sec. V-B1). Runs live in
``OUT/runs/<name>/`` (ignored by git through ``OUT/.gitignore``) and follow :mod:`disac_ros.training.trainer`'s
layout, so an interrupted benchmark resumes: finished epochs, hand-overs and stage-2 models are re-used.

Aggregation positions (Figs. 8-10) cost little extra, because stage 1 does not depend on the center: LLM-DiSAC's
four stage-1 models are trained once, every device (the first included) hands over its codes, and only TRAM + heads
are trained again per center (``RUN/stage2-<device>``). MM-SD, a single-device scheme, trains its RVFN + head on
each position's device.

Epoch budget (:data:`BENCHMARK_EPOCHS`): on the default preset every scheme trains **5 epochs per stage** (stage 1
and stage 2), the preset's own budget, the same for every scheme so that Table III's comparisons stay fair; with
3 seeds of the headline schemes the estimate of :func:`estimate_seconds` puts the default benchmark's 17 runs at
about 115 minutes on the 2-core CPU (``disac benchmark --dry-run``; part of its rates are still the first world's,
see ``config/throughput.yaml``, :data:`THROUGHPUT_FILE`, for how and where each was measured).
"""
from __future__ import annotations

import functools
import logging
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from disac_ros.config import CONFIG_DIR, DECODER_KINDS, SCHEMES, load_section
from disac_ros.evaluation.paper import EVAL_SNRS_DB
from disac_ros.runs import Run
from disac_ros.training.center import PROMPTS

log = logging.getLogger(__name__)

#: The benchmark's epochs per stage by preset (None: the preset's own ``train.epochs_stage1/2``). Default preset:
#: 5 for every scheme and stage (``--dry-run`` prints the estimate). The same for every scheme, so Table III's
#: comparisons are between equally trained runs.
BENCHMARK_EPOCHS: dict[str, int | None] = {"default": 5, "smoke": None, "paper": None}

#: Measured throughputs behind :func:`estimate_seconds` (how and where they were measured: the file's comments).
THROUGHPUT_FILE = CONFIG_DIR / "throughput.yaml"


@functools.cache
def throughput() -> dict:
    """The content of :data:`THROUGHPUT_FILE`, read once: rates in samples/s, ``calibration``, ``startup_s``."""
    import yaml

    return yaml.safe_load(THROUGHPUT_FILE.read_text())


def _entry(*keys: str):
    """One entry of :data:`THROUGHPUT_FILE` by its path of keys; a missing one is named with the file."""
    value = throughput()
    for i, key in enumerate(keys):
        if not isinstance(value, dict) or key not in value:
            raise KeyError(f"{THROUGHPUT_FILE} has no {'.'.join(keys[:i + 1])}: measure it and add it")
        value = value[key]
    return value


def _measured(*keys: str) -> float:
    return float(_entry(*keys))


@dataclass(frozen=True)
class RunSpec:
    """One training run of the benchmark: a scheme, its decoder, the centers to train/evaluate and its epochs."""

    name: str
    scheme: str
    decoder: str
    centers: tuple[str, ...]
    epochs: int | None  # per stage; None: the preset's
    seed: int = 0       # added to the benchmark's --seed (training and evaluation)
    overrides: tuple[tuple[str, object], ...] = ()  # model config fields of a labelled variant (e.g. gating)

    @property
    def multi_device(self) -> bool:
        return SCHEMES[self.scheme][1]

    @property
    def modality(self) -> str:
        return SCHEMES[self.scheme][0]


def run_name(scheme: str, decoder: str) -> str:
    """``llm-disac`` for the default (LLaMA-family) decoder, ``llm-disac-gpt2`` etc. for the others."""
    return scheme if decoder == "llama" else f"{scheme}-{decoder}"


def parse_epochs(tokens: list[str] | None, preset: str) -> tuple[int | None, dict[str, int]]:
    """``--epochs`` tokens: ``N`` (every run) and/or ``NAME=N`` (a scheme or run name) -> (default, overrides)."""
    default, overrides = BENCHMARK_EPOCHS.get(preset), {}
    for token in tokens or []:
        name, sep, value = token.rpartition("=")
        try:
            n = int(value)
        except ValueError:
            raise ValueError(f"--epochs takes N or NAME=N (N a positive integer), got {token!r}") from None
        if n < 1:
            raise ValueError(f"--epochs: epochs must be >= 1, got {token!r}")
        if sep:
            overrides[name] = n
        else:
            default = n
    return default, overrides


#: The schemes the targets are about: trained at every seed of ``--seeds``; every other run at one seed (or
#: ``--decoder-seeds`` for LLM-DiSAC's decoder variants).
HEADLINE = ("sm-sd-rf", "mm-sd", "llm-disac")
#: Labelled variants beside the schemes: name -> (scheme, model config overrides). ``mm-sd-gated``: MMSense's
#: modality gating (compared with MM-SD under fog and low light).
VARIANTS: dict[str, tuple[str, tuple[tuple[str, object], ...]]] = {"mm-sd-gated": ("mm-sd", (("gating", True),))}


#: The single-device scheme whose model a multi-device scheme's center re-uses, by modality.
SINGLE_DEVICE = {"rf": "sm-sd-rf", "cv": "sm-sd-cv", "both": "mm-sd"}


def seed_name(name: str, seed: int) -> str:
    """``mm-sd`` for seed 0, ``mm-sd-s1`` for seed 1, ..."""
    return name if seed == 0 else f"{name}-s{seed}"


def make_plan(devices: list[str], schemes: list[str], decoders: list[str], positions: list[int],
              epochs: tuple[int | None, dict[str, int]], seeds: int = 1, decoder_seeds: int = 1,
              variants: tuple[str, ...] = ()) -> list[RunSpec]:
    """The runs for ``schemes`` (Table III order) and, for ``llm-disac``, every decoder in ``decoders``.

    ``positions`` (1-based aggregation-center positions, Figs. 8-10) apply to LLM-DiSAC with the LLaMA-family
    decoder and to MM-SD; every other run uses position 1 (the first device), as the paper's Table III and Figs. 5-7.
    :data:`HEADLINE` schemes run at ``seeds`` seeds (0, 1, ...), LLM-DiSAC's other decoders at ``decoder_seeds``,
    everything else at seed 0; ``variants`` (names of :data:`VARIANTS`) are added at seed 0.
    """
    unknown = [s for s in schemes if s not in SCHEMES]
    if unknown:
        raise ValueError(f"unknown schemes {unknown}; choose from {', '.join(SCHEMES)}")
    bad = [d for d in decoders if d not in DECODER_KINDS]
    if bad:
        raise ValueError(f"unknown decoders {bad}; choose from {', '.join(DECODER_KINDS)}")
    wrong = [p for p in positions if not 1 <= p <= len(devices)]
    if wrong:
        raise ValueError(f"positions {wrong} out of range: the dataset has {len(devices)} devices (1..{len(devices)})")
    default, overrides = epochs
    at_positions = tuple(devices[p - 1] for p in sorted(set(positions))) or (devices[0],)
    plan = []
    for scheme in SCHEMES:  # Table III order
        if scheme not in schemes:
            continue
        for decoder in (decoders if scheme == "llm-disac" else ("llama",)):
            name = run_name(scheme, decoder)
            centers = at_positions if name in ("llm-disac", "mm-sd") else (devices[0],)
            n = seeds if name in HEADLINE else decoder_seeds if scheme == "llm-disac" else 1
            for seed in range(n):
                plan.append(RunSpec(seed_name(name, seed), scheme, decoder, centers,
                                    overrides.get(name, overrides.get(scheme, default)), seed))
    for variant in variants:
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
        scheme, fields = VARIANTS[variant]
        plan.append(RunSpec(variant, scheme, "llama", (devices[0],), overrides.get(variant, default), 0, fields))
    known = {s.name for s in plan} | {s.scheme for s in plan}
    stray = sorted(set(overrides) - known)
    if stray:
        raise ValueError(f"--epochs names {stray} that are not in the plan ({', '.join(sorted(known))})")
    return plan


def _rate(compute: float, loading: float) -> float:
    return 1.0 / (1.0 / compute + 1.0 / loading)


def estimate_seconds(plan: list[RunSpec], manifest: dict, preset: str, snrs: int = len(EVAL_SNRS_DB)) -> dict:
    """Estimated wall time [s] of the plan per run, from the throughputs measured on the default preset.

    Counts, per run: stage-1 epochs (train samples of one device at the training rate + validation), hand-overs
    (every split through RVFN + encoder), stage-2 epochs (train samples at the stage-2 rate + validation decodes),
    and the evaluation (test samples x SNRs x K decodes), times the file's ``calibration``. The rates are those of
    :data:`THROUGHPUT_FILE`. Meaningful for the default preset (other presets' image sizes change the rates; their
    estimate is labelled as such).
    """
    frames = manifest["counts"]["frames"] // max(manifest["counts"]["sequences"], 1)
    N = len(manifest["targets"])
    n = {k: len(v) * frames * N for k, v in manifest["splits"].items()}  # samples per device and split
    K = len(manifest["devices"]) - 1
    train_default = load_section("train", preset)
    shuffled, sequential = _measured("loading", "shuffled"), _measured("loading", "sequential")
    startup, calibration = _measured("startup_s"), _measured("calibration")
    runs = {}
    names = {x.name for x in plan}
    for spec in plan:
        e1 = spec.epochs or train_default.epochs_stage1
        e2 = spec.epochs or train_default.epochs_stage2
        single_train = _rate(_measured("stage1", spec.modality, "single_device"), shuffled)
        single_eval = _rate(_measured("evaluation", spec.modality, "single_device"), sequential)
        own = e1 * (n["train"] / single_train + n["val"] / single_eval) + startup  # a center's own model
        if not spec.multi_device:
            seconds = len(spec.centers) * (own + n["test"] / single_eval)
        else:
            train_rate = _rate(_measured("stage1", spec.modality, spec.decoder), shuffled)
            eval_rate = _rate(_measured("evaluation", spec.modality, spec.decoder), sequential)
            linked = e1 * (n["train"] / train_rate + n["val"] / eval_rate) + startup
            features = _rate(_measured("features", spec.modality), sequential)
            decode, stage2_rate = _measured("decode", spec.decoder), _measured("stage2", spec.decoder)
            adopted = seed_name(SINGLE_DEVICE[spec.modality], spec.seed) in names and not spec.overrides
            senders = K + 1 if len(spec.centers) > 1 else K
            stage1 = (0.0 if adopted else len(spec.centers) * own) + senders * linked
            total = n["train"] + n["val"] + n["test"]
            handover = senders * total / features
            setup = (n["train"] + n["val"]) / features + startup
            stage2 = len(spec.centers) * (setup + e2 * (n["train"] / stage2_rate + n["val"] * K / decode))
            passes = snrs * (len(PROMPTS) if spec.seed == 0 and not spec.overrides else 1) + 2  # + alone, lossless
            evaluation = len(spec.centers) * (startup + n["test"] / features + passes * n["test"] * K / decode)
            seconds = stage1 + handover + stage2 + evaluation
        runs[spec.name] = calibration * seconds
    return {"runs": runs, "total_s": sum(runs.values()), "calibration": calibration,
            "basis": f"throughputs measured on the default preset ({_entry('measured_on')})"
                     + ("" if preset == "default" else f"; the {preset} preset's sizes differ: indicative only")}


@dataclass
class RunRecord:
    """What the benchmark did with one run: seconds spent training (this invocation) and evaluating."""

    spec: RunSpec
    train_seconds: float = 0.0
    eval_seconds: float = 0.0
    steps_done: list[str] = field(default_factory=list)


def train_run(spec: RunSpec, data: Path, run: Path, preset: str, seed: int | None, progress: bool,
              record: RunRecord) -> None:
    """Train (or resume, or re-use) one run: stage 1 where needed, hand-overs, one stage 2 per center."""
    from disac_ros.training import trainer

    model_cfg = load_section("model", preset, {"scheme": spec.scheme, "decoder": spec.decoder,
                                               **dict(spec.overrides)})
    over = {"epochs_stage1": spec.epochs, "epochs_stage2": spec.epochs} if spec.epochs else {}
    if seed is not None:
        over["seed"] = seed + spec.seed
    train_cfg = load_section("train", preset, over)
    t0 = time.monotonic()
    if spec.multi_device:  # the center's own model is the single-device scheme of its modality: re-use it
        single = run.parent / seed_name(SINGLE_DEVICE[spec.modality], spec.seed)
        if (single / "run.json").exists():
            target = Run.create(run, model_cfg, train_cfg, data)
            for center in spec.centers:
                if trainer.adopt_center_model(Run(single), target, center):
                    record.steps_done.append(f"center/{center} (adopted from {single.name})")
    log.info("%s: training what is missing (%d + %d epochs, centers %s)", spec.name, train_cfg.epochs_stage1,
             train_cfg.epochs_stage2, ", ".join(spec.centers))
    record.steps_done += trainer.train(data, run, model_cfg, train_cfg, centers=list(spec.centers),
                                       progress=progress, skip_finished=True)
    record.train_seconds += time.monotonic() - t0


def equivalent_commands(spec: RunSpec, data: Path, run: Path, preset: str, seed: int, snrs: list[float]) -> list[str]:
    """``disac train`` / ``disac evaluate`` calls that build and score the same run directory as the benchmark.

    ``seed`` is the benchmark's; the run's own is ``seed + spec.seed``. Multi-device runs: one ``disac train``
    with ``--center`` naming every aggregation-center position.
    """
    import shlex

    seed += spec.seed

    base = ["disac", "train", "--data", str(data), "--out", str(run), "--preset", preset, "--scheme", spec.scheme]
    if spec.multi_device and spec.decoder != "llama":
        base += ["--decoder", spec.decoder]
    if spec.epochs:
        base += ["--epochs", str(spec.epochs)]
    base += ["--seed", str(seed), "--no-progress"]
    lines = []
    if spec.multi_device:
        lines.append(shlex.join(base + (["--center", *spec.centers] if len(spec.centers) > 1 else [])))
    else:
        lines += [shlex.join(base + ["--stage", "1", "--device", c]) for c in spec.centers]
    lines.append(shlex.join(["disac", "evaluate", "--run", str(run), "--data", str(data), "--snr",
                             *(f"{x:g}" for x in snrs), "--seed", str(seed), "--centers", *spec.centers]))
    return lines


def machine() -> str:
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {gpu}, torch {torch.__version__},"
            f" {torch.get_num_threads()} threads")


def kept_metrics(run: Path) -> dict[str, dict]:
    """The metrics.csv row of the epoch whose checkpoint was kept (the best validation loss), per stage.

    Stages: ``center/<device>``, ``stage1/<device>``, ``stage2``, ``stage2-<device>``; each row also gets
    ``epochs_run`` (fewer than the budget after an early stop).
    """
    import csv

    out = {}
    for path in sorted({*run.glob("center/*/metrics.csv"), *run.glob("stage*/**/metrics.csv")}):
        rows = list(csv.DictReader(path.read_text().splitlines()))
        if rows:
            kept = [r for r in rows if r.get("best", "1") == "1"][-1:] or rows[-1:]
            row = {k: float(v) for k, v in kept[0].items() if v != ""}
            out[str(path.parent.relative_to(run))] = {**row, "epochs_run": len(rows)}
    return out


def run_benchmark(data: Path, out: Path, preset: str, plan: list[RunSpec], snrs: list[float], seed: int,
                  table_snr: float, commands: list[str], progress: bool = True, timing_repeats: int = 20) -> dict:
    """Train and evaluate every run of ``plan``; write its outputs to ``out``.

    results.json, summary.json, per_sequence.json (the per-sequence sufficient statistics every interval is
    computed from), report.md and the plots. Returns the results dictionary (what ``results.json`` holds).
    """
    from tqdm import tqdm

    from disac_ros import provenance
    from disac_ros.data.store import load_manifest
    from disac_ros.evaluation import cost, offline, report

    out.mkdir(parents=True, exist_ok=True)
    runs_root = out / "runs"
    runs_root.mkdir(exist_ok=True)
    gitignore = out / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text("# training runs of the benchmark (hundreds of MB); the report, plots and JSON are kept\n"
                             "runs/\n")
    manifest = load_manifest(data)
    estimate = estimate_seconds(plan, manifest, preset, len(snrs))
    log.info("benchmark: %d runs, estimated %.0f min (%s)", len(plan), estimate["total_s"] / 60, estimate["basis"])
    t_start = time.monotonic()
    results: dict = {
        "name": out.name, "preset": preset, "data": str(data), "data_config_digest": manifest["config_digest"],
        "out": str(out), "commands": commands, "machine": machine(),
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "snrs_db": snrs, "table_snr_db": table_snr,
        "seed": seed, "plan": [asdict(s) for s in plan], "estimate": estimate,
        "dataset": {"counts": manifest["counts"], "splits": {k: len(v) for k, v in manifest["splits"].items()},
                    "camera": manifest["config"]["camera"], "devices": [d["id"] for d in manifest["devices"]],
                    "classes": manifest["classes"]},
        "runs": {},
    }
    bar = tqdm(plan, desc="benchmark", disable=not progress, dynamic_ncols=True)
    for i, spec in enumerate(bar):
        bar.set_postfix_str(spec.name)
        log.info("benchmark [%d/%d] %s (%s, decoder %s, centers %s, epochs %s)", i + 1, len(plan), spec.name,
                 spec.scheme, spec.decoder, ",".join(spec.centers), spec.epochs or "preset")
        run = runs_root / spec.name
        record = RunRecord(spec)
        train_run(spec, data, run, preset, seed, progress, record)
        t0 = time.monotonic()
        prompts = PROMPTS if spec.multi_device and spec.seed == 0 and not spec.overrides else ("true",)
        inputs = {"data": manifest["config_digest"], "snrs": snrs, "seed": seed + spec.seed, "prompts": prompts,
                  "centers": spec.centers, "timing_repeats": timing_repeats}
        cached = cached_evaluation(run, inputs)
        if cached is None:
            cfg = Run(run).model_cfg
            cached = {
                "evaluation": offline.evaluate_offline(data, run, snrs, centers=list(spec.centers),
                                                       seed=seed + spec.seed, prompts=prompts,
                                                       lossless_link=base_name(spec) == "llm-disac", records=True),
                "cost": cost.communication_cost(manifest, cfg.L_se, cfg.d_se, snrs, multi_device=spec.multi_device),
                "execution_time": cost.execution_time(data, run, snrs, repeats=timing_repeats),
            }
            save_evaluation(run, inputs, cached)
        entry = {
            "spec": asdict(spec), "run": str(run),
            "equivalent_commands": equivalent_commands(spec, data, run, preset, seed, snrs),
            "train_seconds": record.train_seconds, "trained_now": record.steps_done,
            "estimated_seconds": estimate["runs"][spec.name], **cached,
            "training": kept_metrics(run),
        }
        record.eval_seconds = time.monotonic() - t0
        entry["eval_seconds"] = record.eval_seconds
        results["runs"][spec.name] = entry
        results["wall_seconds"] = time.monotonic() - t_start
        results["summary"] = summarize_benchmark(data, out, plan, results, table_snr, seed)
        results["summary"]["provenance"] = provenance.for_summary(manifest, preset, results["wall_seconds"])
        report.write_outputs(results, out)  # after every run: a killed benchmark leaves a valid partial report
        log.info("benchmark [%d/%d] %s done: trained %.0f s, evaluated %.0f s", i + 1, len(plan), spec.name,
                 record.train_seconds, record.eval_seconds)
    results["finished_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    results["wall_seconds"] = time.monotonic() - t_start
    report.write_outputs(results, out)
    return results


def _evaluation_key(run: Path, inputs: dict) -> str:
    """What a run's evaluation depends on: its model files (path, size, mtime) and the evaluation's inputs."""
    import hashlib
    import json

    files = sorted((str(p.relative_to(run)), p.stat().st_size, p.stat().st_mtime_ns) for p in run.rglob("*.safetensors")
                   if not {"eval", "export"} & set(p.relative_to(run).parts))
    return hashlib.sha256(json.dumps([files, inputs], sort_keys=True, default=list).encode()).hexdigest()[:16]


def cached_evaluation(run: Path, inputs: dict) -> dict | None:
    """The benchmark's evaluation of ``run`` saved by :func:`save_evaluation` if nothing it depends on changed.

    A resumed benchmark then does not evaluate every finished run again (the multi-device ones take minutes).
    """
    import json

    path = run / "eval" / "benchmark.json"
    if not path.exists():
        return None
    saved = json.loads(path.read_text())
    if saved.get("key") != _evaluation_key(run, inputs):
        return None
    log.info("%s: evaluation unchanged since %s (re-used)", run.name, saved["saved_utc"])
    return saved["result"]


def save_evaluation(run: Path, inputs: dict, result: dict) -> None:
    from disac_ros.files import write_json_atomic

    write_json_atomic(run / "eval" / "benchmark.json", {"key": _evaluation_key(run, inputs), "result": result,
                                                        "saved_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                   time.gmtime())})


def base_name(spec: RunSpec) -> str:
    """The row a run belongs to: its name without the seed suffix."""
    return spec.name.removesuffix(f"-s{spec.seed}") if spec.seed else spec.name


def collect_records(data: Path, out: Path, plan: list[RunSpec], results: dict, snr_db: float,
                    only: tuple[str, ...] | None = None) -> dict[str, dict]:
    """Per-sample outcomes of every evaluated run at ``snr_db`` at the first center: {row: {seed: Scored}}.

    LLM-DiSAC also gives its center-alone and prompt-ablation rows; ``only`` keeps (and reads) just those rows.
    """
    from disac_ros.evaluation.offline import records_path
    from disac_ros.evaluation.samples import Scored

    rows: dict[str, dict] = {}
    for spec in plan:
        if spec.name not in results["runs"]:
            continue
        run, center, name = Run(out / "runs" / spec.name), spec.centers[0], base_name(spec)
        variants = {name: ("full", snr_db if spec.multi_device else None)}
        if spec.multi_device and name == "llm-disac":
            variants.update({"llm-disac (center alone)": ("center_only", None),
                             "llm-disac (lossless link)": ("lossless-link", None),
                             "llm-disac (no prompt)": ("prompt-none", snr_db),
                             "llm-disac (wrong prompt)": ("prompt-wrong", snr_db)})
        for row, (variant, snr) in variants.items():
            if only is not None and row not in only:
                continue
            path = records_path(run, "test", center, variant, snr)
            if path.exists():
                rows.setdefault(row, {})[spec.seed] = Scored.load(path)
    return rows


def sequence_stats(data: Path, out: Path, plan: list[RunSpec], results: dict, snr_db: float):
    """Every row's per-sequence sufficient statistics (:class:`~disac_ros.evaluation.analysis.SequenceStats`).

    The rows at ``snr_db`` beside the classical baselines, with each sample's condition, and the prompt ablation at
    every SNR of the results: what ``per_sequence.json`` holds and every interval of ``summary.json`` is computed
    from.
    """
    from disac_ros.evaluation import analysis
    from disac_ros.evaluation.classical import classical_baselines

    center = plan[0].centers[0]
    classical = {f"classical-{name}": {0: c.scored()} for name, c in classical_baselines(data, "test", center).items()}
    rows = {**collect_records(data, out, plan, results, snr_db), **classical}
    first = next(iter(classical.values()))[0]
    prompts = {}
    for snr in results["snrs_db"]:
        keep = collect_records(data, out, plan, results, snr,
                               ("llm-disac", "llm-disac (no prompt)", "llm-disac (wrong prompt)"))
        if keep:
            prompts[f"{snr:g}"] = keep
    return analysis.SequenceStats.of(rows, analysis.sample_conditions(data, first.keys), prompts, center, snr_db)


def summarize_benchmark(data: Path, out: Path, plan: list[RunSpec], results: dict, snr_db: float,
                        seed: int = 0) -> dict:
    """What ``summary.json`` holds: every row beside the classical baselines and the bound at ``snr_db``.

    With intervals (sequences and seeds resampled), the paired differences of
    :data:`~disac_ros.evaluation.analysis.PAIRS`, the subsets by weather (gating) and the prompt ablation at
    every SNR, all computed from :func:`sequence_stats`, which is written to ``OUT/per_sequence.json``
    (:data:`~disac_ros.evaluation.analysis.PER_SEQUENCE_FILE`) so that ``disac benchmark --report-only``
    recomputes them from the committed files.
    """
    from disac_ros.evaluation import analysis

    stats = sequence_stats(data, out, plan, results, snr_db)
    analysis.write_per_sequence(stats, out / analysis.PER_SEQUENCE_FILE)
    return analysis.summarize_stats(stats, analysis.crb_rows(data, "test", stats.center), analysis.PAIRS, seed)


def results_for_run(data: Path, run: Path, evaluation: dict, comm: dict, exe: dict | None, commands: list[str],
                    table_snr: float, seed: int, wall_seconds: float) -> dict:
    """The results structure of :func:`run_benchmark` for one run evaluated by ``disac evaluate --run --out``."""
    from disac_ros.data.store import load_manifest

    manifest = load_manifest(data)
    model = evaluation["model"]
    name = run_name(model["scheme"], model["decoder"]) if evaluation["multi_device"] else model["scheme"]
    spec = RunSpec(name, model["scheme"], model["decoder"], tuple(evaluation["centers"]),
                   evaluation["train"]["epochs_stage1"])
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {
        "kind": "evaluate", "name": Path(run).name, "preset": "n/a (one run)", "data": str(data),
        "data_config_digest": manifest["config_digest"], "out": None, "commands": commands, "machine": machine(),
        "started_utc": now, "finished_utc": now, "wall_seconds": wall_seconds, "snrs_db": evaluation["snrs_db"],
        "table_snr_db": table_snr, "seed": seed, "plan": [asdict(spec)],
        "estimate": {"runs": {}, "total_s": None, "calibration": 1.0, "basis": "not estimated (disac evaluate)"},
        "dataset": {"counts": manifest["counts"], "splits": {k: len(v) for k, v in manifest["splits"].items()},
                    "camera": manifest["config"]["camera"], "devices": [d["id"] for d in manifest["devices"]],
                    "classes": manifest["classes"]},
        "runs": {name: {"spec": asdict(spec), "run": str(run), "train_seconds": 0.0, "trained_now": [],
                        "estimated_seconds": None, "eval_seconds": wall_seconds, "evaluation": evaluation,
                        "training": kept_metrics(Path(run)), "cost": comm, "execution_time": exe}},
    }
