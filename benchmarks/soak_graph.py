#!/usr/bin/env python3
"""Soak test of the live graph (issue 16): every node's memory over time, the drops by reason, the /targets rate.

Usage (after `source .venv/env.sh`, with a trained run, e.g. the one `make demo` trains):
    python benchmarks/soak_graph.py [--preset default] [--run RUN] [--num-devices 4] [--minutes 10]
                                    [--warmup-s 120] [--sample-s 5] [--out results/soak]

Starts the graph with ``disac launch`` (as a user would), samples each node process's resident memory
(``VmRSS`` in ``/proc/<pid>/status``) every ``--sample-s`` seconds, and reads the nodes' periodic summaries: the
drop counts (``dropped: reason N, ...``, cumulative since start) and the aggregator's ``/targets`` rate and devices
per estimate. After ``--minutes`` it stops the graph with Ctrl-C and reports, per node, the memory at the end of
the warm-up and at the end and its growth, and the drops by reason. Writes ``OUT/soak-<preset>-<N>dev.json`` and a
plot of memory over time (``.png``). Exits 1 when a node died, grew by more than ``--max-growth`` (10 %) after the
warm-up, or no ``/targets`` came. A benchmark, not a test: it takes minutes and its numbers depend on the machine.
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

from disac_ros.ros.supervisor import STARTED

DROPPED = re.compile(r"^\[([^\]]+)\].*dropped: ([^\x1b]*)")
RATE = re.compile(r"^\[aggregator\].* estimates in \d+ s \((\d+\.\d+)/s\), devices per estimate (\d+\.\d+)")


def rss_mib(pid: int) -> float | None:
    """Resident memory of ``pid`` in MiB, None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def parse_drops(text: str) -> dict[str, int]:
    """``"nan 2, stale 5"`` -> ``{"nan": 2, "stale": 5}``; ``"none"`` -> ``{}``."""
    out = {}
    for part in text.strip().rstrip(".").split(","):
        words = part.split()
        if len(words) == 2 and words[1].isdigit():
            out[words[0]] = int(words[1])
    return out


def soak(args) -> dict:
    cmd = [sys.executable, "-m", "disac_ros.cli", "launch", "--preset", args.preset, "--num-devices",
           str(args.num_devices), "--set", "aggregator.summary_period_s=10.0"]
    if args.run:
        cmd += ["--run", args.run]
    graph = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    pids: dict[str, int] = {}
    drops: dict[str, dict[str, int]] = {}
    died: list[str] = []
    rates: list[dict] = []
    t0 = time.monotonic()

    def pump():
        for line in graph.stdout:
            if m := RATE.search(line):
                rates.append({"t_s": round(time.monotonic() - t0, 1), "targets_per_s": float(m.group(1)),
                              "devices_per_estimate": float(m.group(2))})
            if m := STARTED.search(line):
                pids[m.group(1)] = int(m.group(2))
            elif m := DROPPED.search(line):
                drops[m.group(1)] = parse_drops(m.group(2))
            if "exited unexpectedly" in line:
                died.append(line.strip())

    threading.Thread(target=pump, daemon=True).start()
    samples = []
    try:
        while (elapsed := time.monotonic() - t0) < 60 * args.minutes:
            row = {"t_s": round(elapsed, 1)}
            row.update({label: rss_mib(pid) for label, pid in pids.items()})
            samples.append(row)
            if graph.poll() is not None:
                died.append(f"disac launch exited with {graph.returncode}")
                break
            print(f"\r{elapsed:6.0f} s  " + "  ".join(f"{k} {v:.0f} MiB" for k, v in row.items()
                                                       if k != "t_s" and v is not None), end="", flush=True)
            time.sleep(args.sample_s)
    finally:
        print()
        if graph.poll() is None:
            graph.send_signal(signal.SIGINT)
            try:
                graph.wait(timeout=60)
            except subprocess.TimeoutExpired:
                graph.kill()
    nodes = {}
    for label in pids:
        series = [(r["t_s"], r.get(label)) for r in samples if r.get(label) is not None]
        after = [v for t, v in series if t >= args.warmup_s]
        if not after:
            continue
        start, end = after[0], after[-1]
        nodes[label] = {"rss_after_warmup_mib": round(start, 1), "rss_end_mib": round(end, 1),
                        "rss_max_mib": round(max(v for _, v in series), 1),
                        "growth_after_warmup": round(end / start - 1, 4), "drops": drops.get(label, {})}
    return {"command": " ".join(cmd), "minutes": args.minutes, "warmup_s": args.warmup_s, "nodes": nodes,
            "died": died, "aggregator_rates": rates, "samples": samples}


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    for label in result["nodes"]:
        pts = [(r["t_s"], r[label]) for r in result["samples"] if r.get(label) is not None]
        ax.plot([t / 60 for t, _ in pts], [v for _, v in pts], label=label)
    ax.axvline(result["warmup_s"] / 60, color="grey", ls="--", lw=0.8, label="end of warm-up")
    ax.set(xlabel="wall time [min]", ylabel="resident memory [MiB]", title="live graph soak: memory per node")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="default", choices=("smoke", "default", "paper"))
    parser.add_argument("--run", help="trained run (default: where `disac demo` trains)")
    parser.add_argument("--num-devices", type=int, default=4)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--warmup-s", type=float, default=120.0, help="memory growth is counted after this")
    parser.add_argument("--sample-s", type=float, default=5.0)
    parser.add_argument("--max-growth", type=float, default=0.10)
    parser.add_argument("--out", default="results/soak")
    args = parser.parse_args()
    result = soak(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"soak-{args.preset}-{args.num_devices}dev"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1))
    plot(result, stem.with_suffix(".png"))
    print(f"{'node':<28} {'RSS after warm-up':>18} {'at end':>8} {'growth':>8}  drops")
    failed = bool(result["died"])
    for label, n in result["nodes"].items():
        grew = n["growth_after_warmup"] > args.max_growth
        failed |= grew
        drops = ", ".join(f"{k} {v}" for k, v in sorted(n["drops"].items())) or "none"
        print(f"{label:<28} {n['rss_after_warmup_mib']:>14.0f} MiB {n['rss_end_mib']:>6.0f} MiB "
              f"{100 * n['growth_after_warmup']:>7.1f} %{'  (> limit)' if grew else ''}  {drops}")
    for line in result["died"]:
        print(f"died: {line}")
    after = [r for r in result["aggregator_rates"] if r["t_s"] >= args.warmup_s]
    if after:
        print(f"/targets after warm-up: {min(r['targets_per_s'] for r in after):.2f}-"
              f"{max(r['targets_per_s'] for r in after):.2f} per s, "
              f"{sum(r['devices_per_estimate'] for r in after) / len(after):.2f} devices per estimate")
    else:
        print("no /targets rate reported after warm-up")
        failed = True
    print(f"saved {stem.with_suffix('.json')} and {stem.with_suffix('.png')}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
