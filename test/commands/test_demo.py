"""disac_ros.commands.demo: ``disac demo`` prints the numbers ``disac evaluate`` writes."""
from __future__ import annotations

import json

import pytest


def test_demo_prints_the_numbers_disac_evaluate_writes(smoke_data, smoke_run, tmp_path, capsys):
    """`make demo` and `disac evaluate` share one evaluation: same run, SNR and seed give the same metrics."""
    import re

    from disac_ros.cli import main
    from disac_ros.commands import demo

    scored = demo.evaluate_test_split(smoke_data, smoke_run, 10.0, seed=3)  # what the live metrics are set beside
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
    assert scored.correct().mean() == pytest.approx(row["metrics"]["normalised"]["accuracy"])
