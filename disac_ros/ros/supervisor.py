"""Supervising the live graph's node processes: start, relay output, survive a dead node, stop in order.

:class:`Launcher` starts each :class:`disac_ros.launch_description.NodeSpec` as
``python -m disac_ros.nodes.<executable> --ros-args ...`` (what ``ros2 launch`` would run), prefixes every output
line with the node's name, reports a node that dies on its own while the others keep running (a dead collaborator
must not stop the graph), and stops them all on request: SIGINT to every node, SIGTERM after ``grace`` seconds,
SIGKILL after as long again. On Linux a node gets SIGTERM if the launcher itself dies, so none outlives it.

A node process is *ready* once it logs :data:`READY` (:func:`disac_ros.nodes.spin.spin` does when every node of the
process is built and about to spin); :meth:`Launcher.supervise` says when every process is ready, and a graph in
which a node died, or stopped without ever becoming ready, is a failure (``disac launch`` exits with status 1).
"""
from __future__ import annotations

import ctypes
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1
#: The line :class:`Launcher` prints for each node it starts (label, pid), for scripts that read its output.
STARTED = re.compile(r"\[launch\] started (\S+) \(pid (\d+)\)")
#: What a node process logs once its nodes are built and spin (:func:`disac_ros.nodes.spin.spin`).
READY = "ready: spinning"


class _Child:
    def __init__(self, spec, proc: subprocess.Popen):
        self.spec, self.proc = spec, proc
        self.label = spec.full_name.lstrip("/")
        self.reported = False
        self.thread: threading.Thread | None = None
        self.exited_at: float | None = None  # monotonic time its exit was first seen while stopping
        self.ready = False                    # it logged READY


def child_preexec(cpus: tuple[int, ...] = ()):
    """A ``preexec_fn``: SIGTERM when the parent dies (Linux), and the CPUs ``cpus`` if any are given.

    With the death signal no child outlives a killed parent; the CPU affinity holds for every thread the child
    starts (it is inherited). None where neither applies (no prctl, no CPUs).
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        libc = None
    if libc is None and not cpus:
        return None

    def preexec() -> None:
        if libc is not None:
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if cpus:
            os.sched_setaffinity(0, cpus)

    return preexec


class Launcher:
    """Starts the node processes, relays their output and stops them in order."""

    def __init__(self, specs, log_level: str = "info", grace: float = 10.0, out=None):
        self.specs, self.log_level, self.grace = specs, log_level, grace
        self.out = out or sys.stdout
        self.children: list[_Child] = []
        self._lock = threading.Lock()
        self._signals = 0

    def say(self, label: str, text: str) -> None:
        with self._lock:
            self.out.write(f"[{label}] {text}\n")
            self.out.flush()

    def command(self, spec) -> list[str]:
        return [sys.executable, "-m", spec.module, *spec.ros_arguments(), "--log-level", self.log_level]

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "RCUTILS_COLORIZED_OUTPUT": "0"}
        for spec in self.specs:
            cmd = self.command(spec)
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=env, text=True, bufsize=1, errors="replace", start_new_session=True,
                                    preexec_fn=child_preexec(spec.cpus))
            child = _Child(spec, proc)
            self.children.append(child)
            on = f" on CPU {','.join(map(str, spec.cpus))}" if spec.cpus else ""
            self.say("launch", f"started {child.label} (pid {proc.pid}){on}: {' '.join(cmd[1:])}")
        for child in self.children:
            child.thread = threading.Thread(target=self._relay, args=(child,), daemon=True)
            child.thread.start()

    def _relay(self, child: _Child) -> None:
        for line in child.proc.stdout:
            child.ready = child.ready or READY in line
            self.say(child.label, line.rstrip("\n"))

    def _on_signal(self, signum, _frame) -> None:
        self._signals += 1
        if self._signals == 1:
            self.say("launch", f"{signal.Signals(signum).name}: stopping the graph")

    def supervise(self, duration: float) -> bool:
        """Wait for a signal, the duration or every node's end; True if some node died or never became ready."""
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        t0 = time.monotonic()
        deadline = t0 + duration if duration > 0 else math.inf
        died, all_ready = False, False
        try:
            while not self._signals and time.monotonic() < deadline:
                for child in self.children:
                    status = child.proc.poll()
                    if status is not None and not child.reported:
                        child.reported, died = True, True
                        state = "" if child.ready else " before it became ready"
                        self.say("launch", f"{child.label} exited unexpectedly with status {status}{state}; "
                                           f"the other nodes keep running")
                if not all_ready and all(c.ready for c in self.children):
                    all_ready = True
                    self.say("launch", f"every node is ready ({time.monotonic() - t0:.1f} s after the start)")
                if all(c.proc.poll() is not None for c in self.children):
                    self.say("launch", "every node has exited")
                    break
                time.sleep(0.2)
            if duration > 0 and time.monotonic() >= deadline:
                self.say("launch", f"duration of {duration:g} s reached: stopping the graph")
            self.stop()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        never = [c.label for c in self.children if not c.ready and not c.reported]
        if never:
            self.say("launch", f"FAILED: {', '.join(never)} never became ready in {time.monotonic() - t0:.0f} s")
        dead = [c.label for c in self.children if c.reported]
        if dead:
            self.say("launch", f"FAILED: {', '.join(dead)} died while the graph ran")
        return died or bool(never)

    def _wait(self, children: list[_Child], timeout: float) -> list[_Child]:
        deadline = time.monotonic() + timeout
        signals = self._signals
        while time.monotonic() < deadline and self._signals == signals:
            alive = []
            for c in children:
                if c.proc.poll() is None:
                    alive.append(c)
                elif c.exited_at is None:
                    c.exited_at = time.monotonic()
            if not alive:
                return []
            time.sleep(0.02)
        return [c for c in children if c.proc.poll() is None]

    def stop(self) -> None:
        """SIGINT every running node, then SIGTERM and SIGKILL those still running after ``grace`` (or a new ^C)."""
        alive = [c for c in self.children if c.proc.poll() is None]
        t0 = time.monotonic()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            for c in alive:
                if sig != signal.SIGINT:
                    self.say("launch", f"{c.label} still running: {sig.name}")
                try:
                    c.proc.send_signal(sig)
                except ProcessLookupError:
                    pass
            alive = self._wait(alive, self.grace)
            if not alive:
                break
        for c in self.children:
            c.proc.wait()
            if c.thread is not None:
                c.thread.join(timeout=5)
            if not c.reported:
                status = c.proc.returncode
                note = "" if status == 0 else f" with status {status}"
                took = f" {c.exited_at - t0:.2f} s after SIGINT" if c.exited_at is not None else ""
                self.say("launch", f"{c.label} stopped{note}{took}")
