"""Reading and checking the results dictionary (the content of ``results.json``) of the Table III suite.

The results structure: ``results["runs"][name]["evaluation"]["centers"][device]["by_snr"][snr][part][scale]
[metric]`` with ``part`` ``"metrics"`` (all devices) or ``"center_only"`` and ``scale`` ``"normalised"`` or ``"si"``.
Table III, its targets and orderings are checked on **normalised** values at the table SNR with the aggregation
center at position 1 (the dataset's first device). Plots (:mod:`~disac_ros.evaluation.plots`) and the report
(:mod:`~disac_ros.evaluation.report`) read the results only through these functions.
"""
from __future__ import annotations

from disac_ros.config import SCHEMES
from disac_ros.evaluation.paper import (
    DECODER_LABELS,
    MAX_PAYLOAD_PERCENT,
    ORDERINGS,
    SCHEME_LABELS,
    TABLE_COLUMNS,
    TABLE_III,
    TARGETS,
)
from disac_ros.metrics import better

#: How plots and the report name the four sensing parameters.
PARAM_TITLES = {"distance": "distance", "azimuth": "azimuth", "pitch": "pitch", "radial_velocity": "velocity"}


# --- reading ------------------------------------------------------------------------------------------------------

def first_center(results: dict) -> str:
    return results["dataset"]["devices"][0]


def metrics_at(results: dict, name: str, snr: float | str, center: str | None = None, scale: str = "normalised",
               part: str = "metrics") -> dict | None:
    """One run's metrics at one SNR and center (None when that run, center or SNR was not evaluated)."""
    run = results["runs"].get(name)
    if run is None:
        return None
    entry = run["evaluation"]["centers"].get(center or first_center(results))
    if entry is None:
        return None
    row = entry["by_snr"].get(f"{float(snr):g}")
    return None if row is None or part not in row else row[part][scale]


def table_snr(results: dict) -> float:
    return float(results["table_snr_db"])


def position_rows(results: dict) -> list[dict]:
    """(scheme run, center, metrics at the table SNR) for the runs evaluated at more than one center."""
    rows = []
    for name in ("llm-disac", "mm-sd"):
        run = results["runs"].get(name)
        if run is None or len(run["evaluation"]["centers"]) < 2:
            continue
        for center, entry in run["evaluation"]["centers"].items():
            rows.append({"run": name, "center": center, "position": entry["position"],
                         "metrics": metrics_at(results, name, table_snr(results), center)})
    return rows


def semantic_cost(results: dict) -> dict | None:
    """The ``cost`` of the first multi-device run, which sends semantic codes (None: only single-device ones ran)."""
    return next((r["cost"] for r in results["runs"].values() if SCHEMES[r["spec"]["scheme"]][1]), None)


# --- run labels -----------------------------------------------------------------------------------------------

def run_label(name: str, results: dict, decoders: bool = False) -> str:
    """The paper's name of a run; ``decoders``: name LLM-DiSAC's decoder too (Figs. 5-7 context).

    A labelled variant names its switches (``MM-SD (gating)``), a run at another seed its seed.
    """
    run = results["runs"].get(name)
    if run is None:
        return name
    spec = run["spec"]
    scheme, decoder = spec["scheme"], spec["decoder"]
    label = DECODER_LABELS[decoder] if scheme == "llm-disac" and (decoders or decoder != "llama") \
        else SCHEME_LABELS[scheme]
    if spec.get("overrides"):
        label += " (" + ", ".join(k if v is True else f"{k} {v}" for k, v in spec["overrides"]) + ")"
    if spec.get("seed"):
        label += f", seed {results.get('seed', 0) + spec['seed']}"
    return label


def decoder_runs(results: dict) -> list[str]:
    """The LLM-DiSAC runs (one per decoder), in the results' order."""
    return [n for n, r in results["runs"].items() if r["spec"]["scheme"] == "llm-disac"]


# --- checks ---------------------------------------------------------------------------------------------------

def target_checks(results: dict) -> list[dict]:
    """LLM-DiSAC (LLaMA-family decoder, position 1, table SNR) against each Table III target."""
    ours = metrics_at(results, "llm-disac", table_snr(results))
    rows = []
    for key, target in TARGETS.items():
        value = None if ours is None else ours[key]
        met = None if value is None else not better(key, target, value)  # at least as good as the target
        rows.append({"metric": key, "ours": value, "target": target, "met": met,
                     "margin": None if value is None else value - target})
    comm = semantic_cost(results)
    payload = None if comm is None else comm["payload_percent"]
    rows.append({"metric": "payload_percent", "ours": payload, "target": MAX_PAYLOAD_PERCENT,
                 "met": None if payload is None else payload <= MAX_PAYLOAD_PERCENT,
                 "margin": None if payload is None else payload - MAX_PAYLOAD_PERCENT})
    return rows


def ordering_checks(results: dict) -> list[dict]:
    """Table III's orderings on our numbers (position 1, table SNR): on how many of the 9 columns A beats B."""
    snr = table_snr(results)
    rows = []
    for a, b, what in ORDERINGS:
        ma, mb = metrics_at(results, a, snr), metrics_at(results, b, snr)
        if ma is None or mb is None:
            rows.append({"better": a, "worse": b, "what": what, "evaluated": False})
            continue
        wins = [k for k, _ in TABLE_COLUMNS if better(k, ma[k], mb[k])]
        losses = [k for k, _ in TABLE_COLUMNS if k not in wins]
        paper_wins = [k for k, _ in TABLE_COLUMNS if better(k, TABLE_III[a][k], TABLE_III[b][k])]
        rows.append({"better": a, "worse": b, "what": what, "evaluated": True, "wins": wins, "not_better": losses,
                     "holds": not losses, "accuracy_holds": "accuracy" in wins,
                     "paper_wins": len(paper_wins)})
    return rows
