"""The ``disac`` command: one entry point for data generation, training, evaluation and the ROS graph.

Each subcommand lives in its own module and registers itself through ``add_parser``; heavy
imports (torch, Genesis, rclpy) happen only inside the subcommand that needs them, so
``disac --help`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# (subcommand, module, one-line help). Modules expose add_arguments(parser) and run(args) -> int.
SUBCOMMANDS = [
    ("info", "disac_ros.commands.info", "show versions, compute device and whether the messages load"),
    ("generate", "disac_ros.commands.generate", "render the Genesis scene and write the RF-visual dataset"),
    ("inspect", "disac_ros.commands.inspect", "summarise a dataset and draw a contact sheet of one frame"),
    ("train", "disac_ros.commands.train", "two-stage distributed training (stage 1 per device, stage 2 at the center)"),
    ("export", "disac_ros.commands.export", "write each side's artifact of a trained run (device / center halves)"),
    ("demo", "disac_ros.commands.demo", "the main job on the embedded default (what `make demo` runs)"),
    ("launch", "disac_ros.commands.launch", "start the live ROS 2 graph for N devices (like ros2 launch)"),
    ("record", "disac_ros.commands.record", "record topics into a rosbag2 bag (MCAP), like ros2 bag record"),
    ("play", "disac_ros.commands.play", "replay a rosbag2 bag with its original timing and /clock"),
    ("evaluate", "disac_ros.commands.evaluate", "metrics of a trained run on a dataset (--run) or of a bag (--bag)"),
    ("benchmark", "disac_ros.commands.benchmark", "train and evaluate every Table III scheme; report, plots, JSON"),
    ("report", "disac_ros.commands.report", "the README's results sections made anew from the committed JSON"),
    ("view", "disac_ros.commands.view", "a browser view (Rerun) of a bag or of the live graph, saved or screenshot"),
]

EPILOG = """\
typical workflow:
  disac info                                  check the environment
  disac generate --preset smoke --out data/smoke   render a dataset (resumable)
  disac inspect data/smoke                    summary and contact sheet (PNG)
  disac train --data data/smoke --out runs/smoke   stage 1 on every device, hand-over, stage 2 (resumable)
  make demo                                   the main job on the embedded default

Every command reads its defaults from config/ (YAML) and accepts --help.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="disac",
        description="LLM-DiSAC on ROS 2: distributed RF-visual sensing with LLM-decoded semantic communication.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module, help_text in SUBCOMMANDS:
        p = sub.add_parser(name, help=help_text, description=help_text,
                           formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        importlib.import_module(module).add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def _version() -> str:
    from disac_ros import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError) as exc:  # bad input: say what, not a traceback
        print(f"disac {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
