"""``disac demo``: the main job on the embedded default, run by ``make demo``.

Today it generates (or re-uses) the default-preset dataset with Genesis and the radar model, and
draws every device's view of one frame with ground truth; later stages (training, the live ROS
graph) join as they land.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from disac_ros.config import PRESETS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", choices=PRESETS, default="default", help="dataset size")
    parser.add_argument("--data", default=None, help="dataset directory (default: data/<preset>-<config digest>, "
                        "so an edited config gets a new dataset); a complete one is re-used, an unfinished one resumed")


def run(args: argparse.Namespace) -> int:
    from disac_ros.commands import generate, info, inspect
    from disac_ros.config import load_scene
    from disac_ros.data.generate import config_digest

    print("== environment ==")
    info.run(argparse.Namespace(json=False))
    data = Path(args.data or f"data/{args.preset}-{config_digest(load_scene(preset=args.preset))[:8]}")
    print(f"\n== dataset ({args.preset} preset) -> {data} ==")
    generate.run(argparse.Namespace(preset=args.preset, config=None, out=str(data), seed=None, backend="auto",
                                    no_progress=False))
    print(f"\n== inspect {data} ==")
    inspect.run(argparse.Namespace(data=str(data), sequence=0, frame=None, png=None))
    return 0
