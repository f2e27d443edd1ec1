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
