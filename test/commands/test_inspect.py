"""disac_ros.commands.inspect: ``disac inspect`` summarises a dataset and draws its contact sheet."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_inspect_writes_contact_sheet(dataset, capsys):
    from disac_ros.cli import main

    assert main(["inspect", str(dataset)]) == 0
    out = capsys.readouterr().out
    assert "device_target_samples" not in out and "sequences" in out
    assert "clutter-to-noise ratio per device" in out and "Barton 1985" in out   # the CNR of each device, sourced
    for dev in ("device_0", "device_3"):
        assert any(line.strip().startswith(f"{dev}:") and "dB per sample" in line for line in out.splitlines())
        assert any(line.strip().startswith(f"{dev}: position") and "deg" in line for line in out.splitlines())
    assert "surveyed poses" in out and "ZED-F9P" in out
    png = dataset / "contact_sheet.png"
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
