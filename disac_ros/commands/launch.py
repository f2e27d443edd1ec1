"""``disac launch``: start the live graph as separate processes, as ``ros2 launch disac_ros disac.launch.py`` would.

The node list comes from :func:`disac_ros.launch_description.describe`, the same function the launch file calls,
so both start the same executables with the same parameters. :class:`disac_ros.ros.supervisor.Launcher` runs each
as ``python -m disac_ros.nodes.<executable> --ros-args -r __node:=... --params-file ... -p ...`` and prefixes its
output with its name; ``--compose`` runs the stack's nodes in one process (:mod:`disac_ros.nodes.container`);
``--cpus auto`` gives the aggregator a CPU of its own (:func:`disac_ros.launch_description.place`).
Ctrl-C (or SIGTERM, or ``--duration``) stops them: SIGINT to every node, SIGTERM after ``--grace`` seconds,
SIGKILL after as long again. A node that dies on its own is reported and the others keep
running (a dead collaborator must not stop the graph); the exit status is then 1, as it is when a node stopped
without ever becoming ready (it never logged that it spins).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from disac_ros.config import PRESETS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from disac_ros.launch_description import CPU_LAYOUTS, DEFAULT_PARAMS_FILE
    from disac_ros.nodes.spin import EXECUTORS

    parser.add_argument("config", nargs="?", default=None, help="scene YAML (default: config/scene.yaml)")
    parser.add_argument("--preset", choices=PRESETS, default="default", help="scene preset (must match the run)")
    parser.add_argument("--num-devices", type=int, default=4, help="use the first N devices (the first is the center)")
    parser.add_argument("--run", default=None,
                        help="trained run directory, or its exported artifacts (`disac export`) (default: "
                        "runs/<preset>-<digest>, where `disac demo` trains)")
    parser.add_argument("--duration", type=float, default=0.0, help="stop after S seconds (0: run until Ctrl-C)")
    parser.add_argument("--params", default=str(DEFAULT_PARAMS_FILE), help="ROS 2 params file of the nodes")
    parser.add_argument("--set", action="append", default=[], metavar="NODE.PARAM=VALUE",
                        help="override a parameter, e.g. channel.snr_db=10 or device_encoder.num_threads=2 "
                             "(value in YAML); repeatable")
    parser.add_argument("--no-sim-time", action="store_true", help="nodes use wall time instead of /clock")
    parser.add_argument("--no-bridge", action="store_true",
                        help="leave out genesis_bridge, to run the encoders and aggregator on `disac play BAG`")
    parser.add_argument("--compose", nargs="?", const=EXECUTORS[0], choices=EXECUTORS, default=None,
                        help="run the encoders, channel and aggregator in one process (rclpy composition) on a "
                             "single-threaded (default) or multi-threaded executor, instead of one process each: "
                             "about one core in all (see disac_ros/nodes/container.py)")
    parser.add_argument("--cpus", choices=CPU_LAYOUTS, default=CPU_LAYOUTS[0],
                        help="where the node processes run on this machine: none (the OS decides) or auto (the "
                             "aggregator alone on the first CPU, the other nodes on the rest: for one machine "
                             "hosting the whole graph; README 'The live graph')")
    parser.add_argument("--log-level", default="info", choices=("debug", "info", "warn", "error"),
                        help="ROS log level of every node")
    parser.add_argument("--grace", type=float, default=10.0,
                        help="seconds from SIGINT to SIGTERM, and from SIGTERM to SIGKILL, when stopping")
    parser.add_argument("--dry-run", action="store_true", help="print the node commands and exit")


def check_run_scene(run_dir: Path, scene, num_devices: int) -> None:
    """Refuse a run, or a folder of its exported artifacts, trained in another scene or without these devices."""
    from disac_ros.runs import Run, check_scene

    if (run_dir / "run.json").is_file():
        return Run(run_dir).check_scene(scene, num_devices)
    from disac_ros.deploy import read_artifact, resolve

    meta = read_artifact(resolve(run_dir, "center"), "center").meta  # the center's names the scene and devices
    check_scene(f"artifacts {run_dir}", meta["weights"]["data_config_digest"], list(meta["devices"]), meta["center"],
                scene, num_devices)


def run(args: argparse.Namespace) -> int:
    from disac_ros.config import load_scene
    from disac_ros.launch_description import compose, describe, parse_overrides, place
    from disac_ros.ros.supervisor import Launcher
    from disac_ros.runs import default_run

    run_dir = Path(args.run) if args.run else default_run(args.preset)
    specs = describe(scene_config=args.config, preset=args.preset, num_devices=args.num_devices,
                     run=run_dir.resolve(), params_file=args.params, overrides=parse_overrides(args.set),
                     use_sim_time=not args.no_sim_time, bridge=not args.no_bridge)
    specs = place(specs, args.cpus)
    if args.compose:
        specs = compose(specs, executor=args.compose)
    if args.params and not Path(args.params).is_file():
        raise FileNotFoundError(f"params file {args.params} not found")
    launcher = Launcher(specs, log_level=args.log_level, grace=args.grace)
    if args.dry_run:
        for spec in specs:
            print(" ".join(([spec.prefix()] if spec.cpus else []) + launcher.command(spec)))
        return 0
    check_run_scene(run_dir, load_scene(args.config, args.preset), args.num_devices)  # same scene, its devices
    launcher.start()
    failed = launcher.supervise(args.duration)
    return 1 if failed else 0
