"""Subprocesses for the tests that run the `disac` command line (graph, replay): start with collected output, stop."""
from __future__ import annotations

import signal
import subprocess
import sys
import threading

DISAC = [sys.executable, "-m", "disac_ros.cli"]


def start(cmd: list[str]) -> tuple[subprocess.Popen, list[str]]:
    """Start ``cmd``; a thread collects its output lines (an undrained pipe would block it)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            text=True, bufsize=1, errors="replace")
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(line.rstrip("\n") for line in proc.stdout), daemon=True).start()
    return proc, lines


def stop(proc: subprocess.Popen, timeout: float = 60) -> None:
    """Ctrl-C, as a user would; kill after ``timeout`` seconds."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
