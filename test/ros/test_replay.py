"""disac_ros.ros end to end, record and replay: record the live graph (smoke preset, 3 devices) with `disac record`,
then run the encoders, channel and aggregator on `disac play` of the recorded sensors and /clock (`disac launch
--no-bridge`): the bag opens with rosbags, holds the expected topics and types, and the replayed /targets equal the
recorded ones.
"""
from __future__ import annotations

import subprocess
import time

import numpy as np
import pytest
from procs import DISAC, start, stop

import disac_ros.inference  # noqa: F401  (torch's compiler stack before any Genesis rendering: see nodes/test_graph.py)
from disac_ros.stamps import stamp_of
from disac_ros.topics import CLOCK, ECHO, GROUND_TRUTH, IMAGE, TARGETS, absolute, device_topic

pytestmark = pytest.mark.slow

DEVICES = ["device_0", "device_1", "device_2"]
SENSORS = [CLOCK, *(absolute(device_topic(d, IMAGE)) for d in DEVICES),
           *(absolute(device_topic(d, ECHO)) for d in DEVICES)]


def _launch(smoke_run, *extra: str) -> tuple[subprocess.Popen, list[str]]:
    return start([*DISAC, "launch", "--preset", "smoke", "--num-devices", str(len(DEVICES)), "--run",
                  str(smoke_run), "--grace", "15", *extra])


def _collect(node, received: dict, until, timeout: float, proc: subprocess.Popen, lines: list[str],
             what: str) -> None:
    import rclpy

    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline or proc.poll() is not None:
            stop(proc)
            pytest.fail(f"{what}: {len(received)} /targets arrays; output:\n" + "\n".join(lines[-60:]))
        rclpy.spin_once(node, timeout_sec=0.1)


def _states(msg) -> np.ndarray:
    """[N, 5]: class id, distance, azimuth, pitch, radial velocity of every target."""
    return np.array([[t.class_id, t.distance, t.azimuth, t.pitch, t.radial_velocity] for t in msg.targets])


def test_replaying_a_recorded_bag_reproduces_the_estimates(smoke_run, rclpy_context, tmp_path):
    import rclpy
    from disac_ros.msg import TargetStateArray
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from rosbags.highlevel import AnyReader

    from disac_ros.ros.bags import bag_topics, load_typestore

    received: dict[int, object] = {}
    node = rclpy.create_node("replay_test")
    node.create_subscription(TargetStateArray, "/targets", lambda m: received.setdefault(stamp_of(m), m),
                             QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
    bag = tmp_path / "live"
    try:
        # 1. the live graph, recorded
        recorder, _ = start([*DISAC, "record", "--topics", *SENSORS, absolute(TARGETS), absolute(GROUND_TRUTH),
                              "--out", str(bag)])
        graph, lines = _launch(smoke_run, "--set", "genesis_bridge.rate_hz=2.0")
        _collect(node, received, lambda: len(received) >= 12, 300, graph, lines, "live graph")
        stop(graph)
        time.sleep(1.0)
        stop(recorder)
        topics = bag_topics(bag)
        assert topics["/targets"].msgtype == "disac_ros/msg/TargetStateArray"
        assert topics["/device_1/radar/echo"].msgtype == "disac_ros/msg/RadarEcho"
        assert topics["/device_0/camera/image_raw"].msgtype == "sensor_msgs/msg/Image"
        assert topics["/clock"].msgtype == "rosgraph_msgs/msg/Clock"
        with AnyReader([bag], default_typestore=load_typestore()) as reader:
            conns = [c for c in reader.connections if c.topic == "/targets"]
            recorded = {stamp_of(m): m for m in (reader.deserialize(d, c.msgtype)
                                            for c, _, d in reader.messages(connections=conns))}
        assert len(recorded) >= 10

        # 2. the same nodes without the bridge, fed by the bag
        received.clear()
        graph, lines = _launch(smoke_run, "--no-bridge")
        _collect(node, received, lambda: sum("loaded in" in line for line in lines) >= len(DEVICES), 120, graph,
                 lines, "models loaded")  # the encoders and the aggregator say when their models are loaded
        time.sleep(2.0)
        player, _ = start([*DISAC, "play", str(bag), "--topics", *SENSORS, "--delay", "30", "--wait-for-subscribers"])
        _collect(node, received, lambda: player.poll() is not None, 180, graph, lines, "replay")
        end = time.monotonic() + 5.0
        while time.monotonic() < end:
            rclpy.spin_once(node, timeout_sec=0.1)
        stop(graph)
    finally:
        node.destroy_node()

    same = 0
    for stamp, msg in recorded.items():
        again = received.get(stamp)
        if again is None or list(again.targets[0].contributing_devices) != list(msg.targets[0].contributing_devices):
            continue  # a frame cut at the start, or aggregated with other collaborators within the window
        np.testing.assert_allclose(_states(again), _states(msg), atol=1e-4, err_msg=f"stamp {stamp * 1e-9:.3f} s")
        same += 1
    assert same >= 5, f"only {same} of {len(recorded)} recorded estimates were reproduced ({len(received)} replayed)"
