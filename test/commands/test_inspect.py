"""disac_ros.commands.inspect: ``disac inspect`` summarises a dataset and draws its contact sheet."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_inspect_writes_contact_sheet(dataset, capsys):
    from disac_ros.cli import main

    assert main(["inspect", str(dataset)]) == 0
    out = capsys.readouterr().out
    assert "device_target_samples" not in out and "sequences" in out
    png = dataset / "contact_sheet.png"
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
