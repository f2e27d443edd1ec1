"""The evaluation suite: metric conventions, communication cost, offline evaluation, `disac evaluate --run` and a tiny
`disac benchmark` on the smoke preset."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from disac_ros import metrics
from disac_ros.config import DECODER_KINDS, SCHEMES
from disac_ros.evaluation import cost, paper, suite

PARAMS = ("distance", "azimuth", "pitch", "radial_velocity")
KEYS = {"accuracy", *(f"{m}_{p}" for m in ("nmse_db", "rmse") for p in PARAMS)}


# --- fast: hand-computed values ----------------------------------------------------------------------------------

def test_nmse_db_convention_is_ten_log10_of_the_energy_ratio():
    # errors 0.1 and 0.2 on values 1 and 2: sum e^2 = 0.05, sum x^2 = 5, ratio 0.01 -> -20 dB (10 log10, not 20)
    assert metrics.nmse_db([1.1, 2.2], [1.0, 2.0]) == pytest.approx(-20.0)
    assert metrics.nmse_db([2.0, 4.0], [1.0, 2.0]) == pytest.approx(0.0)        # error as large as the signal
    assert metrics.rmse([1.1, 2.2], [1.0, 2.0]) == pytest.approx(math.sqrt(0.025))
    assert metrics.accuracy([0, 1, 2, 2], [0, 1, 1, 2]) == 0.75


def test_metrics_on_normalised_and_si_values():
    offset, scale = np.array([0.0, -math.pi, -math.pi / 2, -10.0]), np.array([84.85, 2 * math.pi, math.pi, 20.0])
    true = np.array([[0.2, 0.5, 0.4, 0.5], [0.4, 0.25, 0.6, 0.75]])
    pred = true + np.array([[0.01, -0.02, 0.0, 0.05], [-0.01, 0.02, 0.01, -0.05]])
    logits = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 3.0]])
    both = metrics.sensing_metrics_both(pred, true, logits, np.array([0, 1]), offset, scale)
    assert set(both) == {"normalised", "si"} and set(both["normalised"]) == KEYS == set(both["si"])
    for j, p in enumerate(PARAMS):  # RMSE scales with the normalisation scale, the offset cancels
        assert both["si"][f"rmse_{p}"] == pytest.approx(scale[j] * both["normalised"][f"rmse_{p}"])
    # distance has no offset, so its NMSE is the same on both scales; 0.01 errors on 0.2 and 0.4 -> 10 log10(2e-4/0.2)
    assert both["si"]["nmse_db_distance"] == pytest.approx(both["normalised"]["nmse_db_distance"])
    assert both["normalised"]["nmse_db_distance"] == pytest.approx(10 * math.log10(2e-4 / 0.2))
    assert both["normalised"]["accuracy"] == both["si"]["accuracy"] == 0.5
    assert metrics.better("accuracy", 0.9, 0.8) and metrics.better("nmse_db_pitch", -20.0, -10.0)


def test_paper_constants_and_payload():
    assert paper.TABLE_III["llm-disac"]["accuracy"] == pytest.approx(0.9821)
    assert paper.TABLE_III["llm-disac"]["nmse_db_azimuth"] == pytest.approx(-29.060)
    assert paper.TARGETS["nmse_db_radial_velocity"] == pytest.approx(-7.302)
    assert 100 - paper.MAX_PAYLOAD_PERCENT == pytest.approx(92.67, abs=0.01)   # the paper's 92.67 % reduction
    assert set(paper.TABLE_III) == set(paper.SCHEME_LABELS)


def test_communication_cost_hand_computed():
    manifest = {"config": {"camera": {"height": 128, "width": 128}},
                "radar": {"num_chirps": 8, "num_antennas": 16, "num_samples": 60},
                "targets": [0, 1, 2], "devices": [{}, {}, {}, {}]}
    c = cost.communication_cost(manifest, L_se=4, d_se=16, snrs_db=[0, 10])
    assert c["raw"]["image"] == 128 * 128 * 3 and c["raw"]["echo"] == 8 * 16 * 60 * 8
    assert c["semantic_bytes"] == 4 * 16 * 4 and c["complex_symbols"] == 32
    assert c["payload_percent"] == pytest.approx(100 * 256 / (49152 + 61440))
    assert c["per_frame"]["semantic_bytes"] == 3 * 3 * 256
    # Eq. 9 at 0 dB: B log2(1 + 1) = B = 1 kHz; at 10 dB: 1000 log2(11); Eq. 10: 8 * bytes / rate
    assert c["links"]["0"]["rate_bps"] == pytest.approx(1000.0)
    assert c["links"]["10"]["rate_bps"] == pytest.approx(1000 * math.log2(11))
    assert c["links"]["0"]["delay_semantic_s"] == pytest.approx(8 * 256 / 1000)
    assert c["links"]["0"]["paper_delay_raw_s"] == pytest.approx(8 * 1_370_112 / 1000)


def test_plan_epochs_and_estimate():
    devices = ["device_0", "device_1", "device_2", "device_3"]
    plan = suite.make_plan(devices, list(paper.SCHEME_LABELS), list(DECODER_KINDS), [1, 2, 3, 4],
                           suite.parse_epochs(["5", "llm-disac-gpt2=3"], "default"))
    names = [s.name for s in plan]
    assert names == ["sm-sd-rf", "sm-sd-cv", "mm-sd", "sm-md-rf", "sm-md-cv", "llm-disac", "llm-disac-gpt2",
                     "llm-disac-lstm", "llm-disac-gru", "llm-disac-lossless"]
    by = {s.name: s for s in plan}
    assert by["llm-disac"].centers == tuple(devices) and by["mm-sd"].centers == tuple(devices)
    assert by["sm-md-rf"].centers == ("device_0",) and by["llm-disac-gpt2"].epochs == 3
    assert by["sm-sd-rf"].epochs == 5
    assert suite.parse_epochs(None, "default") == (suite.BENCHMARK_EPOCHS["default"], {})
    with pytest.raises(ValueError, match="NAME=N"):
        suite.parse_epochs(["x=y"], "default")
    with pytest.raises(ValueError, match="not in the plan"):
        suite.make_plan(devices, ["sm-sd-rf"], ["llama"], [1], (5, {"llm-disac": 2}))
    est = suite.estimate_seconds(plan, MANIFEST, "default")
    assert set(est["runs"]) == set(names) and 30 * 60 < est["total_s"] < 90 * 60


# 24 sequences of 20 frames, 3 targets, 4 devices: 14 / 5 / 5 sequences -> 840 / 300 / 300 samples per device
MANIFEST = {"counts": {"sequences": 24, "frames": 480}, "targets": [0, 1, 2], "devices": [{}] * 4,
            "splits": {"train": list(range(14)), "val": list(range(5)), "test": list(range(5))}}


def test_throughput_file_has_every_rate_the_plan_uses(monkeypatch):
    import yaml

    full = yaml.safe_load(suite.THROUGHPUT_FILE.read_text())
    devices = ["device_0", "device_1", "device_2", "device_3"]
    plan = suite.make_plan(devices, list(SCHEMES), list(DECODER_KINDS), [1, 2, 3, 4], (None, {}))
    assert {(s.scheme, s.decoder) for s in plan} >= {("llm-disac", d) for d in DECODER_KINDS}
    est = suite.estimate_seconds(plan, MANIFEST, "default")  # a KeyError names a rate the file lacks
    assert all(v > 0 for v in est["runs"].values())
    assert "(x86_64, 2 cores, idle)" in est["basis"] and est["calibration"] == full["calibration"]
    # and a file without one of them says which
    del full["stage1"]["both"]["gru"]
    monkeypatch.setattr(suite, "throughput", lambda: full)
    with pytest.raises(KeyError, match="stage1.both.gru"):
        suite.estimate_seconds(plan, MANIFEST, "default")


def test_estimate_matches_a_hand_computation_from_the_throughput_file():
    import yaml

    t = yaml.safe_load(suite.THROUGHPUT_FILE.read_text())

    def rate(compute, loading):  # a step's compute and the HDF5 loading in series
        return 1 / (1 / compute + 1 / loading)

    spec = suite.RunSpec("llm-disac-gru", "llm-disac", "gru", ("device_0",), 2)
    shuffled, sequential, startup = t["loading"]["shuffled"], t["loading"]["sequential"], t["startup_s"]
    features = rate(t["features"]["both"], sequential)
    decode, K, snrs = t["decode"]["gru"], 3, 5
    per_epoch = 840 / rate(t["stage1"]["both"]["gru"], shuffled) + 300 / rate(t["evaluation"]["both"]["gru"],
                                                                               sequential)
    stage1 = 4 * (2 * per_epoch + startup)                                      # every device, 2 epochs
    handover = 3 * (840 + 300 + 300) / features                                  # the K collaborators, every split
    stage2 = (840 + 300) / features + startup + 2 * (840 / t["stage2"]["gru"] + 300 * K / decode)
    evaluation = startup + 300 / features + snrs * 300 * K / decode
    expected = t["calibration"] * (stage1 + handover + stage2 + evaluation)
    est = suite.estimate_seconds([spec], MANIFEST, "default", snrs)
    assert est["runs"]["llm-disac-gru"] == pytest.approx(expected, rel=1e-12)
    assert est["total_s"] == pytest.approx(expected, rel=1e-12)
    single = suite.RunSpec("sm-sd-rf", "sm-sd-rf", "llama", ("device_0",), 2)
    train, ev = rate(t["stage1"]["rf"]["single_device"], shuffled), rate(t["evaluation"]["rf"]["single_device"],
                                                                          sequential)
    expected = t["calibration"] * (2 * (840 / train + 300 / ev) + startup + 300 / ev)
    assert suite.estimate_seconds([single], MANIFEST, "default")["total_s"] == pytest.approx(expected, rel=1e-12)


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


# --- slow: on the smoke dataset and run ---------------------------------------------------------------------------

@pytest.mark.slow
def test_offline_evaluation_is_deterministic(smoke_data, smoke_run):
    from disac_ros.evaluation import offline

    a = offline.evaluate_offline(smoke_data, smoke_run, [0.0, 20.0], seed=3)
    b = offline.evaluate_offline(smoke_data, smoke_run, [0.0, 20.0], seed=3)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    entry = a["centers"]["device_0"]
    assert not entry["snr_independent"] and set(entry["by_snr"]) == {"0", "20"}
    for row in entry["by_snr"].values():
        for part in ("metrics", "center_only"):
            assert set(row[part]) == {"normalised", "si"}
            assert set(row[part]["normalised"]) == KEYS
            assert all(np.isfinite(v) for v in row[part]["si"].values())
    assert a["samples"]["device_0"] == 12  # one test sequence: 4 frames x 3 targets


@pytest.mark.slow
def test_disac_evaluate_run_writes_report(smoke_data, smoke_run, tmp_path, capsys):
    from disac_ros.cli import main

    out = tmp_path / "eval"
    assert main(["evaluate", "--run", str(smoke_run), "--data", str(smoke_data), "--snr", "0", "20",
                 "--out", str(out), "--json", str(tmp_path / "e.json")]) == 0
    printed = capsys.readouterr().out
    assert "metrics on normalised values" in printed and "metrics on si values" in printed
    results = json.loads((out / "results.json").read_text())
    assert list(results["runs"]) == ["llm-disac"]
    report = (out / "report.md").read_text()
    assert "## Table III" in report and "| LLM-DiSAC |" in report and "SI values" in report
    assert (out / "fig5_nmse_vs_snr.png").stat().st_size > 0
    assert json.loads((tmp_path / "e.json").read_text())["evaluation"]["scheme"] == "llm-disac"


@pytest.mark.slow
def test_disac_benchmark_smoke(smoke_data, tmp_path):
    from disac_ros.cli import main

    out = tmp_path / "bench"
    argv = ["benchmark", "--preset", "smoke", "--data", str(smoke_data), "--out", str(out),
            "--schemes", "sm-sd-rf", "llm-disac", "--decoders", "llama", "lstm", "--positions", "1", "2",
            "--snr", "0", "20", "--epochs", "1", "--timing-repeats", "2", "--no-progress"]
    assert main(argv) == 0
    results = json.loads((out / "results.json").read_text())
    assert set(results["runs"]) == {"sm-sd-rf", "llm-disac", "llm-disac-lstm"}
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


def test_demo_prints_the_numbers_disac_evaluate_writes(smoke_data, smoke_run, tmp_path, capsys):
    """`make demo` and `disac evaluate` share one evaluation: same run, SNR and seed give the same metrics."""
    import re

    from disac_ros.cli import main
    from disac_ros.commands import demo

    demo.evaluate_test_split(smoke_data, smoke_run, 10.0, seed=3)
    printed = capsys.readouterr().out
    out = tmp_path / "eval.json"
    assert main(["evaluate", "--run", str(smoke_run), "--data", str(smoke_data), "--snr", "10", "--seed", "3",
                 "--centers", "device_0", "--no-timing", "--json", str(out)]) == 0
    row = json.loads(out.read_text())["evaluation"]["centers"]["device_0"]["by_snr"]["10"]
    for part, label in (("metrics", "all devices"), ("center_only", "center alone")):
        line = next(line for line in printed.splitlines() if line.strip().startswith(label))
        numbers = [float(x) for x in re.findall(r"-?\d+\.\d+", line)]
        m = row[part]["normalised"]
        expected = [100 * m["accuracy"], m["nmse_db_distance"], m["nmse_db_azimuth"], m["nmse_db_pitch"],
                    m["nmse_db_radial_velocity"]]
        assert numbers == pytest.approx(expected, abs=0.051), (line, expected)
