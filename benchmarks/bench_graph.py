#!/usr/bin/env python3
"""End-to-end latency and sustained rate of the live graph (issue #5), with the Eq. (14) breakdown.

Usage (after `source .venv/env.sh`, with a trained run, e.g. the one `make demo` trains):
    python benchmarks/bench_graph.py [--preset default] [--run RUN] [--num-devices 4] [--rate 2 4] [--seconds 60]

For each bridge rate (frames per wall second) it starts the graph with ``disac launch`` and listens to the
center's camera (``/device_0/camera/image_raw``) and ``/targets``. Latency is the wall time from receiving the
center's image of a stamp to receiving ``/targets`` of the same stamp (both in this process, so the clock is
shared; it includes the other devices' encoding, the channel and the aggregation). The first 20 s after the
first estimate are a warm-up and are not counted. The aggregator's last Eq. (14) summary line (feature
extraction, encoding, modelled transmission, decoding, aggregation) is printed with it.
"""
from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np


def measure(preset: str, run: str | None, num_devices: int, rate: float, seconds: float, warmup: float) -> dict:
    import rclpy
    from disac_ros.msg import TargetStateArray
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    from disac_ros.topics import IMAGE, TARGETS, absolute, device_topic

    cmd = [sys.executable, "-m", "disac_ros.cli", "launch", "--preset", preset, "--num-devices", str(num_devices),
           "--set", f"genesis_bridge.rate_hz={float(rate)}", "--set", "aggregator.summary_period_s=5.0"]
    if run:
        cmd += ["--run", run]
    graph = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    summaries: list[str] = []

    def pump():
        for line in graph.stdout:
            if "Eq. 14" in line:
                summaries.append(line.strip())

    threading.Thread(target=pump, daemon=True).start()
    image_at: dict[tuple, float] = {}
    latencies, arrivals = [], []
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("bench_graph", context=context)

    def on_image(msg):
        image_at[(msg.header.stamp.sec, msg.header.stamp.nanosec)] = time.monotonic()

    def on_targets(msg):
        now = time.monotonic()
        arrivals.append(now)
        seen = image_at.get((msg.header.stamp.sec, msg.header.stamp.nanosec))
        if seen is not None:
            latencies.append((now, now - seen))

    node.create_subscription(Image, absolute(device_topic("device_0", IMAGE)), on_image, qos_profile_sensor_data)
    node.create_subscription(TargetStateArray, absolute(TARGETS), on_targets, 10)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    try:
        deadline = time.monotonic() + 300.0  # start-up
        while not arrivals and time.monotonic() < deadline and graph.poll() is None:
            executor.spin_once(timeout_sec=0.1)
        if not arrivals:
            raise RuntimeError("no /targets within 300 s of starting the graph")
        start = arrivals[0] + warmup
        end = start + seconds
        while time.monotonic() < end and graph.poll() is None:
            executor.spin_once(timeout_sec=0.1)
    finally:
        graph.send_signal(signal.SIGINT)
        try:
            graph.wait(timeout=60)
        except subprocess.TimeoutExpired:
            graph.kill()
        node.destroy_node()
        rclpy.shutdown(context=context)
    lat = np.array([v for t, v in latencies if start <= t <= end]) * 1e3
    count = sum(1 for t in arrivals if start <= t <= end)
    return {"rate": rate, "targets_per_s": count / seconds, "samples": len(lat),
            "p50_ms": float(np.percentile(lat, 50)) if len(lat) else float("nan"),
            "p95_ms": float(np.percentile(lat, 95)) if len(lat) else float("nan"),
            "eq14": re.sub(r"^.*?\]: ", "", summaries[-1]) if summaries else "(no summary logged)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--run", default=None, help="trained run (default: runs/<preset>-<digest>)")
    parser.add_argument("--num-devices", type=int, default=4)
    parser.add_argument("--rate", type=float, nargs="+", default=[2.0], help="bridge frames per wall second")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured seconds per rate")
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds after the first estimate not measured")
    args = parser.parse_args()
    results = [measure(args.preset, args.run, args.num_devices, r, args.seconds, args.warmup) for r in args.rate]
    print(f"\n{args.num_devices} devices, preset {args.preset}; latency = center image received -> /targets received")
    print(f"{'bridge Hz':>9} {'/targets per s':>15} {'p50 ms':>8} {'p95 ms':>8} {'n':>5}")
    for r in results:
        print(f"{r['rate']:>9g} {r['targets_per_s']:>15.2f} {r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} {r['samples']:>5}")
    for r in results:
        print(f"\nbridge {r['rate']:g} Hz, aggregator's last summary: {r['eq14']}")


if __name__ == "__main__":
    main()
