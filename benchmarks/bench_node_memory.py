#!/usr/bin/env python3
"""Each node's own memory and start-up time, one node process at a time (issue 14).

Usage (after `source .venv/env.sh`, with a trained run, e.g. the one `make demo` trains):
    python benchmarks/bench_node_memory.py [--preset default] [--run RUN] [--num-devices 4] [--settle-s 3]
                                           [--out results/bench/node_memory.json]

Starts every node of the live graph (:func:`disac_ros.launch_description.describe`) alone, as ``disac launch``
would start it, and measures the wall time from spawning the process to the log line that says it is ready
(its models loaded / its scene built), then, after ``--settle-s``, its unique set size (USS: the memory only this
process holds, psutil's ``memory_full_info().uss``) and resident set size (RSS, which also counts shared
libraries). For reference it measures a bare ``python -c "import torch"`` the same way. Prints a table, writes
JSON. A benchmark: the numbers depend on the machine and on what else runs.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

READY = ("loaded in", "scene built", "links to")


def measure(cmd: list[str], settle_s: float, timeout_s: float = 600.0, ready=READY) -> dict:
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    ready_at: list[float] = []
    lines: list[str] = []

    def pump():
        for line in proc.stdout:
            lines.append(line.rstrip())
            if not ready_at and any(r in line for r in ready):
                ready_at.append(time.monotonic() - t0)

    threading.Thread(target=pump, daemon=True).start()
    try:
        while not ready_at:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[2:4]} exited with {proc.returncode}:\n" + "\n".join(lines[-20:]))
            if time.monotonic() - t0 > timeout_s:
                raise RuntimeError(f"{cmd[2:4]} not ready after {timeout_s:.0f} s:\n" + "\n".join(lines[-20:]))
            time.sleep(0.05)
        time.sleep(settle_s)
        info = psutil.Process(proc.pid).memory_full_info()
        return {"ready_s": round(ready_at[0], 2), "uss_mib": round(info.uss / 2**20, 1),
                "rss_mib": round(info.rss / 2**20, 1)}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="default", choices=("smoke", "default", "paper"))
    parser.add_argument("--run", help="trained run or exported artifacts (default: where `disac demo` trains)")
    parser.add_argument("--num-devices", type=int, default=4)
    parser.add_argument("--settle-s", type=float, default=3.0)
    parser.add_argument("--out", default="results/bench/node_memory.json")
    args = parser.parse_args()
    from disac_ros.launch_description import describe

    specs = describe(preset=args.preset, num_devices=args.num_devices, run=args.run, use_sim_time=False)
    rows = {"python -c 'import torch'": measure(
        [sys.executable, "-c", "import torch, time; print('loaded in', flush=True); time.sleep(60)"], args.settle_s)}
    seen = set()
    for spec in specs:
        if spec.executable in seen:  # one encoder stands for all
            continue
        seen.add(spec.executable)
        cmd = [sys.executable, "-m", spec.module, *spec.ros_arguments()]
        rows[spec.full_name] = measure(cmd, args.settle_s)
        print(f"{spec.full_name:<28} {rows[spec.full_name]}", flush=True)
    print(f"\n{'process':<28} {'ready [s]':>9} {'USS [MiB]':>10} {'RSS [MiB]':>10}")
    for name, r in rows.items():
        print(f"{name:<28} {r['ready_s']:>9.1f} {r['uss_mib']:>10.0f} {r['rss_mib']:>10.0f}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"preset": args.preset, "run": args.run, "machine": f"{psutil.cpu_count()} cores",
                               "processes": rows}, indent=1))
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
