"""Running node processes: ``spin``, ``spin_nodes`` (several nodes in one process) and ConfigError."""
from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

from disac_ros.ros.supervisor import READY


class ConfigError(RuntimeError):
    """A parameter value the node cannot start with; ``spin`` logs it and exits with status 2."""


def spin(factory: Callable[[], object], args: list[str] | None = None) -> int:
    """Init rclpy, build the node, spin until SIGINT/SIGTERM, clean up; returns the exit status.

    rclpy's own handlers (``SignalHandlerOptions.ALL``, the default) turn SIGINT and SIGTERM into a context
    shutdown, which ends ``spin`` with ``ExternalShutdownException``; both that and ``KeyboardInterrupt`` (a
    signal during start-up) end quietly. A :class:`ConfigError` is logged without a traceback (status 2).
    """
    return spin_nodes([factory], args)


#: Executors of several nodes in one process (the first is the default).
EXECUTORS = ("single", "multi")


def spin_nodes(factories: list[Callable[[], object]], args: list[str] | None = None, executor: str = "single") -> int:
    """:func:`spin` for several nodes in one process: built in order, spun by one executor, closed in reverse.

    ``executor`` "single": a ``SingleThreadedExecutor``, every callback of every node in turn on one thread;
    "multi": a ``MultiThreadedExecutor`` with a thread per node, each node keeping its default (mutually exclusive)
    callback group, so a node's own callbacks never overlap while different nodes' may (they share the GIL).
    """
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {EXECUTORS}, got {executor!r}")
    try:
        return _spin(factories, args, executor)
    except KeyboardInterrupt:  # a second Ctrl-C while closing
        return 0


def _spin(factories: list[Callable[[], object]], args: list[str] | None, executor: str = "single") -> int:
    import rclpy
    from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor, SingleThreadedExecutor

    from disac_ros.ros.transport import use_graph_profile

    use_graph_profile()
    rclpy.init(args=args if args is not None else sys.argv)
    nodes, status = [], 0
    try:
        for factory in factories:
            nodes.append(factory())
        nodes[-1].get_logger().info(f"{READY} ({len(nodes)} node{'s' if len(nodes) > 1 else ''} in this process)")
        if len(nodes) == 1:
            rclpy.spin(nodes[0])
        else:
            runner = MultiThreadedExecutor(num_threads=len(nodes)) if executor == "multi" else \
                SingleThreadedExecutor()
            for node in nodes:
                runner.add_node(node)
            try:
                runner.spin()
            finally:
                runner.shutdown(timeout_sec=1.0)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except ConfigError as exc:
        rclpy.logging.get_logger("disac_ros").fatal(str(exc))
        status = 2
    except Exception:
        if rclpy.ok():  # a real error; after SIGINT/SIGTERM the executor may raise RCLError (invalid context)
            raise
    finally:
        for node in reversed(nodes):
            close = getattr(node, "close", None)
            if close is not None:
                try:
                    close()
                except Exception as exc:  # never a traceback on the way out
                    node.get_logger().warning(f"while closing: {exc}")
            try:
                node.destroy_node()
            except Exception:
                pass
        rclpy.try_shutdown()
    return status


def exit_process(status: int) -> None:
    """End a node's process at once with ``status``, once :func:`spin` has cleaned up and the output is flushed.

    :func:`spin` has destroyed the node and shut rclpy down by then. This skips the interpreter's own
    finalisation, which with torch (and the bridge's Genesis) loaded takes most of a second on an idle machine and
    several seconds on two busy cores: the difference between meeting a launch's stop budget and being sent
    SIGTERM. Only for a process's ``__main__``: never call it in a test.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    logging.shutdown()
    os._exit(status)
