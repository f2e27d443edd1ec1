"""``disac generate``: render the Genesis scene and write the multi-view RF-visual dataset.

``--seed``, ``--sequences`` and ``--split`` change how samples are drawn, not the world
(:meth:`disac_ros.config.SceneConfig.digest`): a run trained on the preset's dataset evaluates on such data, e.g.
``disac generate --preset default --seed 4242 --sequences 24 --split 0 0 1 --out data/fresh`` (every sequence in
the test split).
"""
from __future__ import annotations

import argparse
import logging
import os

from disac_ros.config import PRESETS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", choices=PRESETS, default="smoke",
                        help="size: smoke (tests, < 1 min), default (the demo model), paper (Sec. V-A1 size)")
    parser.add_argument("--config", default=None, help="scene YAML (default: config/scene.yaml)")
    parser.add_argument("--out", required=True, help="dataset directory; an unfinished one is resumed")
    parser.add_argument("--seed", type=int, default=None,
                        help="override the config's seed (the same world, other trajectories and draws)")
    parser.add_argument("--sequences", type=int, default=None, help="override the number of sequences")
    parser.add_argument("--split", type=float, nargs=3, default=None, metavar=("TRAIN", "VAL", "TEST"),
                        help="override the split fractions (0 0 1: every sequence is a test sequence)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                        help="override a scene field (YAML value), e.g. --set clutter.model=none --set "
                             "survey.heading_sigma_deg=0: another world, named by its own digest")
    parser.add_argument("--backend", choices=("auto", "cpu", "cuda"), default="auto",
                        help="Genesis backend (auto: CUDA when present)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="processes that render at once, one Genesis scene each (default: the CPU count, at "
                             "most 2; 1: this process)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from disac_ros.config import dotted_overrides, load_scene, sampling_overrides
    from disac_ros.data.generate import Generator

    logging.basicConfig(level=logging.INFO, format="[%(levelname)s] %(name)s: %(message)s")
    overrides = dotted_overrides(args.overrides, sampling_overrides(args.seed, args.sequences, args.split))
    cfg = load_scene(args.config, preset=args.preset, overrides=overrides or None)
    workers = args.workers if args.workers is not None else min(2, os.cpu_count() or 1)
    manifest = Generator(cfg, args.out, backend=args.backend, workers=workers).run(progress=not args.no_progress)
    counts, timing = manifest["counts"], manifest["timing"]
    print(f"dataset {args.out} (world {manifest['config_digest']}, dataset {manifest['dataset_digest']}, seed "
          f"{manifest['seed']}): {counts['sequences']} sequences, {counts['frames']} frames x "
          f"{counts['devices']} devices x {counts['targets']} targets "
          f"({timing['frames_generated']} frames generated in {timing['generation_seconds']:.1f} s)")
    return 0
