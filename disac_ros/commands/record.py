"""``disac record``: record topics into a rosbag2 bag with MCAP storage, as ``ros2 bag record -s mcap`` would.

Topics are discovered from the ROS graph and polled every 0.5 s, so topics that appear after the recorder started
are recorded from their first publisher on. Messages are taken serialized (``raw=True``) and written as they came.

- **QoS**: like rosbag2, the subscription adapts to the publishers: reliable only if every publisher offers
  reliable (else best effort, which still receives from reliable publishers), transient-local only if every
  publisher offers it (else volatile), keep-last with depth 100 so bursts are not dropped. Sensor topics published
  with sensor-data QoS are therefore recorded best effort, the rest reliable. The publishers' offered profiles are
  stored in the bag (``offered_qos_profiles``) so ``disac play`` can offer the same.
- **Time**: the log time of each message is its receive time on the system (wall) clock, in ns since the epoch,
  as ``ros2 bag record`` stores without ``--use-sim-time``; the simulated time is in the messages' header stamps
  and on ``/clock`` (record it to replay on sim time).
- **Stopping**: Ctrl-C (SIGINT), SIGTERM or ``--duration`` close the bag cleanly with every message received
  so far. The bag is written into ``BAG.partial/`` and renamed to ``BAG`` at the end, so a killed recorder never
  leaves a directory that looks like a complete bag. An existing ``BAG`` is never overwritten.
"""
from __future__ import annotations

import argparse
import importlib
import signal
import sys
import time
from collections.abc import Iterable

SUBSCRIPTION_DEPTH = 100
DISCOVERY_PERIOD_S = 0.5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--topics", nargs="+", default=[], metavar="TOPIC",
                        help="topics to record (they may appear later)")
    parser.add_argument("--all", "-a", action="store_true",
                        help="record every topic that has a publisher (hidden topics excepted)")
    parser.add_argument("--exclude", nargs="+", default=[], metavar="TOPIC", help="topics --all leaves out")
    parser.add_argument("--out", "-o", required=True, metavar="BAG", help="bag directory to create (never overwritten)")
    parser.add_argument("--duration", type=float, default=None, metavar="S",
                        help="stop after S seconds (default: until Ctrl-C)")


def import_message(msgtype: str) -> type:
    """The rclpy message class of ``pkg/msg/Name``."""
    pkg, kind, name = msgtype.split("/")
    return getattr(importlib.import_module(f"{pkg}.{kind}"), name)


def to_bag_qos(profile):
    """A ``rosbags`` Qos from an rclpy QoSProfile (the two share the rmw enum values)."""
    from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime

    def dur(d) -> QosTime:
        sec, nsec = divmod(int(d.nanoseconds), 1_000_000_000)
        return QosTime(sec, nsec)

    return Qos(history=QosHistory(int(profile.history)), depth=int(profile.depth),
               reliability=QosReliability(int(profile.reliability)), durability=QosDurability(int(profile.durability)),
               deadline=dur(profile.deadline), lifespan=dur(profile.lifespan),
               liveliness=QosLiveliness(int(profile.liveliness)),
               liveliness_lease_duration=dur(profile.liveliness_lease_duration),
               avoid_ros_namespace_conventions=bool(profile.avoid_ros_namespace_conventions))


def subscription_qos(offered: list):
    """The subscription QoS that matches every publisher's offered profile (see the module docstring)."""
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

    reliable = bool(offered) and all(p.reliability == ReliabilityPolicy.RELIABLE for p in offered)
    latched = bool(offered) and all(p.durability == DurabilityPolicy.TRANSIENT_LOCAL for p in offered)
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=SUBSCRIPTION_DEPTH,
                      reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE)


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


def _normalise(topic: str) -> str:
    topic = topic.strip()
    if not topic:
        raise ValueError("empty topic name")
    return topic if topic.startswith("/") else "/" + topic


def _hidden(topic: str) -> bool:
    return any(part.startswith("_") for part in topic.split("/"))


class Recorder:
    """Subscribes raw to the wanted topics as they appear and writes every message to a :class:`BagWriter`."""

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


def run(args: argparse.Namespace) -> int:
    from disac_ros.ros.bags import BagWriter

    if not args.all and not args.topics:
        raise ValueError("name the topics to record with --topics T ... or record every topic with --all")
    if args.all and args.topics:
        raise ValueError("--all and --topics exclude each other")
    if args.exclude and not args.all:
        raise ValueError("--exclude goes with --all")
    if args.duration is not None and args.duration <= 0:
        raise ValueError(f"--duration must be positive, got {args.duration}")
    topics = None if args.all else [_normalise(t) for t in args.topics]
    writer = BagWriter(args.out)  # refuses an existing bag before anything starts

    stop, previous = catch_stop_signals()
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.signals import SignalHandlerOptions

    started = time.monotonic()
    tty = sys.stderr.isatty()
    try:
        rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
        node = rclpy.create_node("disac_recorder")
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        recorder = Recorder(node, writer, topics, [_normalise(t) for t in args.exclude])
        print(f"recording to {writer.path} (Ctrl-C to stop)", flush=True)
        last_discovery = last_progress = 0.0
        while not stop:
            now = time.monotonic()
            if args.duration is not None and now - started >= args.duration:
                break
            if now - last_discovery >= DISCOVERY_PERIOD_S:
                recorder.discover()
                last_discovery = now
            if now - last_progress >= (1.0 if tty else 5.0):
                line = f"{now - started:6.1f} s | {recorder.progress()}"
                print(f"\r{line}\033[K" if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)
                last_progress = now
            executor.spin_once(timeout_sec=0.05)
        # Take what DDS already delivered to the subscriptions, then stop receiving.
        drain_until = time.monotonic() + 0.2
        while time.monotonic() < drain_until:
            executor.spin_once(timeout_sec=0.01)
        for sub in recorder.subscriptions.values():
            node.destroy_subscription(sub)
        missing = recorder.missing()
        path = writer.close()
        executor.shutdown()
        node.destroy_node()
    except BaseException:
        writer.abort()
        raise
    finally:
        if rclpy.ok():
            rclpy.shutdown()
        restore_signals(previous)
    if tty:
        print(file=sys.stderr)
    total = sum(writer.counts.values())
    print(f"wrote {path}: {total} messages on {len(writer.counts)} topics in {time.monotonic() - started:.1f} s "
          f"(rosbag2 v9, mcap)")
    width = max((len(t) for t in writer.counts), default=0)
    for topic, msgtype in writer.topics.items():
        print(f"  {topic:<{width}}  {writer.counts[topic]:>7}  {msgtype}")
    if missing:
        print(f"never appeared: {', '.join(missing)}", file=sys.stderr)
    return 0
