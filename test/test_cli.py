"""disac_ros.cli: the ``disac`` command's entry point, its help and its usage error."""
from __future__ import annotations

import subprocess
import sys


def test_disac_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "disac_ros.cli", "--help"], capture_output=True, text=True, check=True)
    assert "usage: disac" in out.stdout
    assert "info" in out.stdout


def test_disac_without_command_fails_with_help():
    out = subprocess.run([sys.executable, "-m", "disac_ros.cli"], capture_output=True, text=True)
    assert out.returncode == 2 and "usage: disac" in out.stdout
