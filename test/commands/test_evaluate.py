"""disac_ros.commands.evaluate: ``disac evaluate --bag`` (and its errors) and ``disac evaluate --run`` (its report)."""
from __future__ import annotations

import json

import pytest
from bagtools import build_eval_bag, evaluate_bag


def test_evaluate_command_and_missing_topic(tmp_path, capsys):
    from disac_ros.cli import main
    bag = build_eval_bag(tmp_path / "eval")
    out = tmp_path / "metrics" / "eval.json"
    assert main(["evaluate", "--bag", str(bag), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "accuracy 66.67 %" in printed and "-20.79" in printed
    assert json.loads(out.read_text())["matched"] == 3
    assert main(["evaluate", "--run", "runs/x", "--data", "data/x"]) == 2
    assert "no run.json" in capsys.readouterr().err  # the --run mode (evaluation suite) checks its inputs

    no_estimates = build_eval_bag(tmp_path / "gt_only", with_estimates=False)
    with pytest.raises(ValueError, match="has no /targets topic"):
        evaluate_bag(no_estimates)
    assert main(["evaluate", "--bag", str(no_estimates)]) == 2
    assert "has no /targets topic" in capsys.readouterr().err


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
def test_disac_evaluate_run_on_its_world_drawn_with_another_seed(smoke_run, smoke_scene, tmp_path, capsys):
    """Issue 28: ``disac evaluate --run RUN --data <the same world generated with --seed 4242>`` is not refused."""
    import shutil

    from disac_ros.cli import main
    from disac_ros.config import load_scene
    from disac_ros.data.generate import Generator

    data = tmp_path / "seed4242"
    Generator(load_scene(preset="smoke", overrides={"seed": 4242}), data, scene=smoke_scene).run(progress=False)
    run = tmp_path / "run"
    shutil.copytree(smoke_run, run)  # the evaluation encodes this dataset's codes into the run's eval/ folder
    assert main(["evaluate", "--run", str(run), "--data", str(data), "--snr", "20", "--no-timing",
                 "--json", str(tmp_path / "e.json")]) == 0
    evaluation = json.loads((tmp_path / "e.json").read_text())["evaluation"]
    assert evaluation["dataset"]["seed"] == 4242 and not evaluation["trained_on_this_dataset"]
    assert "metrics on normalised values" in capsys.readouterr().out
