#!/usr/bin/env python3
"""End-to-end latency, sustained rate and per-node CPU of the live graph (issue 15), with the Eq. (14) breakdown.

Usage (after `source .venv/env.sh`, with a trained run, e.g. the one `make demo` trains):
    python benchmarks/bench_graph.py [--preset default] [--run RUN] [--num-devices 4] [--rate 2 4] [--seconds 60]
    python benchmarks/bench_graph.py --bag results/demo/live-...   # the stack alone, fed from a recorded bag
                                     [--json results/bench/graph.json]

Live (default): for each rate (frames per wall second) it starts the graph with ``disac launch``, the Genesis
bridge rendering at that rate. ``--bag``: ``disac launch --no-bridge`` and ``disac play BAG --loop`` at the playback
factor that gives that rate (from the pace of the bag's own center images in log time: a bag recorded with the
bridge's ``rate_hz`` below the scene's fps is slower than sim time), its sensor topics, ground truth
and /clock only: no rendering in the loop.
It listens to the center's camera (``/device_0/camera/image_raw``), ``/targets`` and ``/diagnostics``. Latency is the
wall time from receiving the center's image of a stamp to receiving ``/targets`` of the same stamp (both in this
process, so the clock is shared; it includes the other devices' encoding, the channel and the aggregation). The
first ``--warmup`` s after the first estimate are not counted. Per node: CPU ms per ``/targets`` message (user +
system time of its process over the measured interval, psutil), what each device would need on its own hardware,
and its drops by reason (its last ``/diagnostics`` status). Accuracy and SI RMSE of the measured interval's
``/targets`` against ``/ground_truth/targets`` (matched by stamp and target id). ``--dead-collaborators``: every
``device_encoder`` is killed (SIGKILL) at the first estimate, so the measured interval is the center alone; its
``/targets`` should keep the rate and score as the benchmark's "center alone" row. ``--compose``: the stack's nodes
in one process (``disac launch --compose``); CPU is then the container's, drops still each node's. ``--cpus auto``:
``disac launch --cpus auto`` (the aggregator alone on the first CPU); the player and this listener are left to the
OS. The table is
printed and, with ``--json``, saved.
"""
from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil

from disac_ros.launch_description import CPU_LAYOUTS
from disac_ros.nodes.spin import EXECUTORS
from disac_ros.ros.supervisor import STARTED
from disac_ros.ros.transport import use_graph_profile


def _cpu_s(pid: int) -> float:
    try:
        t = psutil.Process(pid).cpu_times()
        return t.user + t.system
    except psutil.NoSuchProcess:
        return float("nan")


def bag_frame_rate(bag: str, topic: str) -> float:
    """Frames per second of log time on ``topic`` of ``bag`` (1 / the median gap): the pace ``disac play`` scales."""
    from rosbags.highlevel import AnyReader

    with AnyReader([Path(bag)]) as reader:
        stamps = [t for _, t, _ in reader.messages(connections=[c for c in reader.connections if c.topic == topic])]
    if len(stamps) < 2:
        raise SystemExit(f"{bag} holds fewer than two messages on {topic}")
    return 1e9 / float(np.median(np.diff(np.sort(stamps))))


def measure(preset: str, run: str | None, num_devices: int, rate: float, seconds: float, warmup: float,
            bag: str | None = None, fps: float = 0.0, dead_collaborators: bool = False,
            overrides: list[str] | None = None, composed: str | None = None, log: str | None = None,
            cpus: str = "none") -> dict:
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from disac_ros.msg import TargetStateArray
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    from disac_ros.evaluation.estimates import evaluate_estimates
    from disac_ros.ros.qos import RELIABLE_QOS
    from disac_ros.topics import (
        CAMERA_INFO,
        DIAGNOSTICS,
        ECHO,
        GROUND_TRUTH,
        IMAGE,
        TARGETS,
        absolute,
        device_topic,
    )

    disac = [sys.executable, "-m", "disac_ros.cli"]
    cmd = [*disac, "launch", "--preset", preset, "--num-devices", str(num_devices),
           "--set", "aggregator.summary_period_s=5.0"]
    cmd += ["--no-bridge"] if bag else ["--set", f"genesis_bridge.rate_hz={float(rate)}"]
    cmd += ["--compose", composed] if composed else []
    cmd += ["--cpus", cpus]
    if run:
        cmd += ["--run", run]
    for override in overrides or []:
        cmd += ["--set", override]
    graph = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    player = None
    summaries: list[str] = []
    pids: dict[str, int] = {}
    tail: list[str] = []

    log_file = open(log, "w") if log else None  # noqa: SIM115 - the pump thread closes it when the graph ends

    def pump():
        for line in graph.stdout:
            if log_file:
                log_file.write(line)
                log_file.flush()
            tail[:] = [*tail[-30:], line.rstrip()]
            started = STARTED.match(line)
            if started:
                pids[started.group(1)] = int(started.group(2))
            if "Eq. 14" in line:
                summaries.append(line.strip())
        if log_file:
            log_file.close()

    threading.Thread(target=pump, daemon=True).start()
    image_at: dict[tuple, float] = {}
    latencies, arrivals, estimates, truths = [], [], [], []
    diagnostics: dict[str, dict] = {}
    use_graph_profile()
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("bench_graph", context=context)

    def on_image(msg):
        image_at[(msg.header.stamp.sec, msg.header.stamp.nanosec)] = time.monotonic()

    def on_targets(msg):
        now = time.monotonic()
        arrivals.append(now)
        estimates.append((now, msg))
        seen = image_at.pop((msg.header.stamp.sec, msg.header.stamp.nanosec), None)
        if seen is not None:
            latencies.append((now, now - seen))

    def on_diagnostics(msg):
        for status in msg.status:
            diagnostics[status.name.lstrip("/")] = {kv.key: kv.value for kv in status.values}

    node.create_subscription(Image, absolute(device_topic("device_0", IMAGE)), on_image, qos_profile_sensor_data)
    node.create_subscription(TargetStateArray, absolute(TARGETS), on_targets, 10)
    node.create_subscription(TargetStateArray, absolute(GROUND_TRUTH), truths.append, RELIABLE_QOS)
    node.create_subscription(DiagnosticArray, DIAGNOSTICS, on_diagnostics, 50)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    try:
        if bag:  # the sensors and the truth only (the stack makes the rest); the bag's /clock, looped
            ids = [f"device_{k}" for k in range(num_devices)]
            sensors = [absolute(device_topic(d, t)) for d in ids for t in (IMAGE, CAMERA_INFO, ECHO)]
            player = subprocess.Popen([*disac, "play", bag, "--loop", "--rate", f"{rate / fps:g}", "--delay", "20",
                                       "--topics", *sensors, absolute(GROUND_TRUTH)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
            pids["disac_play"] = player.pid  # not the stack, but on the same cores
        deadline = time.monotonic() + 300.0  # start-up
        while not arrivals and time.monotonic() < deadline and graph.poll() is None:
            executor.spin_once(timeout_sec=0.1)
        if not arrivals:
            raise RuntimeError("no /targets within 300 s of starting the graph (exit status "
                               f"{graph.poll()}); its last lines:\n" + "\n".join(tail))
        if dead_collaborators:  # every collaborator dies at once; the center should carry on alone
            for label, pid in pids.items():
                if label.endswith("device_encoder"):
                    psutil.Process(pid).kill()
        start = arrivals[0] + warmup
        while time.monotonic() < start:
            executor.spin_once(timeout_sec=0.1)
        cpu0 = {label: _cpu_s(pid) for label, pid in pids.items()}
        end = start + seconds
        while time.monotonic() < end and graph.poll() is None:
            executor.spin_once(timeout_sec=0.1)
        cpu1 = {label: _cpu_s(pid) for label, pid in pids.items()}
    finally:
        for proc in (player, graph):
            if proc is not None:
                proc.send_signal(signal.SIGINT)
        for proc in (player, graph):
            try:
                if proc is not None:
                    proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        node.destroy_node()
        rclpy.shutdown(context=context)
    lat = np.array([v for t, v in latencies if start <= t <= end]) * 1e3
    count = sum(1 for t in arrivals if start <= t <= end)
    measured = [m for t, m in estimates if start <= t <= end]
    try:
        score = evaluate_estimates(truths, measured)
        quality = {k: score[k] for k in ("matched", "accuracy", "mean_contributing_devices", "rmse_distance",
                                         "rmse_azimuth", "rmse_pitch", "rmse_radial_velocity")}
    except ValueError as exc:  # nothing matched: say so in the figures
        quality = {"error": str(exc)}
    nodes = {}
    for label in sorted(set(pids) | set(diagnostics)):  # composed: the container's CPU, each node's drops
        status = diagnostics.get(label, {})
        cpu = cpu1[label] - cpu0[label] if label in pids else None
        nodes[label] = {"cpu_ms_per_target_msg": 1e3 * cpu / count if count and cpu is not None else None,
                        "cpu_cores": cpu / seconds if cpu is not None else None,
                        "drops": {k.removeprefix("dropped."): int(v) for k, v in status.items()
                                  if k.startswith("dropped.")}}
    return {"mode": ("bag" if bag else "live") + (", collaborators dead" if dead_collaborators else "")
            + (f", composed ({composed}-threaded executor)" if composed else "")
            + (f", CPUs {cpus}" if cpus != "none" else ""),
            "rate": rate, "targets_per_s": count / seconds, "samples": len(lat), "quality": quality,
            "p50_ms": float(np.percentile(lat, 50)) if len(lat) else None,
            "p95_ms": float(np.percentile(lat, 95)) if len(lat) else None, "nodes": nodes,
            "eq14": re.sub(r"^.*?\]: ", "", summaries[-1]) if summaries else "(no summary logged)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--run", default=None, help="trained run (default: runs/<preset>-<digest>)")
    parser.add_argument("--num-devices", type=int, default=4)
    parser.add_argument("--rate", type=float, nargs="+", default=[2.0], help="frames per wall second")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured seconds per rate")
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds after the first estimate not measured")
    parser.add_argument("--bag", default=None, help="feed the stack from this bag (no bridge) instead of live")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="NODE.PARAM=VALUE",
                        help="a node parameter for disac launch, e.g. aggregator.decoder_precision=int8")
    parser.add_argument("--dead-collaborators", action="store_true",
                        help="kill every device_encoder at the first estimate: the center alone is measured")
    parser.add_argument("--compose", nargs="?", const=EXECUTORS[0], choices=EXECUTORS, default=None,
                        help="disac launch --compose: the encoders, channel and aggregator in one process")
    parser.add_argument("--cpus", choices=CPU_LAYOUTS, default=CPU_LAYOUTS[0],
                        help="disac launch --cpus (auto: the aggregator alone on the first CPU; the bag's "
                             "player left to the OS)")
    parser.add_argument("--log", default=None, metavar="DIR",
                        help="write each rate's graph output (every node's log) to DIR/graph-<rate>.log")
    args = parser.parse_args()
    if args.compose and args.dead_collaborators:
        parser.error("--dead-collaborators kills encoder processes: not with --compose")
    fps = bag_frame_rate(args.bag, "/device_0/camera/image_raw") if args.bag else 0.0
    if args.bag:
        print(f"{args.bag}: {fps:.3g} center frames per second of log time")
    if args.log:
        Path(args.log).mkdir(parents=True, exist_ok=True)
    results = [measure(args.preset, args.run, args.num_devices, r, args.seconds, args.warmup, args.bag, fps,
                       args.dead_collaborators, args.overrides, args.compose,
                       str(Path(args.log) / f"graph-{r:g}.log") if args.log else None, args.cpus)
               for r in args.rate]
    source = f"bag {args.bag} (no rendering)" if args.bag else "live (Genesis bridge in the loop)"
    print(f"\n{args.num_devices} devices, preset {args.preset}, {source}; latency = center image received -> "
          "/targets received")
    print(f"{'frames/s':>9} {'/targets per s':>15} {'p50 ms':>8} {'p95 ms':>8} {'n':>5} {'accuracy':>9} "
          f"{'devices':>8} {'RMSE d, az, pitch, v':>26}")
    for r in results:
        p50, p95 = (f"{r[k]:8.1f}" if r[k] is not None else f"{'-':>8}" for k in ("p50_ms", "p95_ms"))
        q = r["quality"]
        scores = (f"{q['accuracy']:9.3f} {q['mean_contributing_devices']:8.2f} " +
                  ", ".join(f"{q['rmse_' + k]:.3g}" for k in ("distance", "azimuth", "pitch", "radial_velocity"))
                  if "error" not in q else f"  {q['error']}")
        print(f"{r['rate']:>9g} {r['targets_per_s']:>15.2f} {p50} {p95} {r['samples']:>5} {scores}")
    for r in results:
        print(f"\n{r['rate']:g} frames/s: per node CPU ms per /targets message (cores), drops")
        for label, n in r["nodes"].items():
            ms = n["cpu_ms_per_target_msg"]
            cores = "" if n["cpu_cores"] is None else f"({n['cpu_cores']:.2f})"
            print(f"  {label:<26} {'-' if ms is None else round(ms, 1)!s:>8} {cores:>6}  "
                  f"{', '.join(f'{k} {v}' for k, v in n['drops'].items()) or 'no drops'}")
        print(f"  aggregator's last summary: {r['eq14']}")
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"preset": args.preset, "run": args.run, "num_devices": args.num_devices,
                                    "source": source, "overrides": args.overrides, "composed": args.compose,
                                    "cpus": args.cpus, "seconds": args.seconds,
                                    "warmup": args.warmup,
                                    "machine": f"{psutil.cpu_count()} cores", "command": " ".join(sys.argv),
                                    "results": results}, indent=1))
        print(f"\nfigures: {path}")


if __name__ == "__main__":
    main()
