"""disac_ros.commands.info: ``disac info`` finds the generated messages."""
from __future__ import annotations

import subprocess
import sys


def test_disac_info_finds_messages():
    out = subprocess.run([sys.executable, "-m", "disac_ros.cli", "info", "--json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert '"messages": "ok' in out.stdout
