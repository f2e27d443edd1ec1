"""``disac play``: replay a rosbag2 bag (MCAP or sqlite3) with its original timing, like ``ros2 bag play``.

Every message's recorded bytes are published again (no deserialisation), at the time offsets of their log times
divided by ``--rate``.

- **QoS**: each topic is offered with the publishers' profiles stored in the bag: best effort if every recorded
  publisher was best effort, reliable otherwise (a reliable publisher also serves best-effort subscribers);
  transient-local only if every recorded publisher was; depth as recorded, or 10 when unknown.
- **/clock**: when the bag recorded ``/clock`` (the simulation's time), it is replayed like any topic, so nodes
  with ``use_sim_time`` run on the recorded sim time that the header stamps carry. When it did not, or with
  ``--clock``, the player publishes ``/clock`` itself from the log times (before every message and at
  ``--clock-rate`` Hz in between), as ``ros2 bag play --clock`` does; the recorded ``/clock`` is then not replayed.
"""
from __future__ import annotations

import argparse
import time

CLOCK_TOPIC = "/clock"
CLOCK_TYPE = "rosgraph_msgs/msg/Clock"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bag", help="bag directory written by disac record or ros2 bag record")
    parser.add_argument("--rate", "-r", type=float, default=1.0, help="playback speed factor")
    parser.add_argument("--loop", "-l", action="store_true", help="start again at the end until Ctrl-C")
    parser.add_argument("--topics", nargs="+", default=None, metavar="TOPIC",
                        help="replay only these topics (/clock is published regardless)")
    parser.add_argument("--clock", action="store_true",
                        help="publish /clock from the log times even if the bag recorded /clock")
    parser.add_argument("--clock-rate", type=float, default=40.0, metavar="HZ",
                        help="rate of the /clock made from log times between messages")
    parser.add_argument("--delay", type=float, default=1.0, metavar="S",
                        help="wait S seconds after creating the publishers so subscribers discover them")
    parser.add_argument("--wait-for-subscribers", action="store_true",
                        help="end the --delay wait early once every replayed topic has a subscriber")


def playback_qos(offered: list):
    """The QoSProfile to offer for a topic recorded with these ``rosbags`` Qos profiles."""
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
    from rosbags.interfaces import QosDurability, QosReliability

    best_effort = bool(offered) and all(q.reliability == QosReliability.BEST_EFFORT for q in offered)
    latched = bool(offered) and all(q.durability == QosDurability.TRANSIENT_LOCAL for q in offered)
    depth = max((q.depth for q in offered), default=0) or 10
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth,
                      reliability=ReliabilityPolicy.BEST_EFFORT if best_effort else ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE)


def run(args: argparse.Namespace) -> int:
    from disac_ros.commands.record import catch_stop_signals, import_message, restore_signals
    from disac_ros.ros.bags import bag_topics, read_bag

    if args.rate <= 0:
        raise ValueError(f"--rate must be positive, got {args.rate}")
    if args.clock_rate <= 0:
        raise ValueError(f"--clock-rate must be positive, got {args.clock_rate}")
    topics = bag_topics(args.bag)
    if args.topics is not None:
        unknown = [t for t in args.topics if t not in topics]
        if unknown:
            raise ValueError(f"{', '.join(unknown)} not in {args.bag} (it has: {', '.join(sorted(topics))})")
        selected = set(args.topics)
    else:
        selected = set(topics)
    synthetic_clock = args.clock or CLOCK_TOPIC not in topics
    if synthetic_clock:
        selected.discard(CLOCK_TOPIC)
    else:
        selected.add(CLOCK_TOPIC)

    stop, previous = catch_stop_signals()
    import rclpy
    from rclpy.qos import QoSProfile
    from rclpy.signals import SignalHandlerOptions
    from rosgraph_msgs.msg import Clock

    published = 0
    started = time.monotonic()
    try:
        rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
        node = rclpy.create_node("disac_player")
        publishers = {}
        for topic in sorted(selected):
            info = topics[topic]
            try:
                cls = import_message(info.msgtype)
            except (ImportError, AttributeError) as exc:
                node.get_logger().warning(f"not replaying {topic}: type {info.msgtype} is unavailable ({exc})")
                continue
            publishers[topic] = node.create_publisher(cls, topic, playback_qos(info.offered_qos))
        clock_pub = node.create_publisher(Clock, CLOCK_TOPIC, QoSProfile(depth=10)) if synthetic_clock else None
        print(f"playing {args.bag}: {sum(topics[t].count for t in publishers)} messages on {len(publishers)} topics"
              f" at rate {args.rate:g}{', /clock from log times' if synthetic_clock else ''} (Ctrl-C to stop)",
              flush=True)

        def publish_clock(log_ns: int) -> None:
            msg = Clock()
            msg.clock.sec, msg.clock.nanosec = divmod(int(log_ns), 1_000_000_000)
            clock_pub.publish(msg)

        deadline = time.monotonic() + max(args.delay, 0.0)
        while not stop and time.monotonic() < deadline:
            if args.wait_for_subscribers and all(p.get_subscription_count() for p in publishers.values()):
                time.sleep(0.2)  # the subscribers' side of the match
                break
            time.sleep(0.05)
        clock_period = 1.0 / args.clock_rate
        while not stop:
            wall0 = log0 = None
            for msg in read_bag(args.bag, publishers):
                if wall0 is None:
                    wall0, log0 = time.monotonic(), msg.timestamp
                due = wall0 + (msg.timestamp - log0) / 1e9 / args.rate
                while not stop and (remaining := due - time.monotonic()) > 0:
                    if clock_pub is not None:
                        publish_clock(log0 + int((time.monotonic() - wall0) * args.rate * 1e9))
                        time.sleep(min(remaining, clock_period))
                    else:
                        time.sleep(min(remaining, 0.05))
                if stop:
                    break
                if clock_pub is not None:
                    publish_clock(msg.timestamp)
                publishers[msg.topic].publish(msg.data)
                published += 1
            if not args.loop or wall0 is None:
                break
        time.sleep(0.3)  # let reliable transports deliver the last messages before the publishers go
        node.destroy_node()
    finally:
        if rclpy.ok():
            rclpy.shutdown()
        restore_signals(previous)
    print(f"published {published} messages in {time.monotonic() - started:.1f} s")
    return 0
