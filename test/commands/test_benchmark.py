"""disac_ros.commands.benchmark: a tiny ``disac benchmark`` on the smoke preset, and its re-use of finished runs."""
from __future__ import annotations

import json

import pytest
from evaltools import KEYS

from disac_ros.evaluation import paper


@pytest.mark.slow
def test_disac_benchmark_smoke(smoke_data, tmp_path):
    from disac_ros.cli import main

    out = tmp_path / "bench"
    argv = ["benchmark", "--preset", "smoke", "--data", str(smoke_data), "--out", str(out),
            "--schemes", "sm-sd-rf", "mm-sd", "llm-disac", "--decoders", "llama", "lstm", "--positions", "1", "2",
            "--snr", "0", "20", "--epochs", "1", "--timing-repeats", "2", "--seeds", "2", "--variants",
            "--no-progress"]
    assert main(argv) == 0
    results = json.loads((out / "results.json").read_text())
    assert set(results["runs"]) == {"sm-sd-rf", "sm-sd-rf-s1", "mm-sd", "mm-sd-s1", "llm-disac", "llm-disac-s1",
                                    "llm-disac-lstm"}
    # the center's own model of each llm-disac run is the MM-SD model of its seed, adopted rather than retrained
    assert "center/device_0 (adopted from mm-sd-s1)" in results["runs"]["llm-disac-s1"]["trained_now"]
    assert "center/device_0" not in results["runs"]["llm-disac-s1"]["trained_now"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["schemes"]["llm-disac"]["seeds"] == [0, 1] and summary["schemes"]["llm-disac-lstm"]["seeds"] == [0]
    assert {"llm-disac (center alone)", "llm-disac (no prompt)", "llm-disac (wrong prompt)",
            "llm-disac (lossless link)"} <= set(summary["schemes"])
    assert set(summary["classical"]) == {"single", "fusion"} and summary["crb"]["rmse"]["distance"] > 0
    for row in (summary["schemes"]["sm-sd-rf"], summary["classical"]["fusion"]):
        iv = row["pooled"]["all"]["rmse_distance"]
        assert iv["low"] <= iv["mean"] <= iv["high"] and iv["groups"] == results["dataset"]["splits"]["test"]
    assert {"llm-disac - mm-sd", "llm-disac - classical-fusion", "mm-sd - sm-sd-rf"} <= set(summary["paired"])
    # intervals over seeds and sequences, from the per-sequence statistics written beside the summary
    assert summary["per_sequence"] == "per_sequence.json" and (out / "per_sequence.json").exists()
    assert summary["schemes"]["llm-disac"]["interval"] == "seeds+sequences"
    assert summary["schemes"]["llm-disac-lstm"]["interval"] == "sequences"
    assert summary["paired_seeds"]["llm-disac - mm-sd"]["draw"] == "independent"
    assert summary["paired_seeds"]["llm-disac (no prompt) - llm-disac"] == {
        "a": [0], "b": [0], "draw": "paired", "interval": "sequences"}
    # the committed files alone (no runs, no dataset) give the same summary and report
    import shutil

    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("results.json", "per_sequence.json"):
        shutil.copy(out / name, copy / name)
    assert main(["benchmark", "--report-only", "--out", str(copy)]) == 0
    assert json.loads((copy / "summary.json").read_text()) == summary
    assert {"20", "0"} <= set(summary["prompt_by_snr"]) and summary["targets"]
    assert "## Learned, classical and the bound" in (out / "report.md").read_text()
    assert set(results["runs"]["llm-disac"]["evaluation"]["centers"]) == {"device_0", "device_1"}
    assert (out / "runs" / "llm-disac" / "stage2-device_1" / "model.safetensors").exists()
    for run in results["runs"].values():
        for entry in run["evaluation"]["centers"].values():
            assert set(entry["by_snr"]) == {"0", "20"}
            for row in entry["by_snr"].values():
                assert set(row["metrics"]["normalised"]) == KEYS == set(row["metrics"]["si"])
        assert run["execution_time"]["by_snr"]["0"]["T_exe_ms"] > 0
    assert results["runs"]["sm-sd-rf"]["evaluation"]["centers"]["device_0"]["snr_independent"]
    assert results["runs"]["llm-disac"]["cost"]["semantic_bytes"] == 4 * 8 * 4
    assert {c["metric"] for c in results["checks"]["targets"]} == {*paper.TARGETS, "payload_percent"}
    for name in ("fig5_nmse_vs_snr.png", "fig6_rmse_vs_snr.png", "fig7_accuracy_vs_snr.png",
                 "fig8_nmse_positions.png", "fig9_rmse_positions.png", "fig10_accuracy_positions.png"):
        assert (out / name).stat().st_size > 1000, name
    report = (out / "report.md").read_text()
    for label in paper.SCHEME_LABELS.values():
        assert f"| {label} |" in report, label
    assert "LLM-DiSAC (with LSTM)" in report and "disac benchmark --preset smoke" in report
    assert "## Communication cost" in report and "## Execution time" in report and "| 2 (device_1) |" in report
    assert not list(out.glob(".*.tmp")), "temporary files left behind"
    # A second call re-uses every run (nothing trained) and gives the same numbers.
    assert main(argv) == 0
    again = json.loads((out / "results.json").read_text())
    for name, run in again["runs"].items():
        assert run["trained_now"] == []
        assert run["evaluation"] == results["runs"][name]["evaluation"]
