"""The PNG figures: the paper's Figs. 5-10 from the results dictionary, training curves and the live graph's plot.

One function per figure; each writes its file atomically (a temporary name, then a rename) and, for Figs. 5-10,
returns the file name it wrote or None when the results hold nothing for that figure. :func:`plot_figures` writes
all that the results can fill. Metrics are on **normalised** values, as Table III (see
:mod:`~disac_ros.evaluation.checks`).
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from disac_ros.evaluation.checks import (
    PARAM_TITLES,
    decoder_runs,
    first_center,
    metrics_at,
    position_rows,
    run_label,
    table_snr,
)
from disac_ros.files import atomic_path
from disac_ros.metrics import PARAMETERS

FIGURES = {
    "fig5_nmse_vs_snr.png": "Fig. 5: NMSE [dB] per parameter vs link SNR, per decoder (center at position 1)",
    "fig6_rmse_vs_snr.png": "Fig. 6: RMSE per parameter vs link SNR, per decoder (center at position 1)",
    "fig7_accuracy_vs_snr.png": "Fig. 7: classification accuracy vs link SNR, every scheme and decoder",
    "fig8_nmse_positions.png": "Fig. 8: NMSE [dB] per aggregation-center position, LLM-DiSAC vs MM-SD",
    "fig9_rmse_positions.png": "Fig. 9: RMSE per aggregation-center position, LLM-DiSAC vs MM-SD",
    "fig10_accuracy_positions.png": "Fig. 10: classification accuracy per aggregation-center position",
}
_BAR = 0.38  # bar width of the per-position figures (two schemes side by side)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save_figure(fig, path: Path) -> None:
    """Lay the figure out, write it to ``path`` (PNG, 110 dpi) through a temporary file, close it."""
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
        _pyplot().close(fig)


# --- Figs. 5-7: against the link SNR ------------------------------------------------------------------------------

def fig5_nmse_vs_snr(results: dict, out: Path) -> str | None:
    return _metric_vs_snr(results, out, "fig5_nmse_vs_snr.png", "nmse_db", "NMSE [dB]")


def fig6_rmse_vs_snr(results: dict, out: Path) -> str | None:
    return _metric_vs_snr(results, out, "fig6_rmse_vs_snr.png", "rmse", "RMSE (normalised)")


def _metric_vs_snr(results: dict, out: Path, fname: str, metric: str, ylabel: str) -> str | None:
    """Figs. 5 and 6: ``metric`` of each parameter vs SNR, one line per decoder (LLM-DiSAC runs)."""
    decoders = decoder_runs(results)
    if not decoders:
        return None
    snrs = results["snrs_db"]
    fig, axes = _pyplot().subplots(2, 2, figsize=(10, 7))
    for ax, param in zip(axes.flat, PARAMETERS, strict=True):
        for name in decoders:
            ys = [metrics_at(results, name, s)[f"{metric}_{param}"] for s in snrs]
            ax.plot(snrs, ys, marker="o", label=run_label(name, results, decoders=True))
        ax.ticklabel_format(axis="y", useOffset=False)
        ax.set_title(f"({'abcd'[PARAMETERS.index(param)]}) {PARAM_TITLES[param]}")
        ax.set_xlabel("SNR [dB]")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(f"{FIGURES[fname]} - normalised values, test split")
    _save_figure(fig, out / fname)
    return fname


def fig7_accuracy_vs_snr(results: dict, out: Path) -> str | None:
    """Accuracy vs SNR of every run; single-device runs (no link) dashed."""
    if not results["runs"]:
        return None
    fname, snrs = "fig7_accuracy_vs_snr.png", results["snrs_db"]
    fig, ax = _pyplot().subplots(figsize=(8, 5))
    for name, run in results["runs"].items():
        ys = [100 * metrics_at(results, name, s)["accuracy"] for s in snrs]
        flat = run["evaluation"]["centers"][first_center(results)]["snr_independent"]
        ax.plot(snrs, ys, marker="o", linestyle="--" if flat else "-",
                label=run_label(name, results) + (" (no link)" if flat else ""))
    ax.set_xlabel("SNR [dB]")
    ax.set_ylabel("accuracy [%]")
    ax.set_title(FIGURES[fname], fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    _save_figure(fig, out / fname)
    return fname


# --- Figs. 8-10: per aggregation-center position ------------------------------------------------------------------

def fig8_nmse_positions(results: dict, out: Path) -> str | None:
    return _metric_positions(results, out, "fig8_nmse_positions.png", "nmse_db", "NMSE [dB]")


def fig9_rmse_positions(results: dict, out: Path) -> str | None:
    return _metric_positions(results, out, "fig9_rmse_positions.png", "rmse", "RMSE (normalised)")


def _positions(results: dict) -> tuple[float, list[str], list[str]] | None:
    """(table SNR, runs to compare, centers in device order), None when no run was evaluated at several centers."""
    positions = position_rows(results)
    if not positions:
        return None
    names = [n for n in ("llm-disac", "mm-sd") if n in results["runs"]]
    centers = sorted({p["center"] for p in positions}, key=results["dataset"]["devices"].index)
    return table_snr(results), names, centers


def _offsets(names: list[str]) -> list[float]:
    return [(j - (len(names) - 1) / 2) * _BAR for j in range(len(names))]


def _metric_positions(results: dict, out: Path, fname: str, metric: str, ylabel: str) -> str | None:
    """Figs. 8 and 9: ``metric`` of each parameter, one panel per center position, one bar per scheme."""
    found = _positions(results)
    if found is None:
        return None
    snr, names, centers = found
    fig, axes = _pyplot().subplots(1, len(centers), figsize=(4 * len(centers), 4), squeeze=False)
    x = np.arange(len(PARAMETERS))
    for ax, center in zip(axes[0], centers, strict=True):
        for name, dx in zip(names, _offsets(names), strict=True):
            m = metrics_at(results, name, snr, center)
            if m is None:
                continue
            ax.bar(x + dx, [m[f"{metric}_{p}"] for p in PARAMETERS], _BAR, label=run_label(name, results))
        pos = results["dataset"]["devices"].index(center) + 1
        ax.set_title(f"position {pos} ({center})")
        ax.set_xticks(x, [PARAM_TITLES[p] for p in PARAMETERS], fontsize=8)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3, axis="y")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"{FIGURES[fname]} - {snr:g} dB, normalised values")
    _save_figure(fig, out / fname)
    return fname


def fig10_accuracy_positions(results: dict, out: Path) -> str | None:
    """Accuracy per center position, one bar per scheme (a position a scheme was not evaluated at: no bar)."""
    found = _positions(results)
    if found is None:
        return None
    snr, names, centers = found
    fname = "fig10_accuracy_positions.png"
    fig, ax = _pyplot().subplots(figsize=(7, 4.5))
    x = np.arange(len(centers))
    for name, dx in zip(names, _offsets(names), strict=True):
        ys = [(lambda m: 100 * m["accuracy"] if m else np.nan)(metrics_at(results, name, snr, c)) for c in centers]
        ax.bar(x + dx, ys, _BAR, label=run_label(name, results))
    ax.set_xticks(x, [f"position {results['dataset']['devices'].index(c) + 1}" for c in centers])
    ax.set_ylabel("accuracy [%]")
    ax.set_title(f"{FIGURES[fname]} ({snr:g} dB)", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    _save_figure(fig, out / fname)
    return fname


def plot_figures(results: dict, out: Path) -> list[str]:
    """Write the Figs. 5-10 lookalikes that the results can fill; returns the file names written."""
    figures = (fig5_nmse_vs_snr, fig6_rmse_vs_snr, fig7_accuracy_vs_snr, fig8_nmse_positions, fig9_rmse_positions,
               fig10_accuracy_positions)
    return [name for name in (figure(results, Path(out)) for figure in figures) if name]


# --- training and the live graph (``disac demo``) -----------------------------------------------------------------

def plot_training(run: Path) -> Path:
    """Training curves of the center's own model, every stage-1 device and stage 2 (validation accuracy, NMSE)."""
    fig, axes = _pyplot().subplots(1, 3, figsize=(14, 4))
    for path in sorted({*run.glob("center/*/metrics.csv"), *run.glob("stage*/**/metrics.csv")}):
        rows = list(csv.DictReader(path.read_text().splitlines()))
        name = str(path.parent.relative_to(run))
        epochs = [int(r["epoch"]) for r in rows]
        axes[0].plot(epochs, [float(r["train_loss"]) for r in rows], marker="o", label=name)
        if rows and "val_accuracy" in rows[0]:
            axes[1].plot(epochs, [100 * float(r["val_accuracy"]) for r in rows], marker="o", label=name)
            axes[2].plot(epochs, [float(r["val_nmse_db_distance"]) for r in rows], marker="o", label=name)
    for ax, title in zip(axes, ("training loss (Eq. 47 / 54)", "validation accuracy [%]",
                                "validation NMSE of distance [dB]"), strict=True):
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    out = run / "training_curves.png"
    _save_figure(fig, out)
    return out


def plot_live(rows: list[dict], out: Path) -> Path:
    """Estimated (dots) vs true (lines) distance, azimuth, pitch and radial velocity of every target over sim time."""
    fig, axes = _pyplot().subplots(1, 4, figsize=(16, 3.8))
    scale = (1.0, math.degrees(1), math.degrees(1), 1.0)
    titles = ("distance [m]", "azimuth [deg]", "pitch [deg]", "radial velocity [m/s]")
    for tid in sorted({r["target_id"] for r in rows}):
        mine = sorted((r for r in rows if r["target_id"] == tid), key=lambda r: r["stamp_s"])
        t = [r["stamp_s"] for r in mine]
        for j, ax in enumerate(axes):
            line, = ax.plot(t, [r["true"][j] * scale[j] for r in mine], label=f"{mine[0]['true_label']} (true)")
            ax.plot(t, [r["pred"][j] * scale[j] for r in mine], ".", color=line.get_color(), label="estimate")
    for ax, title in zip(axes, titles, strict=True):
        ax.set_title(title)
        ax.set_xlabel("sim time [s]")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("live graph: /targets (dots) vs /ground_truth/targets (lines), relative to the aggregation center")
    _save_figure(fig, Path(out))
    return out
