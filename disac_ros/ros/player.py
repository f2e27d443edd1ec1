"""Replaying a rosbag2 bag (MCAP or sqlite3) with its original timing and ``/clock``, as ``ros2 bag play`` does.

Every message's recorded bytes are published again (no deserialisation), at the time offsets of their log times
divided by ``rate``, each topic with the QoS its recorded publishers offered (:func:`disac_ros.ros.qos.playback_qos`).
When the bag recorded ``/clock`` (the simulation's time) it is replayed like any topic, so nodes with
``use_sim_time`` run on the recorded sim time that the header stamps carry. When it did not, or with
``clock=True``, the player publishes ``/clock`` itself from the log times (before every message and at
``clock_rate`` Hz in between), as ``ros2 bag play --clock`` does; the recorded ``/clock`` is then not replayed.
"""
from __future__ import annotations

import time
from pathlib import Path

from disac_ros.ros.bags import TopicInfo, bag_topics, read_bag
from disac_ros.ros.convert import import_message
from disac_ros.ros.qos import playback_qos
from disac_ros.ros.session import command_node
from disac_ros.topics import CLOCK


def select_topics(available: dict[str, TopicInfo], wanted: list[str] | None,
                  clock_from_log_times: bool = False) -> tuple[set[str], bool]:
    """The bag topics to replay and whether to make ``/clock`` from the log times (see the module docstring).

    ``wanted``: topic names in the bag (None: all); ``/clock`` is added when the bag has it, unless
    ``clock_from_log_times``. Raises ``ValueError`` for a topic the bag does not have.
    """
    if wanted is not None:
        unknown = [t for t in wanted if t not in available]
        if unknown:
            raise ValueError(f"{', '.join(unknown)} not in the bag (it has: {', '.join(sorted(available))})")
        selected = set(wanted)
    else:
        selected = set(available)
    synthetic_clock = clock_from_log_times or CLOCK not in available
    if synthetic_clock:
        selected.discard(CLOCK)
    else:
        selected.add(CLOCK)
    return selected, synthetic_clock


def play(bag: str | Path, topics: list[str] | None = None, rate: float = 1.0, loop: bool = False,
         clock_from_log_times: bool = False, clock_rate: float = 40.0, delay: float = 1.0,
         wait_for_subscribers: bool = False) -> int:
    """Replay ``bag`` until its end (or, with ``loop``, until SIGINT/SIGTERM); returns the messages published.

    ``delay``: seconds to wait after creating the publishers so that subscribers discover them; with
    ``wait_for_subscribers`` the wait ends as soon as every replayed topic has a subscriber.
    """
    from rclpy.qos import QoSProfile
    from rosgraph_msgs.msg import Clock

    available = bag_topics(bag)
    selected, synthetic_clock = select_topics(available, topics, clock_from_log_times)
    published = 0
    with command_node("disac_player") as (node, stop):
        publishers = {}
        for topic in sorted(selected):
            info = available[topic]
            try:
                cls = import_message(info.msgtype)
            except (ImportError, AttributeError) as exc:
                node.get_logger().warning(f"not replaying {topic}: type {info.msgtype} is unavailable ({exc})")
                continue
            publishers[topic] = node.create_publisher(cls, topic, playback_qos(info.offered_qos))
        clock_pub = node.create_publisher(Clock, CLOCK, QoSProfile(depth=10)) if synthetic_clock else None
        print(f"playing {bag}: {sum(available[t].count for t in publishers)} messages on {len(publishers)} topics"
              f" at rate {rate:g}{', /clock from log times' if synthetic_clock else ''} (Ctrl-C to stop)", flush=True)

        def publish_clock(log_ns: int) -> None:
            msg = Clock()
            msg.clock.sec, msg.clock.nanosec = divmod(int(log_ns), 1_000_000_000)
            clock_pub.publish(msg)

        deadline = time.monotonic() + max(delay, 0.0)
        while not stop and time.monotonic() < deadline:
            if wait_for_subscribers and all(p.get_subscription_count() for p in publishers.values()):
                time.sleep(0.2)  # the subscribers' side of the match
                break
            time.sleep(0.05)
        clock_period = 1.0 / clock_rate
        while not stop:
            wall0 = log0 = None
            for msg in read_bag(bag, publishers):
                if wall0 is None:
                    wall0, log0 = time.monotonic(), msg.timestamp
                due = wall0 + (msg.timestamp - log0) / 1e9 / rate
                while not stop and (remaining := due - time.monotonic()) > 0:
                    if clock_pub is not None:
                        publish_clock(log0 + int((time.monotonic() - wall0) * rate * 1e9))
                        time.sleep(min(remaining, clock_period))
                    else:
                        time.sleep(min(remaining, 0.05))
                if stop:
                    break
                if clock_pub is not None:
                    publish_clock(msg.timestamp)
                publishers[msg.topic].publish(msg.data)
                published += 1
            if not loop or wall0 is None:
                break
        time.sleep(0.3)  # let reliable transports deliver the last messages before the publishers go
    return published
