"""disac_ros.evaluation.checks (with plots and report): checks, figures and verdicts of a synthetic results
dictionary."""
from __future__ import annotations

import pytest
from evaltools import KEYS


def test_checks_plots_and_report_on_a_synthetic_results_dictionary(tmp_path):
    from disac_ros.evaluation import checks, plots, report

    def metrics(v):
        m = {k: -10.0 - v for k in KEYS if k.startswith("nmse")} | {k: 0.1 / (1 + v) for k in KEYS if "rmse" in k}
        return {"normalised": m | {"accuracy": 0.5 + v / 100}, "si": m | {"accuracy": 0.5 + v / 100}}

    def run(scheme, decoder, centers, flat):
        by_snr = {f"{s:g}": {"metrics": metrics(s + 5 * (scheme == "llm-disac")),
                             "center_only": metrics(0)} for s in (0.0, 20.0)}
        return {"spec": {"scheme": scheme, "decoder": decoder, "centers": centers},
                "evaluation": {"centers": {c: {"position": i + 1, "snr_independent": flat, "by_snr": by_snr}
                                           for i, c in enumerate(centers)}},
                "cost": {"payload_percent": 1.0}, "training": {}}

    results = {"snrs_db": [0.0, 20.0], "table_snr_db": 20.0,
               "dataset": {"devices": ["device_0", "device_1"]},
               "runs": {"sm-sd-rf": run("sm-sd-rf", "llama", ["device_0"], True),
                        "mm-sd": run("mm-sd", "llama", ["device_0", "device_1"], True),
                        "llm-disac": run("llm-disac", "llama", ["device_0", "device_1"], False),
                        "llm-disac-lstm": run("llm-disac", "lstm", ["device_0"], False)}}
    assert checks.metrics_at(results, "llm-disac", 20, "device_1")["accuracy"] == pytest.approx(0.75)
    assert checks.metrics_at(results, "sm-md-rf", 20) is None
    assert checks.run_label("llm-disac-lstm", results) == "LLM-DiSAC (with LSTM)"
    assert checks.run_label("llm-disac", results, decoders=True) == "LLM-DiSAC (LLaMA-family)"
    variants = {"seed": 3, "runs": {"llm-disac-s2": {"spec": {"scheme": "llm-disac", "decoder": "llama", "seed": 2}},
                                    "mm-sd-gated": {"spec": {"scheme": "mm-sd", "decoder": "llama",
                                                             "overrides": [["gating", True]]}}}}
    assert checks.run_label("llm-disac-s2", variants, decoders=True) == "LLM-DiSAC (LLaMA-family), seed 5"
    assert checks.run_label("mm-sd-gated", variants) == "MM-SD (gating)"
    assert checks.decoder_runs(results) == ["llm-disac", "llm-disac-lstm"]
    assert {r["run"] for r in checks.position_rows(results)} == {"llm-disac", "mm-sd"}
    by_metric = {c["metric"]: c for c in checks.target_checks(results)}
    assert by_metric["payload_percent"]["met"] and by_metric["accuracy"]["met"] is False
    mm = next(o for o in checks.ordering_checks(results) if (o["better"], o["worse"]) == ("llm-disac", "mm-sd"))
    assert mm["holds"] and len(mm["wins"]) == 9
    written = plots.plot_figures(results, tmp_path)
    assert written == list(plots.FIGURES) and all((tmp_path / f).stat().st_size > 1000 for f in written)
    assert not list(tmp_path.glob(".*.tmp"))
    lines = report.verdict_lines(results)
    assert any("multi-device beats single-device (multi-modal)" in line and "**holds**" in line for line in lines)
