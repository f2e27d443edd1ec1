"""``container``: several nodes of the graph in one process, on one executor (rclpy's composition).

    python -m disac_ros.nodes.container NODES_JSON [--executor single|multi] [--ros-args --log-level info]

``NODES_JSON`` is a JSON list of ``{"executable": "channel", "arguments": ["--ros-args", "-r", "__node:=channel",
...]}``: each node is built from its executable's Node class with its own ``arguments`` as node-local ROS arguments
(the ``--ros-args`` a separate process would get: name, namespace, params file, ``-p``), so it has the same name,
namespace and parameters either way. ``--ros-args`` after ``NODES_JSON`` apply to the process (the log level).
:func:`disac_ros.launch_description.compose` writes the list; ``disac launch --compose`` and the launch file's
``compose:=true`` start it.

``--executor single`` (default): a ``SingleThreadedExecutor`` runs every node's callbacks in turn; ``multi``: a
``MultiThreadedExecutor`` with a thread per node (:func:`disac_ros.nodes.spin.spin_nodes`). Either way the nodes
share one interpreter and its GIL, so the process uses about one core: measured on the default stack from a bag
(int8 decoders, README "Results"), single 4.00 `/targets`/s on 0.90 core (224 ms of CPU per frame, where separate
processes add up to 250 ms) but 1.10 under 2x overload, multi 0.37/s (threads contending for the GIL). Separate
processes stay the default: they mirror separate devices, each node's CPU is its process's, and they use every
core.
"""
from __future__ import annotations

import importlib
import json
import sys

from disac_ros.nodes.spin import EXECUTORS, exit_process, spin_nodes

#: The Node class of each executable (in ``disac_ros.nodes.<executable>``).
NODE_CLASSES = {"genesis_bridge": "GenesisBridge", "device_encoder": "DeviceEncoder", "channel": "Channel",
                "aggregator": "Aggregator"}


def parse_nodes(text: str) -> list[tuple[str, list[str]]]:
    """``NODES_JSON`` -> [(executable, node-local arguments)]; ``ValueError`` says what is wrong."""
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"NODES_JSON is not JSON: {exc}") from exc
    if not isinstance(items, list) or not items:
        raise ValueError("NODES_JSON must be a non-empty JSON list of {executable, arguments}")
    out = []
    for item in items:
        if not (isinstance(item, dict) and item.get("executable") in NODE_CLASSES
                and isinstance(item.get("arguments", []), list)
                and all(isinstance(a, str) for a in item.get("arguments", []))):
            raise ValueError(f"each node must be {{'executable': one of {sorted(NODE_CLASSES)}, 'arguments': "
                             f"[strings]}}, got {item!r}")
        out.append((item["executable"], list(item.get("arguments", []))))
    return out


def factory(executable: str, arguments: list[str]):
    """A callable building ``executable``'s node with ``arguments`` as its own ROS arguments."""
    cls = getattr(importlib.import_module(f"disac_ros.nodes.{executable}"), NODE_CLASSES[executable])
    return lambda: cls(cli_args=arguments, use_global_arguments=False)


def main(args: list[str] | None = None) -> int:
    import argparse

    from rclpy.utilities import remove_ros_args

    args = list(sys.argv if args is None else args)
    parser = argparse.ArgumentParser(prog="container", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("nodes", metavar="NODES_JSON", help="the nodes: [{executable, arguments}, ...]")
    parser.add_argument("--executor", choices=EXECUTORS, default="single")
    plain = parser.parse_args(remove_ros_args(args)[1:])
    try:
        nodes = parse_nodes(plain.nodes)
    except ValueError as exc:
        parser.error(str(exc))
    return spin_nodes([factory(exe, arguments) for exe, arguments in nodes], args, plain.executor)


if __name__ == "__main__":
    exit_process(main())
