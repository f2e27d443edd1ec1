"""disac_ros.commands.info: ``disac info`` finds the generated messages."""
from __future__ import annotations

import subprocess
import sys

import pytest


def test_disac_info_finds_messages():
    out = subprocess.run([sys.executable, "-m", "disac_ros.cli", "info", "--json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert '"messages": "ok' in out.stdout


@pytest.mark.slow
def test_disac_info_run_prints_what_made_the_run(smoke_run, capsys):
    import json

    from disac_ros.cli import main

    assert main(["info", "--run", str(smoke_run), "--json"]) == 0
    about = json.loads(capsys.readouterr().out)
    assert len(about["provenance"]["language_model"]["sha256"]) == 64 and about["scheme"] == "llm-disac"
    assert about["world_digest"] == about["provenance"]["dataset"]["config_digest"]
    assert main(["info", "--run", str(smoke_run)]) == 0
    text = capsys.readouterr().out
    assert "sha256: " + about["provenance"]["language_model"]["sha256"] in text and "stage2:" in text
    assert "transformers: " in text and "commit: " in text
