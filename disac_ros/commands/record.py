"""``disac record``: record topics into a rosbag2 bag with MCAP storage, as ``ros2 bag record -s mcap`` would.

The recording itself is :func:`disac_ros.ros.recorder.record`:

- **Topics** are discovered from the ROS graph and polled every 0.5 s, so topics that appear after the recorder
  started are recorded from their first publisher on; messages are written serialized, as they came.
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
import sys
import time


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--topics", nargs="+", default=[], metavar="TOPIC",
                        help="topics to record (they may appear later)")
    parser.add_argument("--all", "-a", action="store_true",
                        help="record every topic that has a publisher (hidden topics excepted)")
    parser.add_argument("--exclude", nargs="+", default=[], metavar="TOPIC", help="topics --all leaves out")
    parser.add_argument("--out", "-o", required=True, metavar="BAG", help="bag directory to create (never overwritten)")
    parser.add_argument("--duration", type=float, default=None, metavar="S",
                        help="stop after S seconds (default: until Ctrl-C)")


def run(args: argparse.Namespace) -> int:
    from disac_ros.ros.bags import BagWriter
    from disac_ros.ros.recorder import record
    from disac_ros.topics import absolute

    if not args.all and not args.topics:
        raise ValueError("name the topics to record with --topics T ... or record every topic with --all")
    if args.all and args.topics:
        raise ValueError("--all and --topics exclude each other")
    if args.exclude and not args.all:
        raise ValueError("--exclude goes with --all")
    if args.duration is not None and args.duration <= 0:
        raise ValueError(f"--duration must be positive, got {args.duration}")
    topics = None if args.all else [absolute(t) for t in args.topics]
    writer = BagWriter(args.out)  # refuses an existing bag before anything starts
    started = time.monotonic()
    missing = record(writer, topics, [absolute(t) for t in args.exclude], args.duration)
    total = sum(writer.counts.values())
    print(f"wrote {writer.path}: {total} messages on {len(writer.counts)} topics in {time.monotonic() - started:.1f} s "
          f"(rosbag2 v9, mcap)")
    width = max((len(t) for t in writer.counts), default=0)
    for topic, msgtype in writer.topics.items():
        print(f"  {topic:<{width}}  {writer.counts[topic]:>7}  {msgtype}")
    if missing:
        print(f"never appeared: {', '.join(missing)}", file=sys.stderr)
    return 0
