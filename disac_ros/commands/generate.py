"""``disac generate``: render the Genesis scene and write the multi-view RF-visual dataset."""
from __future__ import annotations

import argparse
import logging

from disac_ros.config import PRESETS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", choices=PRESETS, default="smoke",
                        help="size: smoke (tests, < 1 min), default (the demo model), paper (Sec. V-A1 size)")
    parser.add_argument("--config", default=None, help="scene YAML (default: config/scene.yaml)")
    parser.add_argument("--out", required=True, help="dataset directory; an unfinished one is resumed")
    parser.add_argument("--seed", type=int, default=None, help="override the config's seed")
    parser.add_argument("--backend", choices=("auto", "cpu", "cuda"), default="auto",
                        help="Genesis backend (auto: CUDA when present)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from disac_ros.config import load_scene
    from disac_ros.data.generate import Generator

    logging.basicConfig(level=logging.INFO, format="[%(levelname)s] %(name)s: %(message)s")
    cfg = load_scene(args.config, preset=args.preset,
                     overrides={"seed": args.seed} if args.seed is not None else None)
    manifest = Generator(cfg, args.out, backend=args.backend).run(progress=not args.no_progress)
    counts, timing = manifest["counts"], manifest["timing"]
    print(f"dataset {args.out}: {counts['sequences']} sequences, {counts['frames']} frames x "
          f"{counts['devices']} devices x {counts['targets']} targets "
          f"({timing['frames_generated']} frames generated in {timing['generation_seconds']:.1f} s)")
    return 0
