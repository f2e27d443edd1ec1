"""``disac launch``: start the live graph as separate processes, as ``ros2 launch disac_ros disac.launch.py`` would.

The node list comes from :func:`disac_ros.launch_description.describe`, the same function the launch file calls,
so both start the same executables with the same parameters. Each node runs as
``python -m disac_ros.nodes.<executable> --ros-args -r __node:=... --params-file ... -p ...``; its output is
prefixed with its name. Ctrl-C (or SIGTERM, or ``--duration``) stops them: SIGINT to every node, SIGTERM after
``--grace`` seconds, SIGKILL after as long again. A node that dies on its own is reported and the others keep
running (a dead collaborator must not stop the graph); the exit status is then 1.
"""
from __future__ import annotations

import argparse
import ctypes
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from disac_ros.config import PRESETS

_PR_SET_PDEATHSIG = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from disac_ros.launch_description import DEFAULT_PARAMS_FILE

    parser.add_argument("config", nargs="?", default=None, help="scene YAML (default: config/scene.yaml)")
    parser.add_argument("--preset", choices=PRESETS, default="default", help="scene preset (must match the run)")
    parser.add_argument("--num-devices", type=int, default=4, help="use the first N devices (the first is the center)")
    parser.add_argument("--run", default=None,
                        help="trained run directory (default: runs/<preset>-<digest>, where `disac demo` trains)")
    parser.add_argument("--duration", type=float, default=0.0, help="stop after S seconds (0: run until Ctrl-C)")
    parser.add_argument("--params", default=str(DEFAULT_PARAMS_FILE), help="ROS 2 params file of the nodes")
    parser.add_argument("--set", action="append", default=[], metavar="NODE.PARAM=VALUE",
                        help="override a parameter, e.g. channel.snr_db=10 or device_encoder.num_threads=2 "
                             "(value in YAML); repeatable")
    parser.add_argument("--no-sim-time", action="store_true", help="nodes use wall time instead of /clock")
    parser.add_argument("--no-bridge", action="store_true",
                        help="leave out genesis_bridge, to run the encoders and aggregator on `disac play BAG`")
    parser.add_argument("--log-level", default="info", choices=("debug", "info", "warn", "error"),
                        help="ROS log level of every node")
    parser.add_argument("--grace", type=float, default=10.0,
                        help="seconds from SIGINT to SIGTERM, and from SIGTERM to SIGKILL, when stopping")
    parser.add_argument("--dry-run", action="store_true", help="print the node commands and exit")


def parse_overrides(items: list[str]) -> dict[str, dict]:
    """``["channel.snr_db=10", ...]`` -> ``{"channel": {"snr_db": 10}}`` (values parsed as YAML)."""
    import yaml

    out: dict[str, dict] = {}
    for item in items:
        key, sep, value = item.partition("=")
        node, dot, param = key.partition(".")
        if not (sep and dot and node and param):
            raise ValueError(f"--set expects NODE.PARAM=VALUE, got {item!r}")
        out.setdefault(node, {})[param] = yaml.safe_load(value)
    return out


def check_run(run: Path, scene_config: str | None, preset: str | None, num_devices: int) -> None:
    """Refuse a run whose data had other image or echo shapes, or fewer devices, than the scene to launch."""
    import json

    from disac_ros.config import load_scene

    for name in ("run.json", "data_manifest.json"):
        if not (run / name).is_file():
            raise FileNotFoundError(f"{run} is not a training run (no {name}); train one with `disac train` "
                                    f"or `disac demo`, or pass --run")
    manifest = json.loads((run / "data_manifest.json").read_text())
    cfg = load_scene(scene_config, preset)
    trained = manifest["config"]
    if (trained["camera"]["width"], trained["camera"]["height"]) != (cfg.camera.width, cfg.camera.height) or \
            manifest["radar"]["num_chirps"] != cfg.radar.num_chirps or \
            len(manifest["targets"]) != len(cfg.targets):
        raise ValueError(f"run {run} was trained on {trained['camera']['width']}x{trained['camera']['height']} "
                         f"images, {manifest['radar']['num_chirps']} chirps and {len(manifest['targets'])} targets; "
                         f"the scene has {cfg.camera.width}x{cfg.camera.height}, {cfg.radar.num_chirps} and "
                         f"{len(cfg.targets)}: pass the preset the run was trained with")
    run_devices = json.loads((run / "run.json").read_text())["devices"]
    wanted = [d.id for d in cfg.devices][: num_devices or len(cfg.devices)]
    missing = [d for d in wanted if d not in run_devices]
    if missing or run_devices[0] != wanted[0]:
        raise ValueError(f"run {run} has devices {run_devices} (center {run_devices[0]}); the scene needs {wanted}")


class _Child:
    def __init__(self, spec, proc: subprocess.Popen):
        self.spec, self.proc = spec, proc
        self.label = spec.full_name.lstrip("/")
        self.reported = False
        self.thread: threading.Thread | None = None


def _death_signal():
    """In the child: get SIGTERM if the launcher dies (Linux), so no node outlives a killed launcher."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None

    def set_pdeathsig() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return set_pdeathsig


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
        preexec = _death_signal()
        for spec in self.specs:
            cmd = self.command(spec)
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=env, text=True, bufsize=1, errors="replace", start_new_session=True,
                                    preexec_fn=preexec)
            child = _Child(spec, proc)
            self.children.append(child)
            self.say("launch", f"started {child.label} (pid {proc.pid}): {' '.join(cmd[1:])}")
        for child in self.children:
            child.thread = threading.Thread(target=self._relay, args=(child,), daemon=True)
            child.thread.start()

    def _relay(self, child: _Child) -> None:
        for line in child.proc.stdout:
            self.say(child.label, line.rstrip("\n"))

    def _on_signal(self, signum, _frame) -> None:
        self._signals += 1
        if self._signals == 1:
            self.say("launch", f"{signal.Signals(signum).name}: stopping the graph")

    def supervise(self, duration: float) -> bool:
        """Wait for a signal, the duration or every node's end; True if some node died on its own."""
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        deadline = time.monotonic() + duration if duration > 0 else math.inf
        died = False
        try:
            while not self._signals and time.monotonic() < deadline:
                for child in self.children:
                    status = child.proc.poll()
                    if status is not None and not child.reported:
                        child.reported, died = True, True
                        self.say("launch", f"{child.label} exited unexpectedly with status {status}; "
                                           f"the other nodes keep running")
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
        return died

    def _wait(self, children: list[_Child], timeout: float) -> list[_Child]:
        deadline = time.monotonic() + timeout
        signals = self._signals
        while time.monotonic() < deadline and self._signals == signals:
            alive = [c for c in children if c.proc.poll() is None]
            if not alive:
                return []
            time.sleep(0.1)
        return [c for c in children if c.proc.poll() is None]

    def stop(self) -> None:
        """SIGINT every running node, then SIGTERM and SIGKILL those still running after ``grace`` (or a new ^C)."""
        alive = [c for c in self.children if c.proc.poll() is None]
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
                self.say("launch", f"{c.label} stopped{note}")


def run(args: argparse.Namespace) -> int:
    from disac_ros.launch_description import default_run, describe

    run_dir = Path(args.run) if args.run else default_run(args.preset)
    specs = describe(scene_config=args.config, preset=args.preset, num_devices=args.num_devices,
                     run=run_dir.resolve(), params_file=args.params, overrides=parse_overrides(args.set),
                     use_sim_time=not args.no_sim_time, bridge=not args.no_bridge)
    if args.params and not Path(args.params).is_file():
        raise FileNotFoundError(f"params file {args.params} not found")
    launcher = Launcher(specs, log_level=args.log_level, grace=args.grace)
    if args.dry_run:
        for spec in specs:
            print(" ".join(launcher.command(spec)))
        return 0
    check_run(run_dir, args.config, args.preset, args.num_devices)
    launcher.start()
    died = launcher.supervise(args.duration)
    return 1 if died else 0
