"""Rendering the Table III suite's outputs: ``report.md``, and :func:`write_outputs` for all of ``OUT/``.

Everything in ``report.md`` is generated from the results dictionary (the content of ``results.json``): numbers,
comparisons with the paper's Table III (:mod:`~disac_ros.evaluation.paper`), the verdicts on the targets and
orderings (:mod:`~disac_ros.evaluation.checks`), the findings (:func:`findings`: each comparison worded by its
interval) and the reasons for the missed ones, read from the runs' configuration and training records. The README's
benchmark block (:func:`readme_lines`) is rendered by the same helpers. :func:`write_outputs` writes
``results.json``, the figures (:mod:`~disac_ros.evaluation.plots`) and ``report.md``, each to a temporary name and
renamed, so a reader never sees a half-written file; :func:`rerender` (``disac benchmark --report-only``) renders
them again from the committed files alone, recomputing every interval from ``per_sequence.json`` where it exists.

Conventions: Table III and the plots use metrics on **normalised** values (labels and predictions in (0, 1), as
the paper's Eq. 59 and sigmoid heads imply); SI-value metrics (m, rad, rad, m/s) are in their own tables.
"""
from __future__ import annotations

import functools
import json
import math
from pathlib import Path

from disac_ros.config import SCHEMES
from disac_ros.evaluation import statistics
from disac_ros.evaluation.checks import (
    PARAM_TITLES,
    decoder_runs,
    first_center,
    metrics_at,
    ordering_checks,
    position_rows,
    run_label,
    semantic_cost,
    table_snr,
    target_checks,
)
from disac_ros.evaluation.paper import (
    MAX_PAYLOAD_PERCENT,
    PAPER_SEMANTIC_BYTES,
    SCHEME_LABELS,
    TABLE_COLUMNS,
    TABLE_III,
)
from disac_ros.evaluation.plots import FIGURES, plot_figures
from disac_ros.files import write_json_atomic, write_text_atomic

SI_UNITS = {"distance": "m", "azimuth": "rad", "pitch": "rad", "radial_velocity": "m/s"}


# --- formatting -----------------------------------------------------------------------------------------------

def _fmt(key: str, value: float | None, si: bool = False) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if key == "accuracy":
        return f"{100 * value:.2f}"
    if key.startswith("nmse"):
        return f"{value:.2f}"
    return f"{value:.3f}" if si else f"{value:.4f}"


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|",
            *("| " + " | ".join(r) + " |" for r in rows)]


def _minutes(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds / 60:.1f} min"


# --- the report -----------------------------------------------------------------------------------------------

def verdict_lines(results: dict) -> list[str]:
    """One Markdown bullet per target and per ordering, with the margin."""
    checks, orderings = target_checks(results), ordering_checks(results)
    lines = []
    for c in checks:
        if c["ours"] is None:
            lines.append(f"- `{c['metric']}`: not evaluated (LLM-DiSAC was not part of this run).")
            continue
        if c["metric"] == "accuracy":
            text = (f"accuracy {100 * c['ours']:.2f} % vs target >= {100 * c['target']:.2f} %: "
                    + ("**met**" if c["met"] else "**missed**") + f" ({100 * c['margin']:+.2f} points)")
        elif c["metric"] == "payload_percent":
            text = (f"semantic payload {c['ours']:.3f} % of the raw bytes vs target <= {c['target']:.3f} % "
                    "(the paper's ratio): "
                    + ("**met**" if c["met"] else "**missed**") + f" ({c['margin']:+.3f} points)")
        else:
            param = c["metric"].removeprefix("nmse_db_")
            text = (f"NMSE of {PARAM_TITLES[param]} {c['ours']:.2f} dB vs target <= {c['target']:.2f} dB: "
                    + ("**met**" if c["met"] else "**missed**")
                    + f" ({c['margin']:+.2f} dB{'; lower is better' if not c['met'] else ''})")
        lines.append("- " + text)
    for o in orderings:
        if not o["evaluated"]:
            lines.append(f"- {o['what']}: not evaluated ({o['better']} or {o['worse']} not run).")
            continue
        state = "**holds**" if o["holds"] else ("**holds only partly**" if o["wins"] else "**does not hold**")
        lines.append(f"- {o['what']} ({SCHEME_LABELS[o['better']]} vs {SCHEME_LABELS[o['worse']]}): {state}, "
                     f"better on {len(o['wins'])}/9 Table III columns (the paper: {o['paper_wins']}/9)"
                     + (f"; not better on {', '.join(o['not_better'])}" if o["not_better"] else "") + ".")
    return lines


def _why_lines(results: dict, checks: list[dict]) -> list[str]:
    """Reasons for missed targets, from the run's configuration and training record (not typed numbers)."""
    missed = [c for c in checks if c["met"] is False]
    run = results["runs"].get("llm-disac")
    if not missed or run is None:
        return []
    model, train = run["evaluation"]["model"], run["evaluation"]["train"]
    counts, camera = results["dataset"]["counts"], results["dataset"]["camera"]
    splits = results["dataset"]["splits"]
    frames_per_seq = counts["frames"] // max(counts["sequences"], 1)
    n_train = splits.get("train", 0) * frames_per_seq * counts["targets"]
    stage2 = run.get("training", {}).get("stage2") or next(
        (v for k, v in run.get("training", {}).items() if k.startswith("stage2")), None)
    if stage2 and "epoch" in stage2:
        kept, ran = int(stage2["epoch"]), int(stage2["epochs_run"])
        budget = (f" Stage 2 kept epoch {kept} of the {ran} it ran (best validation loss): "
                  + ("the best came at the last epoch, so more epochs (`--epochs N`) are the first lever."
                     if kept == ran else "the best came before the last epoch, so more epochs alone would not "
                     "help this run."))
    else:
        budget = " More epochs: `--epochs N`."
    lines = [
        "What separates this run from the paper's setting, and what would close the gaps:",
        f"- **Training budget**: {train['epochs_stage1']} epochs in stage 1 and {train['epochs_stage2']} in stage 2 "
        f"here, on {results['machine']}; the paper trains on two RTX 4090 GPUs.{budget}",
        f"- **Data**: {n_train:,} training samples per device ({splits.get('train', 0)} sequences x "
        f"{frames_per_seq} frames x {counts['targets']} targets) at {camera['height']} x {camera['width']} pixels; "
        f"the paper has {PAPER_FRAMES_PER_DEVICE:,} frames per device at {PAPER_IMAGE_SIZE} x {PAPER_IMAGE_SIZE} "
        "(the `paper` preset generates that size, for a bigger machine).",
        f"- **Models**: ConvNeXt `{model['visual_backbone']}` (random init: no pretrained weights offline), "
        f"feature {model['L_sf']} x {model['d_sf']}, code {model['L_se']} x {model['d_se']}, and "
        f"{decoder_name(results)} cut to {model['decoder_layers']} layers as the LLaMA-family decoder; the paper "
        f"uses LLaMA-3 and larger features (its {PAPER_SEMANTIC_BYTES:,}-byte code). Larger `model.*` sizes need a "
        "GPU to train in reasonable time.",
    ]
    if any(c["metric"] == "nmse_db_radial_velocity" and c["met"] is False for c in checks):
        lines.append("- **Velocity**: observable only through the radar's chirp-to-chirp phase; NMSE on normalised "
                     "values also depends on the velocity offset of the normalisation, so it is not comparable in "
                     "absolute terms with a different label scaling.")
    return lines


def final_val_accuracy(results: dict, name: str) -> float | None:
    """Validation accuracy of a run's final model at its kept epoch.

    Stage 2 for a multi-device run, else the center's own model.
    """
    run = results["runs"].get(name)
    if run is None:
        return None
    training, center = run["training"], run["spec"]["centers"][0]
    for key in ("stage2", f"stage2-{center}", f"center/{center}", f"stage1/{center}"):
        if key in training and "val_accuracy" in training[key]:
            return training[key]["val_accuracy"]
    return None


def _ordering_why_lines(results: dict, orderings: list[dict]) -> list[str]:
    """Why orderings of Table III fail on our numbers, every figure from the results.

    Each scheme's validation and test accuracy, and the comparisons behind them.
    """
    failed = [o for o in orderings if o["evaluated"] and not o["holds"]]
    if not failed:
        return []
    runs = results["runs"]
    snr = table_snr(results)
    chance = 1 / len(results["dataset"]["classes"])

    def pct(v: float | None) -> str:
        return "?" if v is None else f"{100 * v:.1f} %"

    def test(name: str) -> float | None:
        m = metrics_at(results, name, snr)
        return None if m is None else m["accuracy"]

    lines = ["Where an ordering does not hold (validation accuracy of each scheme's final model at its kept epoch, "
             f"then its test accuracy at {snr:g} dB; seed-0 runs):"]
    lines += [f"- {o['what']}: {SCHEME_LABELS[o['better']]} ({pct(final_val_accuracy(results, o['better']))}, "
              f"{pct(test(o['better']))}) vs {SCHEME_LABELS[o['worse']]} "
              f"({pct(final_val_accuracy(results, o['worse']))}, {pct(test(o['worse']))})" for o in failed]
    md_vs_sd = [o for o in failed if SCHEMES[o["better"]][1] and not SCHEMES[o["worse"]][1]
                and (final_val_accuracy(results, o["better"]) or 0) > chance + 0.05]
    if md_vs_sd:
        o = md_vs_sd[0]
        a = runs[o["better"]]
        training, center = a["training"], a["spec"]["centers"][0]
        links = {k.removeprefix("stage1/"): v["val_accuracy"] for k, v in training.items()
                 if k.startswith("stage1/") and k != f"stage1/{center}" and "val_accuracy" in v}
        own = training.get(f"center/{center}", {}).get("val_accuracy")
        lines.append(
            f"- **Multi-device not above single-device** ({SCHEME_LABELS[o['better']]} vs "
            f"{SCHEME_LABELS[o['worse']]}): the collaborators' stage-1 models reach "
            + ", ".join(f"{d} {pct(v)}" for d, v in links.items())
            + f" on validation through the link, against the center's own model's {pct(own)}; a collaborator's "
            f"code carries what its stage-1 model learnt. The code is {a['cost']['semantic_bytes']} B, "
            f"{a['cost']['payload_percent']:.2f} % of the raw bytes (the paper allows {MAX_PAYLOAD_PERCENT:.2f} %).")
    cv = [n for n in ("sm-sd-cv", "sm-md-cv") if n in runs and (final_val_accuracy(results, n) or 1) <= chance + 0.02]
    if cv:
        model = runs[cv[0]]["evaluation"]["model"]
        cam = results["dataset"]["camera"]
        lines.append(
            f"- **Camera alone stays at chance on the class** ({', '.join(SCHEME_LABELS[n] for n in cv)}: "
            + ", ".join(pct(test(n)) for n in cv) + f" on test, chance {pct(chance)}): ConvNeXt "
            f"`{model['visual_backbone']}` starts from random weights (none can be downloaded) on {cam['height']} x "
            f"{cam['width']} px images, and every target of a frame shares the image; the paper's camera-only "
            f"accuracy is near chance too ({100 * TABLE_III['sm-sd-cv']['accuracy']:.2f} %).")
    if any(o["better"] == "llm-disac" and o["worse"] == "sm-md-rf" for o in failed):
        text = smmd_comparison(results)
        camera = (results.get("summary") or {}).get("paired", {}).get("mm-sd - sm-sd-rf", {}).get("all", {})
        lines.append("- **Fused below radar-only through the same link.** "
                     + (text if text else
                        f"SM-MD (RF) {pct(test('sm-md-rf'))} vs LLM-DiSAC {pct(test('llm-disac'))} (seed 0).")
                     + (f" At one device the camera adds {_diff(camera.get('accuracy'))} (MM-SD - SM-SD (RF), "
                        f"{told(camera.get('accuracy'))} zero)." if camera.get("accuracy") else ""))
    if any(o["better"] == "llm-disac-lossless" for o in failed):
        summary = results.get("summary") or {}
        seeds = [100 * v for v in per_seed_values(summary, "llm-disac")] if summary else []
        lossless = _value(summary, "llm-disac-lossless") if summary else None
        k = len((summary_entry(summary, "llm-disac-lossless") or {}).get("seeds", [])) if summary else 0
        if seeds and lossless is not None:
            place = ("inside" if min(seeds) <= lossless <= max(seeds) else "outside")
            detail = (f"LLM-DiSAC (w/o SC loss) is {k} run{'s' * (k > 1)} at {lossless:.1f} %, {place} the spread "
                      f"of LLM-DiSAC's {len(seeds)} seeds ({_seeds_text(seeds)} %)")
        else:
            detail = (f"LLM-DiSAC (w/o SC loss) {pct(test('llm-disac-lossless'))} vs LLM-DiSAC "
                      f"{pct(test('llm-disac'))}, one seed each")
        lines.append(f"- **Lossless channel not an upper bound.** {detail}; training without channel noise also "
                     "loses the noise's regularisation.")
    return lines


def _ci(entry: dict | None, metric: str) -> str:
    """``mean [low, high]`` of one metric interval: accuracy in %, angles in degrees, others as they are."""
    if not entry or metric not in entry:
        return "n/a"
    iv = entry[metric]
    f = 100.0 if metric == "accuracy" else (180 / math.pi if metric in ("rmse_azimuth", "rmse_pitch") else 1.0)
    digits = 1 if metric == "accuracy" else 2
    return f"{f * iv['mean']:.{digits}f} [{f * iv['low']:.{digits}f}, {f * iv['high']:.{digits}f}]"


SUMMARY_COLUMNS = ["accuracy %", "distance m", "azimuth deg", "pitch deg", "velocity m/s"]


# --- the summary's rows, differences and findings: the report's first part and the README's benchmark block ----

#: The paper's training images per device (Sec. V-A1: "approximately 22,200 (37 x 5 x 120) RGB images") and their
#: size (Sec. V-A1, 224 x 224): the paper's facts, for comparison (our numbers come from the results).
PAPER_FRAMES_PER_DEVICE = 37 * 5 * 120
PAPER_IMAGE_SIZE = 224

#: Rows of the README's center-blocked table (the cases one device cannot see), in order, where present.
BLOCKED_ROWS = ("sm-sd-rf", "mm-sd", "sm-md-rf", "llm-disac", "llm-disac (center alone)", "llm-disac-gpt2",
                "llm-disac-lstm", "llm-disac-gru", "classical-single", "classical-fusion")
_DECODER_NAMES = {"llama": "SmolLM2", "gpt2": "GPT-2", "lstm": "LSTM", "gru": "GRU"}
_UNITS = {"accuracy": "points", "rmse_distance": "m", "rmse_azimuth": "deg", "rmse_pitch": "deg",
          "rmse_radial_velocity": "m/s"}


def decoder_name(results: dict, run: str = "llm-disac") -> str:
    """What a run's decoder is: SmolLM2 (the shipped LLaMA-family model), GPT-2 (random init unless a path), ..."""
    model = results["runs"].get(run, {}).get("evaluation", {}).get("model", {})
    kind = model.get("decoder", run.removeprefix("llm-disac-") if run.startswith("llm-disac-") else "llama")
    name = _DECODER_NAMES.get(kind, kind)
    if model.get("decoder_path"):
        return f"{name} ({Path(model['decoder_path']).name})"
    return f"{name} (random init)" if kind == "gpt2" else name


def row_label(name: str, results: dict) -> str:
    """A readable name of a summary row (``llm-disac (center alone)`` -> ``LLM-DiSAC, every collaborator masked``)."""
    devices = len(results["dataset"]["devices"])
    fixed = {"sm-sd-rf": "SM-SD (RF)", "sm-sd-cv": "SM-SD (CV), camera only", "mm-sd": "MM-SD",
             "sm-md-rf": f"SM-MD (RF), {devices} devices", "sm-md-cv": f"SM-MD (CV), {devices} devices",
             "llm-disac": f"**LLM-DiSAC** ({decoder_name(results)}), {devices} devices",
             "llm-disac (center alone)": "LLM-DiSAC, every collaborator masked",
             "llm-disac (lossless link)": "LLM-DiSAC, evaluated over a noiseless link",
             "llm-disac (no prompt)": "LLM-DiSAC, decoders told nothing",
             "llm-disac (wrong prompt)": "LLM-DiSAC, decoders told a wrong link",
             "llm-disac-lossless": "LLM-DiSAC trained and evaluated lossless", "mm-sd-gated": "MM-SD + MMSense gating",
             "classical-single": "classical single", "classical-fusion": "classical fusion"}
    if name in fixed:
        return fixed[name]
    if name.startswith("llm-disac-") and name.removeprefix("llm-disac-") in _DECODER_NAMES:
        return f"LLM-DiSAC with {decoder_name(results, name)}"
    return name


def _short(name: str, results: dict) -> str:
    """A row's label without emphasis or device count, for running text."""
    if name == "llm-disac":
        return "LLM-DiSAC"
    label = row_label(name, results).replace("**", "")
    return label.split(", ")[0] if name in ("sm-md-rf", "sm-md-cv") else label


def summary_entry(summary: dict, row: str) -> dict | None:
    """A row of the summary by name (``classical-<name>`` for the classical baselines)."""
    if row.startswith("classical-"):
        return summary["classical"].get(row.removeprefix("classical-"))
    return summary["schemes"].get(row)


def seeds_resampled(summary: dict) -> bool:
    """Whether the summary's pooled intervals resample the seeds (computed from the per-sequence statistics)."""
    return bool(summary.get("per_sequence"))


def row_covers(summary: dict, row: str) -> str:
    """What a row's pooled intervals hold: "sequences" or "seeds+sequences"."""
    entry = summary_entry(summary, row) or {}
    return entry.get("interval", "sequences") if seeds_resampled(summary) else "sequences"


def pair_covers(summary: dict, pair: str) -> str:
    if not seeds_resampled(summary):
        return "sequences"
    return summary.get("paired_seeds", {}).get(pair, {}).get("interval", "sequences")


def per_seed_values(summary: dict, row: str, metric: str = "accuracy", subset: str = "all") -> list[float]:
    entry = summary_entry(summary, row) or {"per_seed": {}}
    return [s[subset][metric]["mean"] for s in entry["per_seed"].values() if metric in s.get(subset, {})]


def _scale(metric: str) -> float:
    return 100.0 if metric == "accuracy" else (180 / math.pi if metric in ("rmse_azimuth", "rmse_pitch") else 1.0)


def _value(summary: dict, row: str, metric: str = "accuracy", subset: str = "all") -> float | None:
    iv = (summary_entry(summary, row) or {}).get("pooled", {}).get(subset, {}).get(metric)
    return None if iv is None else _scale(metric) * iv["mean"]


def _num(summary: dict, row: str, metric: str = "accuracy", subset: str = "all") -> str:
    v = _value(summary, row, metric, subset)
    unit = " %" if metric == "accuracy" else f" {_UNITS[metric]}"
    return "n/a" if v is None else f"{v:.{1 if metric == 'accuracy' else 2}f}{unit}"


def _diff(iv: dict | None, metric: str = "accuracy") -> str:
    """A difference with its interval: ``+8.6 points [+6.4, +10.8]``, ``-0.25 m [-0.45, -0.12]``."""
    if iv is None:
        return "n/a"
    f, digits = _scale(metric), 1 if metric == "accuracy" else 2
    return (f"{f * iv['mean']:+.{digits}f} {_UNITS[metric]} [{f * iv['low']:+.{digits}f}, "
            f"{f * iv['high']:+.{digits}f}]")


def told(iv: dict | None, metric: str = "accuracy") -> str:
    """The verdict an interval of a difference allows.

    "above" / "below" (accuracy) or "higher than" / "lower than" (RMSE) when it excludes 0, else "not told apart
    from".
    """
    if iv is None:
        return "not measured against"
    if iv["low"] > 0:
        return "above" if metric == "accuracy" else "higher than"
    if iv["high"] < 0:
        return "below" if metric == "accuracy" else "lower than"
    return "not told apart from"


def pair_iv(summary: dict, pair: str, subset: str = "all", metric: str = "accuracy") -> dict | None:
    return summary["paired"].get(pair, {}).get(subset, {}).get(metric)


def _seeds_text(values: list[float]) -> str:
    return " / ".join(f"{v:.1f}" for v in values)


def _spread(summary: dict, row: str, subset: str = "all") -> str:
    """``per seed 86.3 / 92.1 / 88.5 %`` (or ``one seed``)."""
    values = [100 * v for v in per_seed_values(summary, row, subset=subset)]
    return "one seed" if len(values) < 2 else f"per seed {_seeds_text(values)} %"


def pair_note(results: dict, pair: str) -> str:
    """What a difference's interval holds, in words."""
    summary = results["summary"]
    a, b = pair.split(" - ")
    info = summary.get("paired_seeds", {}).get(pair)
    if pair_covers(summary, pair) == "sequences":
        several = any(len(per_seed_values(summary, r)) > 1 for r in (a, b))
        return "interval over test sequences only" + (", not the seeds" if several else "; one seed each")
    if info and info["draw"] == "paired":
        return f"interval over test sequences and the {len(info['a'])} seeds of the same models"
    seeds = info or {"a": [0], "b": [0]}
    return f"interval over test sequences and seeds ({len(seeds['a'])} and {len(seeds['b'])})"


#: How running text names a row (the tables use :func:`row_label`).
_NOUNS = {"llm-disac (center alone)": "the same model with every collaborator masked",
          "llm-disac (lossless link)": "the same models over a noiseless link",
          "llm-disac (no prompt)": "the same models with decoders told nothing",
          "llm-disac (wrong prompt)": "the same models with decoders told a wrong link",
          "llm-disac-lossless": "LLM-DiSAC trained and evaluated lossless", "mm-sd-gated": "MM-SD with gating",
          "classical-single": "the center's classical estimator", "classical-fusion": "the classical fusion"}


def _noun(name: str, results: dict) -> str:
    return _NOUNS.get(name) or (_short(name, results) if name != "llm-disac" else "LLM-DiSAC")


def _pair_sentence(results: dict, a: str, b: str, subsets=("all", "center_blocked"),
                   nouns: dict[str, str] | None = None) -> str | None:
    """One difference in words, or None when the summary has no such pair.

    ``LLM-DiSAC (89.0 %) is above MM-SD (80.4 %): +8.6 points [+6.4, +10.8] on all samples, ... (what the interval
    holds)``; ``nouns`` names rows otherwise than :func:`_noun`.
    """
    summary = results["summary"]
    pair = f"{a} - {b}"
    if pair not in summary["paired"]:
        return None
    where = {"all": "on all samples", "center_blocked": "where the center's line of sight is blocked",
             "line_of_sight": "on line-of-sight samples"}
    parts = [f"{_diff(pair_iv(summary, pair, s))} {where[s]}" for s in subsets if pair_iv(summary, pair, s)]
    name = {r: (nouns or {}).get(r) or _noun(r, results) for r in (a, b)}
    verb = "are" if name[a].startswith("the same models") else "is"
    return (f"{name[a]} ({_num(summary, a)}) {verb} {told(pair_iv(summary, pair))} {name[b]} "
            f"({_num(summary, b)}): {', '.join(parts)} ({pair_note(results, pair)})")


def smmd_comparison(results: dict) -> str | None:
    """LLM-DiSAC against SM-MD (RF), the radar-only multi-device scheme, in a sentence or two.

    Paired when the summary has the pair, else unpaired from the two rows, saying what that leaves out.
    """
    summary = results.get("summary") or {}
    if not summary or not summary_entry(summary, "llm-disac") or not summary_entry(summary, "sm-md-rf"):
        return None
    paired = _pair_sentence(results, "llm-disac", "sm-md-rf")
    if paired:
        return f"{paired}; {_spreads(summary, results, 'llm-disac', 'sm-md-rf')}."
    text = []
    for subset, where in (("all", "all samples"), ("center_blocked", "center blocked")):
        a, b = _value(summary, "llm-disac", subset=subset), _value(summary, "sm-md-rf", subset=subset)
        if a is None or b is None:
            continue
        seeds = [100 * v for v in per_seed_values(summary, "llm-disac", subset=subset)]
        k = len(per_seed_values(summary, "sm-md-rf", subset=subset))
        spread = ""
        if len(seeds) > 1:
            place = ("above every LLM-DiSAC seed" if b > max(seeds) else "below every LLM-DiSAC seed"
                     if b < min(seeds) else "inside LLM-DiSAC's seed spread")
            spread = (f" (LLM-DiSAC per seed {_seeds_text(seeds)} %; SM-MD (RF), {k} seed{'s' * (k > 1)}, "
                      f"{place})")
        text.append(f"{where} LLM-DiSAC {a:.1f} % vs SM-MD (RF) {b:.1f} %, {a - b:+.1f} points{spread}")
    return ("; ".join(text) + ". Unpaired, from the two rows: the per-sample records a paired interval needs are "
            "not committed for this benchmark, and neither row's interval holds the seeds' spread.")


def _spreads(summary: dict, results: dict, *rows: str) -> str:
    """``per seed LLM-DiSAC 86.3 / 92.1 / 88.5 %, MM-SD 80.5 / 81.8 / 78.8 %`` (rows with one seed: their count)."""
    parts = []
    for row in rows:
        values = [100 * v for v in per_seed_values(summary, row)]
        parts.append(f"{_short(row, results)} {_seeds_text(values)} %" if len(values) > 1 else
                     f"{_short(row, results)} one seed")
    return "per seed " + ", ".join(parts)


def findings(results: dict) -> list[str]:
    """"What the numbers say": one bullet per comparison, its wording following its interval.

    A difference whose interval excludes 0 is above / below (:func:`told`), else not told apart.
    """
    summary = results.get("summary") or {}
    if not summary:
        return []
    out = []

    def add(title: str, *sentences: str | None, rows: tuple[str, ...] = ()) -> None:
        said = [s for s in sentences if s]
        if said:
            text = "; ".join(said) + (f"; {_spreads(summary, results, *rows)}" if rows else "")
            out.append(f"**{title}** {text[0].upper()}{text[1:]}.")

    add("Collaboration (MM-SD: the center's own model, no link).", _pair_sentence(results, "llm-disac", "mm-sd"),
        _pair_sentence(results, "llm-disac", "llm-disac (center alone)"), rows=("llm-disac", "mm-sd"))
    s = smmd_comparison(results)
    if s:
        out.append("**LLM-DiSAC against SM-MD (RF)** (every device's radar-only code through the same link): " + s)
    d = pair_iv(summary, "llm-disac - classical-single", metric="rmse_distance")
    add("Against the textbook.", _pair_sentence(results, "llm-disac", "classical-fusion"),
        _pair_sentence(results, "llm-disac", "classical-single"),
        f"LLM-DiSAC's distance RMSE is {told(d, 'rmse_distance')} the center's classical estimator's "
        f"({_diff(d, 'rmse_distance')})" if d else None)
    decoders = [r for r in summary["schemes"] if r.startswith("llm-disac-") and r != "llm-disac-lossless"
                and f"{r} - llm-disac" in summary["paired"]]
    llm = [100 * v for v in per_seed_values(summary, "llm-disac")]

    def spread_place(rows: list[str], whose: str) -> str | None:
        """``GPT-2 and LSTM (one seed each) lie inside the spread of SmolLM2's 3 seeds, GRU outside``."""
        if len(llm) < 2:
            return None
        place = {r: "inside" if min(llm) <= _value(summary, r) <= max(llm) else "outside" for r in rows}
        groups = [(where, [decoder_name(results, r).split(" (")[0] if r in decoders else _noun(r, results)
                           for r in rows if place[r] == where]) for where in ("inside", "outside")]
        groups = [(where, names) for where, names in groups if names]
        seeds = {len(per_seed_values(summary, r)) for r in rows}
        count = f" ({'one seed' if seeds == {1} else 'seeds ' + '/'.join(map(str, sorted(seeds)))}" + \
            (" each)" if len(rows) > 1 else ")")
        first, *rest = groups
        return (f"{' and '.join(first[1])}{count} {'lie' if len(first[1]) > 1 else 'lies'} {first[0]} the spread "
                f"of {whose}'s {len(llm)} seeds ({_seeds_text(llm)} %)"
                + "".join(f", {' and '.join(names)} {where}" for where, names in rest))

    if decoders:
        nouns = {r: decoder_name(results, r).split(" (")[0] for r in decoders} | {"llm-disac": decoder_name(results)}
        add(f"Decoders against {decoder_name(results)}, at the same budget.",
            *(_pair_sentence(results, r, "llm-disac", nouns=nouns) for r in decoders),
            spread_place(decoders, decoder_name(results)))
    add("The camera at one device.", _pair_sentence(results, "mm-sd", "sm-sd-rf"), rows=("mm-sd", "sm-sd-rf"))
    by_snr = {float(k): v["llm-disac"]["accuracy"]["mean"] for k, v in summary.get("prompt_by_snr", {}).items()
              if "llm-disac" in v}
    lo, hi = (min(by_snr), max(by_snr)) if len(by_snr) > 1 else (None, None)
    add("The decoders' prompt (it states each link's SNR and distance).",
        *(_pair_sentence(results, r, "llm-disac") for r in ("llm-disac (no prompt)", "llm-disac (wrong prompt)")),
        f"with the true prompt LLM-DiSAC reaches {100 * by_snr[lo]:.1f} % at {lo:g} dB and {100 * by_snr[hi]:.1f} % "
        f"at {hi:g} dB" if lo is not None else None)
    add("A noiseless link.", _pair_sentence(results, "llm-disac (lossless link)", "llm-disac", ("all",)),
        _pair_sentence(results, "llm-disac-lossless", "llm-disac", ("all",)),
        spread_place(["llm-disac-lossless"], "LLM-DiSAC") if "llm-disac-lossless - llm-disac" in summary["paired"]
        else None)
    cond = summary.get("by_condition", {})
    per = [f"under {name.replace('_', ' ')} {_diff(cond[name]['mm-sd-gated - mm-sd'].get('accuracy'))} "
           f"({told(cond[name]['mm-sd-gated - mm-sd'].get('accuracy'))} MM-SD)"
           for name in ("fog", "low_light") if "mm-sd-gated - mm-sd" in cond.get(name, {})]
    add("MMSense's modality gating.", _pair_sentence(results, "mm-sd-gated", "mm-sd", ("all",)), *per)
    return out


def closing_facts(results: dict) -> list[str]:
    """What would close the misses, from the results.

    The code's payload against the paper's, the training samples per device against the paper's frames.
    """
    out = []
    comm = semantic_cost(results)
    if comm:
        paper = comm["paper"]["payload_percent"]
        out.append(f"the semantic code is {comm['payload_percent']:.2f} % of the raw data against the paper's "
                   f"{paper:.1f} % ({paper / comm['payload_percent']:.0f}x headroom for a larger code)")
    counts, splits = results["dataset"]["counts"], results["dataset"]["splits"]
    frames = counts["frames"] // max(counts["sequences"], 1)
    n_train = splits.get("train", 0) * frames * counts["targets"]
    out.append(f"{n_train:,} training samples per device ({splits.get('train', 0)} sequences x {frames} frames x "
               f"{counts['targets']} targets) against the paper's {PAPER_FRAMES_PER_DEVICE:,} frames per device")
    return out


def interval_statement(summary: dict) -> str:
    """What the summary's intervals hold, in one or two sentences."""
    level = f"{100 * statistics.LEVEL:.0f} %"
    if seeds_resampled(summary):
        return (f"{level} intervals by a two-level bootstrap (`disac_ros/evaluation/statistics.py`): the test "
                "sequences resampled and, for a row pooled over several seeds, its seeds too, so a pooled row's "
                "interval holds the seed-to-seed spread; a one-seed row's interval (*sequences* below) holds the "
                "test set's uncertainty only, and a difference resamples both rows' seeds")
    return (f"{level} intervals bootstrapped over **test sequences only**: this summary was computed before the "
            "benchmark kept its per-sequence statistics (no `per_sequence.json` beside it) and the per-sample "
            "records are not committed, so a pooled row's interval leaves out the spread between its seeds (the "
            "per-seed values stand beside it) and every difference is paired on the test samples, not resampled "
            "over seeds; `disac benchmark` (resuming its finished runs) writes the file and the two-level intervals")


def _seed_cell(summary: dict, row: str) -> str:
    values = [100 * v for v in per_seed_values(summary, row)]
    return _seeds_text(values) if len(values) > 1 else "-"


def _summary_rows(summary: dict, rows: list[str], subset: str, label) -> list[list[str]]:
    from disac_ros.evaluation.analysis import METRICS

    out = []
    for row in rows:
        entry = summary_entry(summary, row)
        pooled = (entry or {}).get("pooled", {}).get(subset)
        if pooled:
            out.append([label(row), str(len(entry["seeds"])), *(_ci(pooled, m) for m in METRICS)])
    return out


def _all_rows(summary: dict) -> list[str]:
    return [*summary["schemes"], *(f"classical-{n}" for n in summary["classical"])]


def setup_paragraph(results: dict) -> str:
    """The benchmark's set-up in one paragraph, from results.json."""
    summary = results["summary"]
    counts, splits = results["dataset"]["counts"], results["dataset"]["splits"]
    frames = counts["frames"] // max(counts["sequences"], 1)
    n_train = splits.get("train", 0) * frames * counts["targets"]
    seeds: dict[str, int] = {}
    for spec in results["plan"]:
        base = spec["name"].removesuffix(f"-s{spec['seed']}") if spec.get("seed") else spec["name"]
        if base in results["runs"] or spec["name"] in results["runs"]:
            seeds[base] = seeds.get(base, 0) + 1
    multi = [SCHEME_LABELS.get(n, n) for n, k in seeds.items() if k > 1]
    k = max(seeds.values(), default=1)
    llm = results["runs"].get("llm-disac", next(iter(results["runs"].values())))
    train = llm["evaluation"]["train"]
    epochs = sorted({(r["evaluation"]["train"]["epochs_stage1"], r["evaluation"]["train"]["epochs_stage2"])
                     for r in results["runs"].values()})
    epoch_text = (f"{epochs[0][0]} epochs per stage for every run" if len(epochs) == 1 and epochs[0][0] == epochs[0][1]
                  else "epochs per stage " + ", ".join(f"{a}/{b}" for a, b in epochs))
    entry = summary_entry(summary, "llm-disac") or next(iter(summary["schemes"].values()))
    decoders = [decoder_name(results, n).split(",")[0] for n in results["runs"]
                if n.startswith("llm-disac-") and n.removeprefix("llm-disac-") in _DECODER_NAMES]
    extras = ([f"LLM-DiSAC with {' / '.join(decoders)} decoders"] if decoders else []) + \
        (["LLM-DiSAC trained over a lossless link"] if "llm-disac-lossless" in results["runs"] else []) + \
        (["MM-SD with MMSense's modality gating"] if "mm-sd-gated" in results["runs"] else [])
    every = all(s in results["runs"] for s in SCHEME_LABELS)
    schemes = ("every Table III scheme" if every else "Table III's " + ", ".join(
        SCHEME_LABELS[s] for s in SCHEME_LABELS if s in results["runs"]))
    return (f"{len(results['runs'])} runs on the {results['preset']} dataset `{Path(results['data']).name}` "
            f"({counts['sequences']} sequences of {frames} frames, {counts['devices']} devices, {counts['targets']} "
            f"targets; {splits.get('train', 0)} training sequences = {n_train:,} samples per device): {schemes}"
            + (f" ({' and '.join([', '.join(multi[:-1]), multi[-1]] if len(multi) > 1 else multi)} at {k} seeds)"
               if multi else "") + (f", {', '.join(extras)}" if extras else "")
            + f"; {epoch_text}, with early stopping (patience {train['patience']}) and the best-validation "
            f"checkpoint, chosen on the validation split ({splits.get('val', 0)} sequences). Test split: "
            f"{splits.get('test', 0)} sequences, {entry['samples']:,} samples, read by the final evaluation only; "
            f"center `{summary.get('center', first_center(results))}`, links at {summary['snr_db']:g} dB, SI units, "
            f"{interval_statement(summary)}.")


def _crb_sentence(results: dict) -> str | None:
    summary = results["summary"]
    crb = summary.get("crb")
    single, llm = summary_entry(summary, "classical-single"), summary_entry(summary, "llm-disac")
    if not crb or not single or not llm or "line_of_sight" not in llm["pooled"]:
        return None
    from disac_ros.evaluation.analysis import PARAMETERS

    def values(row: str) -> list[float]:
        return [_value(summary, row, f"rmse_{p}", "line_of_sight") for p in PARAMETERS]

    if any(crb["rmse"].get(p) is None or not math.isfinite(crb["rmse"][p]) for p in PARAMETERS):
        return None
    bound = [_scale(f"rmse_{p}") * crb["rmse"][p] for p in PARAMETERS]
    units = [_UNITS[f"rmse_{p}"] for p in PARAMETERS]

    def listed(v: list[float], digits: int = 2) -> str:
        return ", ".join(f"{x:.{digits}f} {u}" for x, u in zip(v, units, strict=True))

    def ratio(v: list[float]) -> str:
        r = [x / b for x, b in zip(v, bound, strict=True)]
        return f"{min(r):.1f}-{max(r):.1f}x"

    n = llm["pooled"]["line_of_sight"]["accuracy"]["samples"]
    single, learned = values("classical-single"), values("llm-disac")
    if None in single or None in learned:
        return None
    return (f"On the {n:,} line-of-sight samples the center's classical estimator reaches {listed(single)} "
            f"(distance, azimuth, pitch, radial velocity) and LLM-DiSAC {listed(learned)}; the Cramér-Rao bound of "
            f"the center's radar at its measured SNR on the {crb['samples']:,} of them it detects is "
            f"{listed(bound, 3)} (`sim/bounds.py`): the classical estimator sits at {ratio(single)} the bound, "
            f"LLM-DiSAC at {ratio(learned)}.")


def readme_lines(results: dict, out: str) -> list[str]:
    """The README's block for the benchmark, from results.json's content (which holds ``summary``).

    Set-up, the table over all test samples and the center-blocked one, the line-of-sight sentence with the bound,
    the targets, "What the numbers say" (:func:`findings`) and what would close the misses
    (:func:`closing_facts`); every number taken from ``results``. ``out``: the results' directory, for links.
    """
    summary = results.get("summary")
    if not summary:
        return [f"`{out}/results.json` holds no summary: run `disac benchmark` first."]
    label = functools.partial(row_label, results=results)
    header = ["row", "seeds", *SUMMARY_COLUMNS]
    blocked = [r for r in BLOCKED_ROWS if summary_entry(summary, r)]
    blocked_n = (summary_entry(summary, "llm-disac") or {}).get("pooled", {}).get("center_blocked", {})
    lines = [setup_paragraph(results), "", *_md_table(header, _summary_rows(summary, _all_rows(summary), "all",
                                                                          label)), ""]
    spread = [f"{_short(r, results)} {_seed_cell(summary, r)}" for r in _all_rows(summary)
              if len(per_seed_values(summary, r)) > 1]
    if spread:
        lines += [f"Accuracy per seed (%): {'; '.join(spread)}.", ""]
    if blocked_n:
        n = blocked_n["accuracy"]
        lines += [f"On the {n['samples']:,} samples ({n['groups']} sequences) where the center's line of sight is "
                  "blocked, the cases one device cannot see:", "",
                  *_md_table(header, _summary_rows(summary, blocked, "center_blocked", label)), ""]
    crb = _crb_sentence(results)
    if crb:
        lines += [crb, ""]
    if summary.get("targets"):
        lines += ["The issue's targets, as `disac benchmark` checks them on `summary.json`:", ""]
        lines += [_target_line(t) for t in summary["targets"]] + [""]
    found = findings(results)
    if found:
        lines += ["What the numbers say:", "", *(f"- {f}" for f in found), ""]
    lines += ["What would close the misses: " + "; ".join(closing_facts(results)) + ". The full report: "
              f"[{out}/report.md]({out}/report.md)."]
    return lines


def _target_line(t: dict) -> str:
    state = "not measured" if t["met"] is None else ("**met**" if t["met"] else "**missed**")
    return f"- {t['target']}: {state}; measured {t['measured']} (wanted {t['wanted']})."


def _bound(value: float | None, metric: str) -> str:
    """A bound in the table's units; n/a where it is not finite (stored as null in strict JSON)."""
    return "n/a" if value is None or not math.isfinite(value) else f"{_scale(metric) * value:.3f}"


def summary_lines(results: dict) -> list[str]:
    """The report's first part: learned schemes beside the classical baselines and the bound, with intervals."""
    from disac_ros.evaluation.analysis import METRICS, PARAMETERS, SUBSETS

    summary = results["summary"]
    snr, center = summary["snr_db"], summary.get("center", "?")
    titles = {"all": "all test samples", "center_blocked": f"{center}'s line of sight blocked",
              "line_of_sight": f"{center}'s line of sight clear"}
    lines = ["## Learned, classical and the bound (SI values, 95 % intervals)", "",
             f"Aggregation center `{center}`, link SNR {snr:g} dB. Each cell: the statistic on the test samples and "
             f"its {interval_statement(summary)}. RMSE on SI values is the primary regression metric: normalised NMSE "
             "(Eq. 59, in the tables further down) divides by the labels' power around zero, and a label normalised "
             "into (0, 1) with its mean near 0.5 has a large power, so normalised NMSE looks good for errors that "
             "are large in metres. *classical single*: the center's own matched filter, beamformer and Doppler FFT "
             "with a level classifier (QDA); *classical fusion*: every device's estimate mapped to the center's "
             "frame and fused by inverse variance, velocity by weighted least squares, class by summed "
             "log-likelihoods (both fitted on the train split). The Cramér-Rao row is the bound on the center's "
             "radar at its measured SNR on the line-of-sight samples it detected (no bound exists where it detects "
             "nothing). Camera-only schemes (SM-SD / SM-MD CV) get no radar cue: every target of a frame shares the "
             "image, so a camera-only estimate per target is ill-posed and near chance by construction.", ""]
    rows_of = [(name, name) for name in summary["schemes"]] + \
        [(f"classical {name}", f"classical-{name}") for name in summary["classical"]]
    for subset in SUBSETS:
        rows = []
        for name, row in rows_of:
            entry = summary_entry(summary, row)
            pooled = entry["pooled"].get(subset)
            if not pooled:
                continue
            seeds = [100 * v for v in per_seed_values(summary, row, subset=subset)]
            rows.append([name, str(len(entry["seeds"])), _seeds_text(seeds) if len(seeds) > 1 else "-",
                         row_covers(summary, row).replace("+", " + "), str(pooled["accuracy"]["samples"]),
                         str(pooled["accuracy"]["groups"]), *(_ci(pooled, m) for m in METRICS)])
        crb = summary.get("crb")
        if crb and subset == "line_of_sight":
            bound = [_bound(crb["rmse"].get(p), m) for p, m in zip(PARAMETERS, METRICS[1:], strict=True)]
            rows.append(["Cramér-Rao bound", "-", "-", "-", str(crb["samples"]), "-", "-", *bound])
        lines += [f"### {titles[subset]}", "",
                  *_md_table(["row", "seeds", "accuracy per seed %", "interval over", "samples", "sequences",
                              *SUMMARY_COLUMNS], rows), ""]
    per_seed = []
    for name, entry in summary["schemes"].items():
        if len(entry["seeds"]) > 1:
            for seed, subsets in entry["per_seed"].items():
                per_seed.append([name, seed, *(_ci(subsets["all"], m) for m in METRICS)])
    if per_seed:
        lines += ["### Per seed (all test samples; intervals over test sequences within each seed)", "",
                  *_md_table(["row", "seed", *SUMMARY_COLUMNS], per_seed), ""]
    pairs = []
    for name, subsets in summary["paired"].items():
        info = summary.get("paired_seeds", {}).get(name) if seeds_resampled(summary) else None
        seeds = f"{len(info['a'])} / {len(info['b'])} ({info['draw']})" if info else "-"
        for subset in ("all", "center_blocked"):
            if subset in subsets:
                pairs.append([name, subset, seeds, pair_covers(summary, name).replace("+", " + "),
                              *(_ci(subsets[subset], m) for m in METRICS)])
    if pairs:
        lines += ["### Paired differences (a - b on the same samples; accuracy in points, RMSE in SI units)", "",
                  "Negative RMSE differences favour a; an interval that excludes 0 tells the two apart. *seeds*: "
                  "the seeds of a and b and how a replicate draws them (*independent*: separate trainings; "
                  "*paired*: the same trained models evaluated twice, on their common seeds).", "",
                  *_md_table(["a - b", "subset", "seeds", "interval over", *SUMMARY_COLUMNS], pairs), ""]
    found = findings(results)
    if found:
        lines += ["### What the numbers say", "", *(f"- {f}" for f in found), "",
                  "What would close the misses: " + "; ".join(closing_facts(results)) + ".", ""]
    if summary.get("targets"):
        lines += ["### The learning issue's targets", "", *(_target_line(t) for t in summary["targets"]), ""]

    def nested_rows(table: dict) -> list[list[str]]:  # {key: {row: pooled intervals}} -> one line per (key, row)
        return [[key, name, *(_ci(pooled, m) for m in METRICS)] for key, entries in table.items()
                for name, pooled in entries.items()]

    if summary.get("prompt_by_snr"):
        rows = nested_rows(summary["prompt_by_snr"])
        run = results["runs"].get("llm-disac")
        lo, hi = run["evaluation"]["train"]["snr_range_db"] if run else (math.nan, math.nan)
        lines += ["### The decoder's prompt: true, none, wrong, at each SNR (all test samples)", "",
                  "*no prompt*: the trained decoders are not told their link (no text, or zeros for the RNNs); "
                  f"*wrong prompt*: told the SNR mirrored in the training range [{lo:g}, {hi:g}] dB ({snr:g} dB "
                  f"reads {lo + hi - snr:g} dB) and twice the distance. The channel noise is the same draw in all "
                  "three.", "",
                  *_md_table(["SNR dB", "row", *SUMMARY_COLUMNS], rows), ""]
    if summary.get("by_condition"):
        rows = nested_rows(summary["by_condition"])
        lines += ["### MMSense's modality gating under fog and low light (MM-SD with and without it)", "",
                  *_md_table(["condition", "row", *SUMMARY_COLUMNS], rows), ""]
    return lines


def render_report(results: dict, figures: list[str]) -> str:
    """The Markdown report, every number taken from ``results``."""
    snr = table_snr(results)
    center = first_center(results)
    checks = target_checks(results)
    kind = results.get("kind", "benchmark")
    lines = [f"# LLM-DiSAC evaluation: `{results['name']}`", "",
             f"Generated by `disac {kind}` from `results.json` (every number below is computed, none typed). "
             f"Preset **{results['preset']}**, dataset `{results['data']}` (config {results['data_config_digest']}), "
             f"test split ({results['dataset']['splits'].get('test', '?')} sequences), evaluation seed "
             f"{results['seed']}. Machine: {results['machine']}. Started {results['started_utc']}"
             + (f", finished {results['finished_utc']}" if results.get("finished_utc") else " (**unfinished**)")
             + f"; wall time {_minutes(results.get('wall_seconds'))}."
             + (f" Regenerate this report from the committed files alone (`results.json`, `summary.json`, "
                f"`per_sequence.json` where present; no runs, no dataset): `{rerender_command(results)}`."
                if kind == "benchmark" else ""), "",
             "**Metric conventions.** NMSE in dB is Eq. (59), `10 log10(sum (x_hat - x)^2 / sum x^2)`; RMSE is "
             "Eq. (60); accuracy is Eq. (61). Unless a table says *SI*, they are computed on **normalised values** "
             "`x_n = (x - offset) / scale` in (0, 1) (distance / 84.85 m, (azimuth + pi) / 2 pi, (pitch + pi/2) / pi, "
             "(v + 10 m/s) / 20 m/s), the paper's convention (Eq. 59: predictions in (0, 1)); *SI* tables use m, rad, "
             "rad and m/s. The paper does not state Table III's SNR: ours is at "
             f"**{snr:g} dB** with the aggregation center at position 1 (`{center}`); every SNR is in the JSON and "
             "the plots. Single-device schemes have no link: the same numbers at every SNR.", "",
             "**Comparability with Table III.** NMSE divides the error by the labels' power, so it depends on how "
             "the labels are normalised: a velocity label centred at 0.5 (our (v + 10) / 20) has far more power "
             "than one centred near 0, which makes our velocity NMSE look better than the paper's for the same "
             "error. The paper does not give its normalisation; NMSE comparisons with it are indicative, RMSE and "
             "accuracy (and the orderings between our own schemes) are the firmer ones.", "",
             "## Commands", "", "```bash", *results["commands"], "```", ""]
    if results.get("summary"):
        lines += summary_lines(results)
    per_run = [c for r in results["runs"].values() for c in r.get("equivalent_commands", [])]
    if per_run:
        lines += ["Per-run equivalents (the same run directories, which `disac train` resumes or re-uses):", "",
                  "```bash", *per_run, "```", ""]

    # Table III
    header = ["Method"] + [t for _, t in TABLE_COLUMNS]
    rows, si_rows = [], []
    for scheme, label in SCHEME_LABELS.items():
        ours = metrics_at(results, scheme, snr)
        ours_si = metrics_at(results, scheme, snr, scale="si")
        paper = TABLE_III[scheme]
        rows.append([label] + [f"{_fmt(k, ours[k]) if ours else 'not run'} ({_fmt(k, paper[k])})"
                               for k, _ in TABLE_COLUMNS])
        if ours_si:
            si_rows.append([label] + [_fmt(k, ours_si[k], si=True) for k, _ in TABLE_COLUMNS])
    lines += [f"## Table III: ours (paper) - normalised values, {snr:g} dB, position 1", "",
              *_md_table(header, rows), ""]
    if si_rows:
        si_cols = ["Method"] + [f"{t} [{SI_UNITS[k.removeprefix('rmse_')]}]" if k.startswith("rmse_") else t
                                for k, t in TABLE_COLUMNS]
        lines += [f"### The same on SI values (ours only; the paper gives none), {snr:g} dB, position 1", "",
                  *_md_table(si_cols, si_rows), ""]

    lines += ["## Targets and orderings", "",
              f"LLM-DiSAC with the LLaMA-family decoder (the seed-0 run of each scheme here; the seeds pooled are in "
              f"the first part), position 1, {snr:g} dB, normalised values, against the "
              "paper's Table III row (accuracy >= 98.21 %, NMSE distance <= -11.70, azimuth <= -29.06, "
              "pitch <= -27.05, velocity <= -7.30 dB) and the payload bound (<= 7.33 % of the raw bytes); then "
              "Table III's orderings on our numbers (a comparison holds when the first scheme is better on all 9 "
              "columns).", "", *verdict_lines(results), ""]
    for why in (_why_lines(results, checks), _ordering_why_lines(results, ordering_checks(results))):
        if why:
            lines += [*why, ""]

    # center-only ablation
    abl = []
    for name in results["runs"]:
        agg = metrics_at(results, name, snr)
        alone = metrics_at(results, name, snr, part="center_only")
        if agg and alone:
            abl.append([run_label(name, results), "all devices"] + [_fmt(k, agg[k]) for k, _ in TABLE_COLUMNS])
            abl.append([run_label(name, results), "center alone"] + [_fmt(k, alone[k]) for k, _ in TABLE_COLUMNS])
    if abl:
        lines += [f"## Collaboration: the same stage-2 model with and without the collaborators ({snr:g} dB)", "",
                  "`center alone` masks every collaborator (TRAM with K = 0): what the center's own RVFN feature "
                  "gives through the same TRAM + heads.", "",
                  *_md_table(["Run", "Inputs"] + [t for _, t in TABLE_COLUMNS], abl), ""]

    # decoders across SNR (Figs. 5-7)
    dec = decoder_runs(results)
    if dec:
        drows = []
        for name in dec:
            for s in results["snrs_db"]:
                m = metrics_at(results, name, s)
                drows.append([run_label(name, results, decoders=True), f"{s:g}"]
                             + [_fmt(k, m[k]) for k, _ in TABLE_COLUMNS])
        lines += ["## Decoders vs SNR (Figs. 5-7), position 1, normalised values", "",
                  *_md_table(["Decoder", "SNR [dB]"] + [t for _, t in TABLE_COLUMNS], drows), ""]
    # every scheme across SNR (accuracy), Fig. 7
    arows = []
    for name in results["runs"]:
        arows.append([run_label(name, results)] + [_fmt("accuracy", metrics_at(results, name, s)["accuracy"])
                                                for s in results["snrs_db"]])
    if arows:
        lines += ["### Accuracy [%] vs SNR, every run (position 1)", "",
                  *_md_table(["Run"] + [f"{s:g} dB" for s in results["snrs_db"]], arows), ""]

    positions = position_rows(results)
    if positions:
        prow = [[run_label(p["run"], results), f"{p['position']} ({p['center']})"]
                + [_fmt(k, p["metrics"][k]) for k, _ in TABLE_COLUMNS] for p in positions]
        lines += [f"## Aggregation-center positions (Figs. 8-10), {snr:g} dB, normalised values", "",
                  "Stage 1 is shared by all positions; TRAM + heads are trained again for each center "
                  "(`RUN/stage2-<device>`). MM-SD trains its single-device model on each position's device.", "",
                  *_md_table(["Scheme", "Position"] + [t for _, t in TABLE_COLUMNS], prow), ""]

    # communication cost
    comm = semantic_cost(results)
    if comm:
        raw, paper = comm["raw"], comm["paper"]
        lines += ["## Communication cost (Sec. V-B1, Eqs. 9-10)", "",
                  *_md_table(["per device and target", "raw data [bytes]", "semantic code [bytes]",
                              "payload [% of raw]", "reduction [%]"],
                             [[f"ours: image {'x'.join(map(str, raw['image_shape']))} uint8 + echo "
                               f"{'x'.join(map(str, raw['echo_shape']))} complex64 vs code "
                               f"{'x'.join(map(str, comm['semantic_shape']))} {comm['semantic_dtype']}",
                               f"{raw['total']:,} ({raw['image']:,} + {raw['echo']:,})",
                               f"{comm['semantic_bytes']:,}", f"{comm['payload_percent']:.3f}",
                               f"{comm['reduction_percent']:.2f}"],
                              ["paper (Sec. V-B1)", f"{paper['raw_bytes']:,}", f"{paper['semantic_bytes']:,}",
                               f"{paper['payload_percent']:.3f}",
                               f"{paper['reduction_percent']:.2f} (printed: {paper['reduction_percent_printed']})"]]),
                  "",
                  f"Per frame the {comm['per_frame']['collaborators']} collaborators send "
                  f"{comm['per_frame']['targets']} targets each: {comm['per_frame']['raw_bytes']:,} bytes raw vs "
                  f"{comm['per_frame']['semantic_bytes']:,} bytes of codes.", "",
                  f"Eq. (9) with B = {comm['bandwidth_hz']:g} Hz, P = {comm['power_w']:g} W, H = {comm['gain']:g} "
                  "and N0 = P H / 10^(SNR/10); Eq. (10) delay = 8 x bytes / rate, per device and target:", "",
                  *_md_table(["SNR [dB]", "N0 [W]", "rate [bit/s]", "raw delay [s]", "semantic delay [s]",
                              "paper raw [s]", "paper semantic [s]"],
                             [[k, f"{v['noise_power_w']:.4g}", f"{v['rate_bps']:.1f}", f"{v['delay_raw_s']:.2f}",
                               f"{v['delay_semantic_s']:.3f}", f"{v['paper_delay_raw_s']:.1f}",
                               f"{v['paper_delay_semantic_s']:.1f}"] for k, v in comm["links"].items()]), ""]
    exe_rows = []
    for name, run in results["runs"].items():
        exe = run.get("execution_time")
        if not exe:
            continue
        t = exe["terms"]
        exe_rows.append([run_label(name, results)]
                        + [f"{t[k]['p50_ms']:.2f} / {t[k]['p95_ms']:.2f}" if k in t else "-"
                           for k in ("t_ft", "t_se", "t_sd", "t_fa")]
                        + [f"{exe['by_snr'][f'{s:g}']['t_com_ms']:.0f}" for s in (min(results["snrs_db"]),
                                                                                 max(results["snrs_db"]))]
                        + [f"{exe['by_snr'][f'{s:g}']['T_exe_ms']:.0f}" for s in (min(results["snrs_db"]),
                                                                                 max(results["snrs_db"]))])
    if exe_rows:
        lo, hi = min(results["snrs_db"]), max(results["snrs_db"])
        any_exe = next(r["execution_time"] for r in results["runs"].values() if r.get("execution_time"))
        lines += ["## Execution time T_exe (Eq. 14), one frame", "",
                  f"Measured on the trained models with real test inputs (one frame of {any_exe['targets']} targets), "
                  f"{any_exe['repeats']} calls after a warm-up, p50 / p95 in ms, on {any_exe['device']} with "
                  f"{any_exe['threads']} threads; t_com from Eq. (10) for the frame's codes. Single-device schemes: "
                  "t_ft is RVFN, no link.", "",
                  *_md_table(["Run", "t_ft", "t_se", "t_sd", "t_fa", f"t_com {lo:g} dB", f"t_com {hi:g} dB",
                              f"T_exe {lo:g} dB", f"T_exe {hi:g} dB"], exe_rows), ""]

    # budget
    est = results["estimate"]
    brow = []
    for spec in results["plan"]:
        run = results["runs"].get(spec["name"])
        tr = run["training"] if run else {}
        val = [v.get("val_accuracy") for v in tr.values() if "val_accuracy" in v]
        epochs = spec["epochs"] or (run["evaluation"]["train"]["epochs_stage1"] if run else "preset")
        brow.append([spec["name"], str(epochs), ", ".join(spec["centers"]),
                     _minutes(est["runs"].get(spec["name"])),
                     _minutes(run["train_seconds"]) if run else "not run",
                     _minutes(run["eval_seconds"]) if run else "-",
                     ("re-used" if run and not run["trained_now"] else "trained now") if run else "-",
                     ", ".join(f"{100 * v:.1f}" for v in val) if val else "-"])
    chosen = (f"as chosen for the {results['preset']} preset" if kind == "benchmark"
              else "as the run was trained (run.json)")
    lines += ["## Training budget and wall time", "",
              f"Epochs per stage (stage 1 and stage 2) {chosen}; estimated "
              f"total {_minutes(est['total_s'])} ({est['basis']}; x{est['calibration']} calibration), measured "
              f"{_minutes(results.get('wall_seconds'))}. Validation accuracy [%] at the kept (best) epoch per stage "
              "(stage1/<device>..., stage2...) in the last column.", "",
              *_md_table(["Run", "Epochs", "Centers", "Estimated", "Trained (this call)", "Evaluated", "State",
                          "Val. accuracy"], brow), ""]
    if figures:
        lines += ["## Plots", ""] + [f"- [{f}]({f}): {FIGURES[f]}" for f in figures] + [""]
    lines += ["All numbers, per SNR and center, on normalised and SI values: [results.json](results.json).", ""]
    return "\n".join(lines)


def write_outputs(results: dict, out: Path, plots: bool = True) -> dict[str, Path]:
    """Write ``results.json``, the plots and ``report.md`` into ``out`` (each atomically); returns their paths.

    ``plots=False`` keeps the figures already in ``out`` (the report links those present).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results["checks"] = {"targets": target_checks(results), "orderings": ordering_checks(results)}
    write_json_atomic(out / "results.json", results, indent=1, strict=True)
    if results.get("summary"):
        write_json_atomic(out / "summary.json", results["summary"], indent=1, strict=True)
    figures = plot_figures(results, out) if plots else [f for f in FIGURES if (out / f).exists()]
    write_text_atomic(out / "report.md", render_report(results, figures))
    return {"results": out / "results.json", "report": out / "report.md", **{f: out / f for f in figures}}


def rerender_command(results: dict) -> str:
    return f"disac benchmark --report-only --out {results.get('out') or '.'}"


def refreshed_summary(results: dict, out: Path) -> dict | None:
    """The summary recomputed from ``OUT/per_sequence.json`` (two-level intervals) when the file is there.

    Else the results' own summary, marked as holding test-sequence intervals only when it predates the file.
    """
    from disac_ros.evaluation import analysis

    old = results.get("summary")
    path = Path(out) / analysis.PER_SEQUENCE_FILE
    if path.exists():
        fresh = analysis.summarize_stats(analysis.read_per_sequence(path), (old or {}).get("crb"), analysis.PAIRS,
                                         results.get("seed", 0))
        if old and "provenance" in old:
            fresh["provenance"] = old["provenance"]
        return fresh
    if old and "per_sequence" not in old:  # computed before the file existed: every interval over sequences only
        old["per_sequence"] = None
        for entry in (*old["schemes"].values(), *old["classical"].values()):
            entry.setdefault("interval", statistics.SEQUENCES)
    return old


def rerender(out: str | Path, plots: bool = False) -> dict[str, Path]:
    """Re-render ``OUT/report.md`` (and ``summary.json``, ``results.json``) from the committed files alone.

    Reads ``OUT/results.json`` and, when present, ``OUT/per_sequence.json`` (then every interval is recomputed
    from it, :func:`refreshed_summary`); needs neither the runs nor the dataset. ``plots``: draw the figures again
    (else the ones in ``OUT`` are kept). What ``disac benchmark --report-only`` runs.
    """
    out = Path(out)
    path = out / "results.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run the benchmark first")
    results = json.loads(path.read_text())
    summary = refreshed_summary(results, out)
    if summary is not None:
        results["summary"] = summary
    return write_outputs(results, out, plots=plots)
