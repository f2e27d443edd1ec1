"""Repository tooling keeps its promises: the bootstrap script, ruff, and the package's layers (``.importlinter``)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_second_bootstrap_is_a_fast_no_op():
    stamps = sorted((ROOT / ".venv").glob(".bootstrap-*")) + sorted((ROOT / ".ws").glob(".bootstrap-*"))
    assert stamps, "bootstrap stamps missing: was the environment set up by scripts/bootstrap.sh?"
    before = {p: p.stat().st_mtime_ns for p in stamps + [ROOT / ".venv" / "env.sh"]}
    out = subprocess.run(["bash", str(ROOT / "scripts" / "bootstrap.sh")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "" and out.stderr == "", "a second run must not redo any step"
    assert {p: p.stat().st_mtime_ns for p in before} == before


def test_bootstrap_rejects_wrong_python(tmp_path):
    fake = tmp_path / "python3.10"
    fake.write_text("#!/bin/sh\necho 3.10\n")
    fake.chmod(0o755)
    # --force skips the "already set up" shortcut so the checks run; a wrong Python must stop it at once.
    out = subprocess.run(["bash", str(ROOT / "scripts" / "bootstrap.sh"), "--force"], capture_output=True,
                         text=True, env=dict(os.environ, PYTHON=str(fake)))
    assert out.returncode == 1
    assert "is Python 3.10" in out.stderr and "3.11" in out.stderr
    assert "installing" not in out.stdout


def test_ruff_style_and_docstrings():
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "disac_ros", "test", "scripts/disac"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_import_contracts_are_kept():
    exe = shutil.which("lint-imports")
    assert exe, "import-linter is part of the pinned environment (requirements.txt)"
    done = subprocess.run([exe, "--config", str(ROOT / ".importlinter"), "--no-cache"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_ros_users_on_jazzy_python_and_their_own_ros_installation():
    """Issue 16: setup.py pinned Python 3.11 (Jazzy's Ubuntu 24.04 runs 3.12) and the colcon section installed ROS 2
    wheels over a ROS installation. Static checks only: this machine has no Python 3.12."""
    import re

    from packaging.specifiers import SpecifierSet

    spec = SpecifierSet(re.search(r'python_requires="([^"]+)"', (ROOT / "setup.py").read_text()).group(1))
    assert "3.11.7" in spec and "3.12.3" in spec
    core = [line.split("==")[0] for line in (ROOT / "requirements-core.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    assert core and not [r for r in core if r.startswith(("ros-", "-c", "colcon"))], core
    assert "-r requirements-core.txt" in (ROOT / "requirements.txt").read_text().splitlines()
    assert "pip install -r src/disac_ros/requirements-core.txt" in (ROOT / "README.md").read_text()
    ruff = (ROOT / "ruff.toml").read_text()
    assert 'target-version = "py311"' in ruff  # the oldest supported: its rules hold on 3.12 too
