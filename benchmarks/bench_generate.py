#!/usr/bin/env python3
"""Dataset generation throughput per preset: camera renders, the radar's echoes (clutter included) and whole frames.

Usage (after `source .venv/env.sh`):
    python benchmarks/bench_generate.py [--presets smoke default] [--frames 10] [--set camera.width=1280 ...]
        [--json results/bench/generate.json]

For each preset: the scene build, the median render time per camera (RGB + segmentation, and with depth as fog
needs it), the median of the generator's ``frame_sensing`` (labels, blockage, every device's echoes and clutter)
and the frames per second of the two together; and the live bridge's work per frame (every camera rendered without
segmentation, the sensor noise, the Image messages built, the echoes; DDS publishing left out) and the frame rate
it bounds, with the machine it ran on. ``--set`` overrides scene fields as
``disac generate --set`` does.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{cpu}, {os.cpu_count()} cores, {gpu}, torch threads {torch.get_num_threads()}"


def bench(preset: str, frames: int, overrides: list[str]) -> dict:
    from disac_ros.config import dotted_overrides, load_scene
    from disac_ros.data.generate import frame_sensing
    from disac_ros.ros.convert import image_to_msg, to_time
    from disac_ros.sim.clutter import scene_clutter
    from disac_ros.sim.conditions import CLEAR, apply_condition
    from disac_ros.sim.motion import sequence_trajectories
    from disac_ros.sim.scene import GenesisScene

    cfg = load_scene(preset=preset, overrides=dotted_overrides(overrides) or None)
    t0 = time.perf_counter()
    scene = GenesisScene(cfg)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    scene_clutter(cfg)  # built once per process and world
    clutter_build = time.perf_counter() - t0
    trajectories = sequence_trajectories(cfg, cfg.seed, 0)
    render, render_depth, sensing, bridge = [], [], [], []
    for f in range(frames + 1):  # the first frame is a warm-up
        t = f / cfg.dataset.fps
        pos = np.array([tr.position(t) for tr in trajectories])
        vel = np.array([tr.velocity(t) for tr in trajectories])
        yaw = np.array([tr.yaw(t) for tr in trajectories])
        scene.set_targets(pos, yaw, np.array([tr.variant for tr in trajectories]))
        r0 = time.perf_counter()
        scene.render()
        r1 = time.perf_counter()
        scene.render(depth=True)
        r2 = time.perf_counter()
        frame_sensing(cfg, pos, vel, yaw, np.array([tr.size for tr in trajectories]), np.random.default_rng(f))
        r3 = time.perf_counter()
        views = scene.render(segmentation=False)                 # what the live bridge renders and publishes
        noise = np.random.default_rng([cfg.seed, 0, f, 23])
        for dev in cfg.devices:
            image_to_msg(apply_condition(views[dev.id].rgb, CLEAR, cfg.conditions, noise), to_time(t), dev.id)
        r4 = time.perf_counter()
        if f:
            render.append((r1 - r0) / len(cfg.devices))
            render_depth.append((r2 - r1) / len(cfg.devices))
            sensing.append(r3 - r2)
            bridge.append(r4 - r3 + r3 - r2)
    scene.close()
    frame_s = len(cfg.devices) * float(np.median(render)) + float(np.median(sensing))
    return {"preset": preset, "overrides": overrides, "resolution": f"{cfg.camera.width}x{cfg.camera.height}",
            "devices": len(cfg.devices), "clutter": cfg.clutter.model, "build_s": round(build, 2),
            "clutter_build_s": round(clutter_build, 2),
            "render_ms_per_camera": round(1e3 * float(np.median(render)), 1),
            "render_depth_ms_per_camera": round(1e3 * float(np.median(render_depth)), 1),
            "sensing_ms_per_frame": round(1e3 * float(np.median(sensing)), 1),
            "frames_per_s": round(1.0 / frame_s, 2),
            "bridge_ms_per_frame": round(1e3 * float(np.median(bridge)), 1),
            "bridge_frames_per_s": round(1.0 / float(np.median(bridge)), 2), "frames": frames}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["smoke", "default"])
    parser.add_argument("--frames", type=int, default=10, help="timed frames per preset (after one warm-up)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                        help="scene override for every preset, as `disac generate --set`")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"{'preset':<8} {'res':>9} {'build s':>8} {'render ms/cam':>14} {'+depth ms/cam':>14} {'echoes ms':>10} "
          f"{'frames/s':>9} {'bridge frames/s':>16}")
    results = []
    for preset in args.presets:
        r = bench(preset, args.frames, args.overrides)
        results.append(r)
        print(f"{r['preset']:<8} {r['resolution']:>9} {r['build_s']:>8.1f} {r['render_ms_per_camera']:>14.1f} "
              f"{r['render_depth_ms_per_camera']:>14.1f} {r['sensing_ms_per_frame']:>10.1f} {r['frames_per_s']:>9.2f} "
              f"{r['bridge_frames_per_s']:>16.2f}", flush=True)
    if args.json:
        from disac_ros.files import write_json_atomic

        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(Path(args.json), {"machine": machine(), "command": "python benchmarks/bench_generate.py "
                                            + " ".join(sys.argv[1:]), "results": results})
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
