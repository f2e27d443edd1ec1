#!/usr/bin/env python3
"""Dataset generation throughput per preset resolution: camera renders and full frames per second.

Usage (after `source .venv/env.sh`):  python benchmarks/bench_generate.py [--presets smoke default] [--frames 10]

Prints, for each preset: scene build time, per-camera render time, frames per second (all devices
rendered + radar echoes + labels) and frames per second per device, with the machine it ran on.
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{cpu}, {os.cpu_count()} cores, {gpu}, torch threads {torch.get_num_threads()}"


def bench(preset: str, frames: int) -> dict:
    from disac_ros.config import load_scene
    from disac_ros.data.generate import frame_labels_and_echoes
    from disac_ros.sim.motion import sample_trajectories
    from disac_ros.sim.scene import GenesisScene

    cfg = load_scene(preset=preset)
    t0 = time.perf_counter()
    scene = GenesisScene(cfg)
    build = time.perf_counter() - t0
    traj = sample_trajectories(cfg, np.random.default_rng(0))
    times, render_times = [], []
    for f in range(frames + 1):  # the first frame is a warm-up
        t = f / cfg.dataset.fps
        pos = np.array([tr.position(t) for tr in traj])
        vel = np.array([tr.velocity(t) for tr in traj])
        start = time.perf_counter()
        scene.set_targets(pos, np.array([tr.yaw(t) for tr in traj]))
        r0 = time.perf_counter()
        scene.render()
        r1 = time.perf_counter()
        frame_labels_and_echoes(cfg, pos, vel, np.random.default_rng(f))
        if f:
            times.append(time.perf_counter() - start)
            render_times.append((r1 - r0) / len(cfg.devices))
    scene.close()
    frame_s = float(np.median(times))
    return {"preset": preset, "resolution": f"{cfg.camera.width}x{cfg.camera.height}", "devices": len(cfg.devices),
            "build_s": build, "render_ms_per_camera": 1e3 * float(np.median(render_times)),
            "frames_per_s": 1.0 / frame_s, "device_frames_per_s": len(cfg.devices) / frame_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["smoke", "default", "paper"])
    parser.add_argument("--frames", type=int, default=10, help="timed frames per preset (after one warm-up)")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"{'preset':<8} {'res':>9} {'build s':>8} {'render ms/cam':>14} {'frames/s':>9} {'dev-frames/s':>13}")
    for preset in args.presets:
        r = bench(preset, args.frames)
        print(f"{r['preset']:<8} {r['resolution']:>9} {r['build_s']:>8.1f} {r['render_ms_per_camera']:>14.1f} "
              f"{r['frames_per_s']:>9.2f} {r['device_frames_per_s']:>13.2f}", flush=True)


if __name__ == "__main__":
    main()
