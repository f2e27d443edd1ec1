"""``disac demo``: the main job on the embedded default, run by ``make demo``.

It runs the best end-to-end path that exists so far and says what it did.
"""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="runs/demo", help="where the demo writes its outputs")


def run(args: argparse.Namespace) -> int:
    from disac_ros.commands import info

    print("== environment ==")
    return info.run(argparse.Namespace(json=False))
