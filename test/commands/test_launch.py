"""disac_ros.commands.launch: ``disac launch --dry-run`` prints the described node commands."""
from __future__ import annotations

import json

from disac_ros.launch_description import describe


def test_disac_launch_dry_run_prints_the_described_commands(capsys):
    from disac_ros.cli import main

    assert main(["launch", "--preset", "smoke", "--num-devices", "3", "--run", "/runs/x", "--dry-run",
                 "--set", "channel.snr_db=7.5"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    specs = describe(preset="smoke", num_devices=3, run="/runs/x", overrides={"channel": {"snr_db": 7.5}})
    assert len(lines) == len(specs)
    for line, spec in zip(lines, specs, strict=True):
        assert f"-m {spec.module} " in line and " ".join(spec.ros_arguments()) in line
    assert '-p snr_db:=7.5' in lines[3] and '-p devices:=' + json.dumps(["device_1", "device_2"]) in lines[3]


def test_disac_launch_dry_run_prints_the_taskset_of_each_placed_node(capsys):
    from disac_ros.cli import main
    from disac_ros.launch_description import place

    assert main(["launch", "--preset", "smoke", "--num-devices", "2", "--run", "/runs/x", "--dry-run",
                 "--cpus", "auto"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    for line, spec in zip(lines, place(describe(preset="smoke", num_devices=2, run="/runs/x"), "auto"), strict=True):
        assert line.startswith(f"{spec.prefix()} ") if spec.cpus else "taskset" not in line
