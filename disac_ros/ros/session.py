"""A plain rclpy node for a command that is not a ROS node process (recorder, player): stopped by a flag.

Such a command must finish its work (close a bag, let the last messages go) on Ctrl-C or SIGTERM, so rclpy's
own signal handlers are off and the signals only append to a list the command's loop checks.
"""
from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager


def catch_stop_signals() -> tuple[list[int], dict]:
    """Make SIGINT and SIGTERM append to the returned list instead of raising; returns it and the old handlers."""
    stop: list[int] = []
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, lambda signum, _frame: stop.append(signum))
    return stop, previous


def restore_signals(previous: dict) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


@contextmanager
def command_node(name: str) -> Iterator[tuple[object, list[int]]]:
    """``(node, stop)``: an rclpy node without rclpy's signal handlers, and the list a stop signal appends to.

    On exit the node is destroyed, rclpy shut down and the previous signal handlers restored.
    """
    stop, previous = catch_stop_signals()  # before importing rclpy: a Ctrl-C from now on only sets the flag
    import rclpy
    from rclpy.signals import SignalHandlerOptions

    from disac_ros.ros.transport import use_graph_profile

    use_graph_profile()

    node = None
    try:
        rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
        node = rclpy.create_node(name)
        yield node, stop
    finally:
        if node is not None:
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
        restore_signals(previous)
