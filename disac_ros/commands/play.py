"""``disac play``: replay a rosbag2 bag (MCAP or sqlite3) with its original timing, like ``ros2 bag play``.

The playback is :func:`disac_ros.ros.player.play`: every message's recorded bytes are published again at the time
offsets of their log times divided by ``--rate``.

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


def run(args: argparse.Namespace) -> int:
    from disac_ros.ros.player import play

    if args.rate <= 0:
        raise ValueError(f"--rate must be positive, got {args.rate}")
    if args.clock_rate <= 0:
        raise ValueError(f"--clock-rate must be positive, got {args.clock_rate}")
    started = time.monotonic()
    published = play(args.bag, args.topics, args.rate, args.loop, args.clock, args.clock_rate, args.delay,
                     args.wait_for_subscribers)
    print(f"published {published} messages in {time.monotonic() - started:.1f} s")
    return 0
