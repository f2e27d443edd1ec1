"""disac_ros.evaluation.report: the report and the README's benchmark block re-rendered from the committed files,
their intervals said for what they hold, and findings worded by the numbers."""
from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from disac_ros.evaluation import analysis, report
from disac_ros.evaluation.samples import Scored

COMMITTED = Path(__file__).resolve().parents[2] / "results" / "default"


def committed(tmp_path: Path) -> Path:
    out = tmp_path / "default"
    out.mkdir()
    shutil.copy(COMMITTED / "results.json", out / "results.json")
    return out


def scored(accuracy: float, error: float, seed: int, n_seq: int = 30, per_seq: int = 10) -> Scored:
    rng = np.random.default_rng(seed)
    m = n_seq * per_seq
    keys = np.stack([np.repeat(np.arange(n_seq), per_seq), np.zeros(m, int), np.tile(np.arange(per_seq), n_seq),
                     np.zeros(m, int)], axis=1)
    true = rng.uniform(0, 1, (m, 4))
    class_id = rng.integers(0, 3, m)
    pred_class = np.where(rng.uniform(size=m) < accuracy, class_id, (class_id + 1) % 3)
    return Scored(keys, true + error * rng.standard_normal((m, 4)), true, pred_class, class_id,
                  np.tile(np.arange(per_seq) < 3, n_seq))


@pytest.mark.skipif(not (COMMITTED / "results.json").exists(), reason="no committed benchmark results")
def test_rerender_of_the_committed_results_says_what_its_intervals_hold(tmp_path):
    out = committed(tmp_path)
    written = report.rerender(out)
    text = written["report"].read_text()
    summary = json.loads((out / "summary.json").read_text())
    # no per-sequence file: every interval is over test sequences only, and the report and summary say so
    assert summary["per_sequence"] is None
    assert {e["interval"] for e in (*summary["schemes"].values(), *summary["classical"].values())} == {"sequences"}
    assert "**test sequences only**" in text and "disac benchmark --report-only --out results/default" in text
    # LLM-DiSAC against SM-MD (RF): unpaired from the two rows, with the seeds beside
    llm, smmd = (summary["schemes"][r]["pooled"]["all"]["accuracy"]["mean"] for r in ("llm-disac", "sm-md-rf"))
    assert f"LLM-DiSAC {100 * llm:.1f} % vs SM-MD (RF) {100 * smmd:.1f} %" in text and "Unpaired" in text
    per_seed = [summary["schemes"]["llm-disac"]["per_seed"][s]["all"]["accuracy"]["mean"] for s in ("0", "1", "2")]
    assert " / ".join(f"{100 * v:.1f}" for v in per_seed) in text
    # the canned sentences the numbers contradicted are gone
    assert "The radar alone classifies almost every sample" not in text
    assert "Each scheme is one training run with one seed" not in text
    assert "the default preset trains 8" not in text
    # the README's block: the same helpers, every number from the results
    block = "\n".join(report.readme_lines(json.loads((out / "results.json").read_text()), "results/default"))
    assert "| **LLM-DiSAC** (SmolLM2), 4 devices | 3 |" in block and "What the numbers say:" in block
    assert report.smmd_comparison(json.loads((out / "results.json").read_text())) in block
    assert f"{len(json.loads((out / 'results.json').read_text())['runs'])} runs" in block


@pytest.mark.skipif(not (COMMITTED / "results.json").exists(), reason="no committed benchmark results")
def test_readme_block_numbers_follow_the_results(tmp_path):
    results = json.loads((COMMITTED / "results.json").read_text())
    changed = copy.deepcopy(results)
    changed["summary"]["schemes"]["sm-md-rf"]["pooled"]["all"]["accuracy"].update(mean=0.4321, low=0.4, high=0.45)
    for run in changed["runs"].values():
        run["cost"]["payload_percent"] = 1.234
    changed["dataset"]["splits"]["train"] = 71
    block = "\n".join(report.readme_lines(changed, "x"))
    assert "| SM-MD (RF), 4 devices | 1 | 43.2 [40.0, 45.0] |" in block
    assert "vs SM-MD (RF) 43.2 %" in block and "1.23 % of the raw data" in block
    assert "71 training sequences = 1,065 samples per device" in block
    assert block != "\n".join(report.readme_lines(results, "x"))


@pytest.mark.skipif(not (COMMITTED / "results.json").exists(), reason="no committed benchmark results")
def test_rerender_from_the_per_sequence_file_recomputes_two_level_intervals(tmp_path):
    out = committed(tmp_path)
    rows = {"sm-sd-rf": {0: scored(0.80, 1.0, 0), 1: scored(0.78, 1.0, 1)},
            "mm-sd": {0: scored(0.60, 1.0, 2), 1: scored(0.62, 1.0, 3)},
            "sm-md-rf": {0: scored(0.70, 0.5, 4), 1: scored(0.72, 0.5, 5)},
            "llm-disac": {0: scored(0.95, 0.2, 6), 1: scored(0.96, 0.2, 7)},
            "llm-disac-gru": {0: scored(0.955, 0.2, 8)},
            "classical-single": {0: scored(0.8, 0.5, 9)}, "classical-fusion": {0: scored(0.99, 0.05, 10)}}
    stats = analysis.SequenceStats.of(rows, center="device_0", snr_db=20.0)
    analysis.write_per_sequence(stats, out / analysis.PER_SEQUENCE_FILE)
    text = report.rerender(out)["report"].read_text()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["per_sequence"] == analysis.PER_SEQUENCE_FILE and set(summary["schemes"]) == {
        "sm-sd-rf", "mm-sd", "sm-md-rf", "llm-disac", "llm-disac-gru"}
    assert summary["schemes"]["llm-disac"]["interval"] == "seeds+sequences"
    assert summary["schemes"]["llm-disac-gru"]["interval"] == "sequences"
    assert summary["paired_seeds"]["llm-disac - sm-md-rf"]["draw"] == "independent"
    smmd = summary["paired"]["llm-disac - sm-md-rf"]["all"]["accuracy"]
    assert smmd["low"] > 0 and smmd["covers"] == "seeds+sequences"
    # the words follow the intervals: clearly above SM-MD (RF) and MM-SD; the GRU at one seed not told apart
    a, b = (100 * summary["schemes"][r]["pooled"]["all"]["accuracy"]["mean"] for r in ("llm-disac", "sm-md-rf"))
    assert f"LLM-DiSAC ({a:.1f} %) is above SM-MD (RF) ({b:.1f} %)" in text
    gru = summary["paired"]["llm-disac-gru - llm-disac"]["all"]["accuracy"]
    assert gru["low"] < 0 < gru["high"] and "GRU (" in text and "is not told apart from SmolLM2" in text
    assert "interval over test sequences and seeds (2 and 2)" in text
    assert "| llm-disac | 2 |" in text and "seeds + sequences" in text and "Unpaired" not in text
    # a second rerender gives the same files
    again = report.rerender(out)["report"].read_text()
    assert again == text


def test_told_follows_the_interval():
    assert report.told({"mean": 0.1, "low": 0.02, "high": 0.2}) == "above"
    assert report.told({"mean": -0.1, "low": -0.2, "high": -0.01}) == "below"
    assert report.told({"mean": 0.1, "low": -0.01, "high": 0.2}) == "not told apart from"
    assert report.told({"mean": -0.3, "low": -0.5, "high": -0.1}, "rmse_distance") == "lower than"
    assert report.told(None) == "not measured against"
