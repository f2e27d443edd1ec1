"""Recording topics of the ROS graph into a :class:`disac_ros.ros.bags.BagWriter`, as ``ros2 bag record`` does.

Topics are discovered from the graph every :data:`DISCOVERY_PERIOD_S`, so topics that appear after the recorder
started are recorded from their first publisher on. Messages are taken serialized (``raw=True``) and written as
they came, with their receive time on the system clock as the log time (what rosbag2 stores without
``--use-sim-time``). The subscription QoS adapts to the publishers (:func:`disac_ros.ros.qos.subscription_qos`) and
their offered profiles are stored in the bag. The chunk in progress is written to the file once it holds a message
:data:`~disac_ros.ros.bags.CHUNK_MAX_AGE_S` old, also while no message comes, so a killed recorder loses about
that much (see :mod:`disac_ros.ros.bags` for what its ``.partial`` folder holds).
"""
from __future__ import annotations

import sys
import time
from collections.abc import Iterable

from disac_ros.ros.bags import CHUNK_MAX_AGE_S
from disac_ros.ros.convert import import_message
from disac_ros.ros.qos import subscription_qos, to_bag_qos
from disac_ros.ros.session import command_node

DISCOVERY_PERIOD_S = 0.5


def _hidden(topic: str) -> bool:
    return any(part.startswith("_") for part in topic.split("/"))


class Recorder:
    """Subscribes raw to the wanted topics as they appear and writes every message to a :class:`BagWriter`.

    ``topics``: absolute names to record (None: every topic with a publisher, hidden ones and ``exclude`` excepted).
    """

    def __init__(self, node, writer, topics: list[str] | None, exclude: Iterable[str] = ()) -> None:
        self.node, self.writer = node, writer
        self.wanted = None if topics is None else list(dict.fromkeys(topics))
        self.exclude = set(exclude)
        self.subscriptions: dict[str, object] = {}
        self.skipped: set[str] = set()

    def discover(self) -> None:
        """Subscribe to every wanted topic that now has a publisher."""
        for topic, types in self.node.get_topic_names_and_types():
            if topic in self.subscriptions or topic in self.skipped:
                continue
            if self.wanted is None:
                if _hidden(topic) or topic in self.exclude:
                    continue
            elif topic not in self.wanted:
                continue
            infos = self.node.get_publishers_info_by_topic(topic)
            if not infos:
                continue  # only subscribers so far: wait for a publisher to learn its QoS
            if len(types) != 1:
                self._skip(topic, f"it has several types {types}")
                continue
            msgtype = types[0]
            try:
                cls = import_message(msgtype)
                type_hash = self.writer.add_topic(topic, msgtype, [to_bag_qos(i.qos_profile) for i in infos])
            except (ImportError, AttributeError, ValueError) as exc:
                self._skip(topic, f"type {msgtype} is unavailable ({exc})")
                continue
            offered_hash = str(infos[0].topic_type_hash)
            if offered_hash.startswith("RIHS01_") and offered_hash != type_hash:
                self.node.get_logger().warning(f"{topic}: the publisher's type hash {offered_hash} differs from the "
                                               f"definition recorded ({type_hash}); the .msg files may be stale")
            qos = subscription_qos([i.qos_profile for i in infos])
            self.subscriptions[topic] = self.node.create_subscription(
                cls, topic, self._callback(topic), qos, raw=True)
            self.node.get_logger().info(f"recording {topic} [{msgtype}] ({qos.reliability.name.lower()})")

    def _skip(self, topic: str, why: str) -> None:
        self.skipped.add(topic)
        self.node.get_logger().warning(f"not recording {topic}: {why}")

    def _callback(self, topic: str):
        writer = self.writer

        def on_message(data: bytes) -> None:
            writer.write(topic, time.time_ns(), data)  # receive time on the system clock, as rosbag2

        return on_message

    def missing(self) -> list[str]:
        return [t for t in (self.wanted or []) if t not in self.subscriptions]

    def progress(self) -> str:
        counts = " | ".join(f"{t} {n}" for t, n in self.writer.counts.items()) or "no topic yet"
        missing = self.missing()
        return counts + (f" | waiting for {', '.join(missing)}" if missing else "")


def record(writer, topics: list[str] | None, exclude: Iterable[str] = (), duration: float | None = None) -> list[str]:
    """Record into ``writer`` until SIGINT/SIGTERM or ``duration`` seconds and close it; returns topics never seen.

    ``topics`` and ``exclude`` as for :class:`Recorder`. Progress goes to stderr (one updating line on a terminal).
    On any other error the writer is aborted (its ``.partial`` folder never looks like a bag).
    """
    from rclpy.executors import SingleThreadedExecutor

    started = time.monotonic()
    tty = sys.stderr.isatty()
    try:
        with command_node("disac_recorder") as (node, stop):
            executor = SingleThreadedExecutor()
            executor.add_node(node)
            recorder = Recorder(node, writer, topics, exclude)
            print(f"recording to {writer.path} (Ctrl-C to stop)", flush=True)
            last_discovery = last_progress = 0.0
            while not stop:
                now = time.monotonic()
                if duration is not None and now - started >= duration:
                    break
                if now - last_discovery >= DISCOVERY_PERIOD_S:
                    recorder.discover()
                    last_discovery = now
                if now - last_progress >= (1.0 if tty else 5.0):
                    line = f"{now - started:6.1f} s | {recorder.progress()}"
                    print(f"\r{line}\033[K" if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)
                    last_progress = now
                executor.spin_once(timeout_sec=0.05)
                writer.flush(older_than_s=CHUNK_MAX_AGE_S)  # what a kill would lose
            # Take what DDS already delivered to the subscriptions, then stop receiving.
            drain_until = time.monotonic() + 0.2
            while time.monotonic() < drain_until:
                executor.spin_once(timeout_sec=0.01)
            for sub in recorder.subscriptions.values():
                node.destroy_subscription(sub)
            writer.close()
            executor.shutdown()
    except BaseException:
        writer.abort()
        raise
    if tty:
        print(file=sys.stderr)
    return recorder.missing()
