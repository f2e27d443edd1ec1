"""disac_ros.commands.demo: ``disac demo`` prints the numbers ``disac evaluate`` writes."""
from __future__ import annotations

import json
import threading
import time

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


def _kill_when_started(label: str, stop: threading.Event, killed: list) -> None:
    """SIGKILL the node process whose command line names ``label`` as soon as it runs (a death at start-up)."""
    import psutil

    while not stop.is_set():
        for p in psutil.process_iter(["cmdline"]):
            cmd = " ".join(p.info["cmdline"] or [])
            if "disac_ros.nodes.device_encoder" in cmd and label in cmd:
                time.sleep(3.0)  # it is starting: loading its half of the run
                p.kill()
                killed.append(cmd)
                return
        time.sleep(0.2)


@pytest.mark.slow
def test_the_demo_fails_and_says_so_when_an_encoder_dies(smoke_data, smoke_run, tmp_path, capfd, monkeypatch):
    """The newcomer's bug: an encoder died at start-up and `make demo` still exited 0, scoring 3 devices."""
    import argparse

    from disac_ros.commands import demo

    offline = demo.evaluate_test_split(smoke_data, smoke_run, 20.0, seed=0)
    monkeypatch.setattr(demo, "START_ALLOWANCE_S", 45.0)  # the smoke graph starts in well under that here
    args = argparse.Namespace(preset="smoke", snr=20.0, seed=0, live_sequences=8, out=str(tmp_path / "demo"))
    stop, killed = threading.Event(), []
    killer = threading.Thread(target=_kill_when_started, args=("__ns:=/device_2", stop, killed), daemon=True)
    killer.start()
    try:
        status = demo.run_live(args, smoke_run, offline)
    finally:
        stop.set()
    out = capfd.readouterr().out
    assert killed, "the encoder of device_2 was never seen"
    assert status == 1
    assert "device_2/device_encoder exited unexpectedly" in out and "[launch] FAILED" in out
    assert "3 of the 4 launched devices contributed" in out
    assert "live score with 3 of 4 devices: NOT the result" in out
    assert "FAILED: only 3 of the 4 launched devices contributed" in out
