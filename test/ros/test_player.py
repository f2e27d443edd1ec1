"""disac_ros.ros.player: ``disac play`` replays a bag with its recorded timing and /clock, or a /clock made from log
times."""
from __future__ import annotations

import subprocess
import time

import numpy as np
import pytest
from bagtools import PERIOD, SIM_T0, N, build_eval_bag, disac


def spin_collect(node, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """Spin ``node`` until the player ``proc`` ends (and 0.5 s more); then kill a hung player and destroy the node."""
    import rclpy

    try:
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.005)
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            rclpy.spin_once(node, timeout_sec=0.005)
    finally:
        if proc.poll() is None:
            proc.kill()
        node.destroy_node()


def test_play_replays_with_recorded_timing_and_clock(recorded, rclpy_context):
    import rclpy
    from disac_ros.msg import SemanticCode, TargetStateArray
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from rosbags.rosbag2 import Reader
    from rosgraph_msgs.msg import Clock

    with Reader(recorded["bag"]) as reader:
        conns = [c for c in reader.connections if c.topic == "/targets"]
        log_times = np.array([t for _, t, _ in reader.messages(connections=conns)]) / 1e9
    got: dict[str, list] = {"/targets": [], "/clock": [], "/device_1/semantic/tx": []}
    node = rclpy.create_node("bag_test_player_listener")

    def keep(topic):
        return lambda msg: got[topic].append((time.monotonic(), msg))

    node.create_subscription(TargetStateArray, "/targets", keep("/targets"), QoSProfile(depth=50))
    node.create_subscription(SemanticCode, "/device_1/semantic/tx", keep("/device_1/semantic/tx"), QoSProfile(depth=50))
    # As rclpy's TimeSource subscribes to /clock: best effort.
    node.create_subscription(Clock, "/clock", keep("/clock"),
                             QoSProfile(depth=50, reliability=ReliabilityPolicy.BEST_EFFORT))
    proc = disac("play", str(recorded["bag"]), "--topics", "/clock", "/targets", "/device_1/semantic/tx", "--delay",
                 "30", "--wait-for-subscribers")
    spin_collect(node, proc)
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    assert [m.targets[0].distance for _, m in got["/targets"]] == [10.0 + i for i in range(N)]
    assert [m.target_id for _, m in got["/device_1/semantic/tx"]] == list(range(N))
    # /clock is the recorded sim time, in order.
    assert [m.clock.sec + m.clock.nanosec * 1e-9 for _, m in got["/clock"]] == \
        pytest.approx([SIM_T0 + i * PERIOD for i in range(N)])
    # Same spacing as recorded (not as fast as possible, not the sim-time stamps by chance).
    arrivals = np.array([t for t, _ in got["/targets"]])
    assert np.median(np.abs(np.diff(arrivals) - np.diff(log_times))) < 0.02
    assert arrivals[-1] - arrivals[0] == pytest.approx(log_times[-1] - log_times[0], rel=0.2)
    assert f"published {sum(len(v) for v in recorded['sent'].values())}" in out or "published" in out


def test_play_publishes_clock_from_log_times_without_recorded_clock(tmp_path, rclpy_context):
    import rclpy
    from disac_ros.msg import TargetStateArray
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from rosgraph_msgs.msg import Clock

    bag = build_eval_bag(tmp_path / "no_clock")
    clocks, arrays = [], []
    node = rclpy.create_node("bag_test_clock_listener")
    node.create_subscription(Clock, "/clock", lambda m: clocks.append(m.clock.sec * 1_000_000_000 + m.clock.nanosec),
                             QoSProfile(depth=1000, reliability=ReliabilityPolicy.BEST_EFFORT))
    node.create_subscription(TargetStateArray, "/targets", arrays.append, QoSProfile(depth=50))
    # 8.05 s of log time at rate 8: about 1 s of playback.
    proc = disac("play", str(bag), "--rate", "8", "--topics", "/targets", "--delay", "30", "--wait-for-subscribers")
    spin_collect(node, proc)
    assert proc.returncode == 0, proc.communicate()[1]
    assert len(arrays) == 3
    assert len(clocks) >= 20  # 40 Hz between messages
    assert clocks == sorted(clocks)
    assert clocks[0] >= int(1.0e9) and clocks[-1] == int(9.05e9)
